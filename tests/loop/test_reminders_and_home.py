"""SLA reminders and the App Home, against the running app."""

from __future__ import annotations

import json
from datetime import timedelta

from blocks.ids import ActionId
from bot.clock import utcnow
from bot.services.reminders import ReminderReport, Reminders
from policy.models import CaseStatus
from tests.fakes import slack_requests as sr
from tests.loop.harness import ESCALATION, SIGNING_SECRET, T1, T2A, T3, loop, wait_for


def _reminders(lp, hours_later: float) -> Reminders:
    later = lambda: utcnow() + timedelta(hours=hours_later)  # noqa: E731 - a moved clock
    return Reminders(cases=lp.c.cases, decide=lp.c.decide, gateway=lp.c.gateway, policy=lp.c.policy, clock=later)


def test_open_case_gets_one_reminder_then_is_escalated(database_url):
    with loop(database_url) as lp:
        case = lp.open_case("#1034")  # tier 2; default SLA: remind after 4 h, escalate after 24 h
        assert _reminders(lp, 1).run_once().reminded == 0
        five_h = _reminders(lp, 5)
        assert five_h.run_once().reminded == 1
        assert five_h.run_once().reminded == 0  # once
        [reminder] = [c for c in lp.slack.calls_to("chat.postMessage") if c.params.get("thread_ts") == case.slack_ts]
        assert "Waiting for a decision for 5 h" in reminder.params["text"]
        assert "<!subteam^S0TIER2>" in reminder.params["text"]
        report = _reminders(lp, 25).run_once()
        assert report.escalated == 1
        esc = wait_for(lambda: (k := lp.c.cases.get(case.id)).escalation_ts and k.card_version == k.version and k,
                       what="the escalation card")
        assert esc.status is CaseStatus.ESCALATED and esc.sla_escalated_at is not None
        assert lp.slack.message(ESCALATION, esc.escalation_ts) is not None
        assert _reminders(lp, 26).run_once().escalated == 0
        # The SLA timer is not a person: tier 2 can no longer decide, tier 3 can.
        lp.click(esc, ActionId.CASE_APPROVE, T3, channel=ESCALATION)
        wait_for(lambda: lp.c.cases.get(case.id).status is CaseStatus.DONE, what="the decision")


def test_decided_cases_get_no_reminder(database_url):
    with loop(database_url) as lp:
        case = lp.open_case("#1045")  # tier 1
        lp.click(case, ActionId.CASE_APPROVE, T1)
        wait_for(lambda: lp.c.cases.get(case.id).status is CaseStatus.DONE, what="the decision")
        assert _reminders(lp, 30).run_once() == ReminderReport(reminded=0, escalated=0)


def _open_home(lp, user: str, event_id: str) -> dict:
    before = len(lp.slack.calls_to("views.publish"))
    body, ctype = sr.event_callback({"type": "app_home_opened", "user": user, "channel": "D0HOME0001",
                                     "tab": "home", "event_ts": "1700000000.000100"}, event_id)
    assert sr.post(lp.url, body, ctype, SIGNING_SECRET).status_code == 200
    call = wait_for(lambda: lp.slack.calls_to("views.publish")[before:], what="views.publish")[0]
    assert call.params["user_id"] == user
    return call.params["view"]


def test_app_home_shows_the_viewers_queue_and_recent_decisions(database_url):
    with loop(database_url) as lp:
        big = lp.open_case("#1034")  # tier 2
        small = lp.open_case("#1045")  # tier 1
        view = _open_home(lp, T2A, "EvHome1")
        text = json.dumps(view)
        assert view["type"] == "home"
        assert "#1034" in text and "#1045" in text  # tier 2 may decide tier 1 cases too
        assert text.index("#1034") < text.index("#1045")  # oldest first
        tier1 = json.dumps(_open_home(lp, T1, "EvHome2"))
        assert "#1045" in tier1 and "#1034" not in tier1
        lp.click(big, ActionId.CASE_APPROVE, T2A)
        wait_for(lambda: lp.c.cases.get(big.id).status is CaseStatus.DONE, what="the decision")
        after = _open_home(lp, T2A, "EvHome3")
        queue, recent = json.dumps(after).split("Your recent decisions")
        assert "#1034" not in queue and "#1034" in recent and "refund" in recent
        assert "#1045" in queue and small.status is CaseStatus.OPEN
