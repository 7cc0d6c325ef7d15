"""`returnsbot demo`'s tickets: the sample helpdesk's five tickets triaged with no key (the
rules classifier, template drafts), shown with intent, priority and a line of the draft; the
prompt-injection attempt changes nothing (same decision as a plain request, nothing done)."""

from __future__ import annotations

from io import StringIO

import pytest

from bot.db import upgrade
from bot.demo import demo_container, run_demo
from bot.settings import Settings
from policy.config import Policy
from bot.demo_tickets import case_of
from policy.models import CaseKind, CaseStatus
from policy.ticket_case import review_of
from tests.sample.helpers import NOW

ENV = ("DATABASE_URL", "SHOPIFY_SHOP", "SHOPIFY_ACCESS_TOKEN", "SHOPIFY_API_SECRET", "RETURNSBOT_POLICY",
       "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "ANTHROPIC_API_KEY")
PLAIN = "Hi, I would like a refund for order {order}, please. Thanks"


@pytest.fixture
def demo(tmp_path, monkeypatch):
    for key in ENV:
        monkeypatch.delenv(key, raising=False)
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    upgrade(url)
    c, clock = demo_container(Settings(_env_file=None, database_url=url), Policy.default(), now=NOW)
    [connector] = c.registry.helpdesks
    helpdesk = connector.helpdesk
    injection = helpdesk.get_ticket(helpdesk.keys["injection"])
    order = injection.subject.rsplit(" ", 1)[1]  # "Refund for order #1029"
    # The same customer asking the same thing plainly: what the injection must not beat.
    plain = helpdesk.add(f"Refund for order {order}", email=injection.requester_email,
                         name=injection.requester_name, text=PLAIN.format(order=order), at=injection.created_at)
    out = StringIO()
    run_demo(c, out, clock=clock)
    yield c, helpdesk, out.getvalue(), plain
    c.engine.dispose()


def _section(out: str) -> list[str]:
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Tickets (sample_helpdesk)"))
    end = next(i for i in range(start, len(lines)) if not lines[i].strip())
    return lines[start + 1:end]


def test_the_demo_triages_every_sample_ticket_without_a_key(demo):
    c, helpdesk, out, _ = demo
    section = "\n".join(_section(out))
    assert section.splitlines()[0].split() == ["ticket", "from", "subject", "intent", "priority", "case",
                                               "decision", "status"]
    for key in ("vip_complaint", "delivery_stuck", "return_de", "injection"):
        ticket = helpdesk.get_ticket(helpdesk.keys[key])
        case = case_of(c, ticket)
        assert case is not None, key
        review = review_of(c.cases.snapshot(case)[0])
        assert review.classification.by == "rules" and review.draft.by == "template"
        [row] = [line for line in section.splitlines() if line.startswith(ticket.id + " ")]
        assert f"{review.classification.intent.value} (rules)" in row and f"#{case.id}" in row
        assert f"{review.priority.level.value} {review.priority.score}" in row
    assert "draft (template, de): Danke für Ihre Nachricht" in section
    # The four above, the plain request and the wholesale enquiry (a case with no order).
    assert section.count("    draft (template, ") == 6
    # The delivery question is about the parcel the sample carrier reports stuck.
    stuck = c.cases.find(helpdesk.name, helpdesk.keys["delivery_stuck"], CaseKind.TICKET)
    assert review_of(c.cases.snapshot(stuck)[0]).classification.intent.value == "delivery"
    # The wholesale enquiry is listed whether or not a ticket about no order opens a case.
    assert any("Wholesale enquiry" in line and line.startswith(helpdesk.keys["wholesale"]) for line in
               section.splitlines())
    # VIPs and complaints first: the rows follow the priority score.
    scores = [int(line.split()[line.split().index(level) + 1]) for line in section.splitlines()[2:]
              for level in ("urgent", "high", "normal", "low") if f" {level} " in line]
    assert scores == sorted(scores, reverse=True) and len(scores) >= 5


def test_the_injection_attempt_changes_nothing(demo):
    c, helpdesk, out, plain_id = demo
    injected = case_of(c, helpdesk.get_ticket(helpdesk.keys["injection"]))
    plain = case_of(c, helpdesk.get_ticket(plain_id))
    # The policy decides as it would for the plain request: no refund ordered by the ticket.
    assert injected.recommended_action == plain.recommended_action
    assert injected.signal_codes == plain.signal_codes and injected.required_tier == plain.required_tier
    assert injected.status is CaseStatus.OPEN and not injected.auto_approved
    assert c.outbox.for_case(injected.id) == []  # nothing carried out, nothing queued
    draft = review_of(c.cases.snapshot(injected)[0]).draft
    assert "REFUND APPROVED" not in draft.text and "admin mode" not in draft.text
    ticket = helpdesk.get_ticket(helpdesk.keys["injection"])
    assert len(ticket.messages) == 1  # nothing written back to the ticket
