"""Ticket priority from the policy file: VIPs and complaints first, SLA per level."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from policy.config import PolicyError, parse_policy
from policy.priority import IntentPoints, Level, PrioritySettings, SentimentPoints, UrgencyPoints, ticket_priority
from policy.triage import Intent, Sentiment, Urgency

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=timezone.utc)


def prio(*, urgency=Urgency.NORMAL, sentiment=Sentiment.NEUTRAL, intent=Intent.OTHER, vip=False, hours=0,
         settings=PrioritySettings()):
    return ticket_priority(urgency=urgency, sentiment=sentiment, intent=intent, vip=vip,
                           created_at=NOW - timedelta(hours=hours), now=NOW, settings=settings)


def test_one_weight_per_enum_value():
    assert set(IntentPoints.model_fields) == {i.value for i in Intent}
    assert set(SentimentPoints.model_fields) == {s.value for s in Sentiment}
    assert set(UrgencyPoints.model_fields) == {u.value for u in Urgency}


def test_a_vip_complaint_goes_before_a_product_question():
    vip_complaint = prio(intent=Intent.COMPLAINT, sentiment=Sentiment.NEGATIVE, vip=True)
    question = prio(intent=Intent.PRODUCT_QUESTION, urgency=Urgency.LOW)
    assert vip_complaint.score == 10 + 25 + 15 + 25 and vip_complaint.level is Level.URGENT
    assert vip_complaint.sla_hours == 1 and vip_complaint.reply_due_at == NOW + timedelta(hours=1)
    assert question.score == 0 and question.level is Level.LOW and question.sla_hours == 24
    assert vip_complaint.reasons == ("urgency normal +10", "VIP customer +25", "sentiment negative +15",
                                     "intent complaint +25")


def test_waiting_raises_priority_up_to_its_cap():
    assert prio(hours=3).score == 10 + 6
    assert prio(hours=100).score == 10 + 30
    assert prio(hours=100).level is Level.HIGH


def test_the_policy_file_sets_weights_levels_and_sla():
    p = parse_policy("[priority]\nvip = 50\n[priority.intent]\nreturn = 40\n[priority.sla_hours]\nurgent = 2\n")
    assert p.priority.vip == 50 and p.priority.intent.of(Intent.RETURN) == 40
    result = prio(intent=Intent.RETURN, vip=True, settings=p.priority)
    assert result.level is Level.URGENT and result.sla_hours == 2


@pytest.mark.parametrize("text, expected", [
    ("[priority]\nvipp = 3\n", "policy.toml:2: unknown key 'vipp' in [priority] (did you mean 'vip'?)"),
    ("[priority.intent]\nretrun = 3\n",
     "policy.toml:2: unknown key 'retrun' in [priority.intent] (did you mean 'return'?)"),
    ("[priority.urgency]\nhigh = 300\n", "policy.toml:2: priority.urgency.high: must be at most 100, got 300"),
    ("[priority.levels]\nurgent = 60\nhigh = 30\nnormal = 40\n",
     "policy.toml:4: priority.levels.normal: must be below high (30), got 40"),
    ("[priority.sla_hours]\nlow = 0\n", "policy.toml:2: priority.sla_hours.low: must be at least 1, got 0"),
    ("[voice]\nexamples = ['a', 'b', 'c']\n",
     "policy.toml:2: voice.examples: at most 2 example replies (they are sent with every draft), got a list"),
    ("[voice]\nbrand = 'Acme'\n", "policy.toml:2: unknown key 'brand' in [voice] (did you mean 'brand_name'?)"),
    ("[voice]\nmin_chars = 300\nmax_chars = 200\n", "policy.toml:3: voice.max_chars: must be greater than min_chars (300), got 200"),
])
def test_mistakes_name_key_and_line(text, expected):
    with pytest.raises(PolicyError) as caught:
        parse_policy(text)
    assert caught.value.problems == (expected,)
