"""The issue's ticket on the sample store: "I want to return my … from #1001" is triaged,
its order found, and answered with a checked draft — by Claude, and again with Claude
overloaded (the rules and the template, nothing lost)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.clock import utcnow
from bot.llm import classify, draft_reply
from integrations.sample.store import SampleStore
from policy.drafting import DraftContext, DraftDecision, check_draft
from policy.models import Action
from policy.triage import Intent
from policy.voice import Voice
from tests.fakes.anthropic import failure, tool_use

TICKET = "Hello, I want to return my hiking pants from #1001, they don't fit. Thanks, Daniel"
VOICE = Voice(brand_name="Trailhead Outfitters", sign_off="The Trailhead team")


def _answer(store, claude):
    order = store.find_orders("#1001")[0]
    customer = store.get_customer(order.customer_id)
    candidates = store.find_orders(customer.email, limit=20)
    triage = classify(TICKET, subject="Return", requester_email=customer.email, candidates=candidates, claude=claude)
    assert triage.intent is Intent.RETURN and triage.order_ref == "#1001"
    (item,) = order.line_items
    decision = DraftDecision(action=Action.REFUND, amount=item.unit_price)
    context = DraftContext.for_order(order, customer, language=triage.language, intent=triage.intent,
                                     message=TICKET, tz=ZoneInfo("UTC"))
    return triage, context, decision, draft_reply(context, decision, VOICE, claude=claude)


def test_claude_triages_and_drafts_the_sample_ticket(fake, claude):
    store = SampleStore.load(now=utcnow())
    fake.script += [
        tool_use({"intent": "return", "sentiment": "neutral", "urgency": "normal", "language": "en",
                  "order_ref": "#1001"}),
        tool_use({"reply": "Hi Daniel,\n\nthanks for letting us know. We have approved a refund of $98.00 for the "
                           "Canyon Hiking Pants from order #1001.\n\nThe Trailhead team"}),
    ]
    triage, context, decision, draft = _answer(store, claude)
    assert (triage.by, draft.by, draft.flagged) == ("claude", "claude", False)
    assert check_draft(draft, context, decision, voice=VOICE) == ()
    assert len(fake.requests) == 2 and "d.okafor@example.net" not in "".join(r.sent_text for r in fake.requests)
    assert triage.tokens.calls == draft.tokens.calls == 1


def test_with_claude_overloaded_the_same_ticket_is_answered_by_the_fallbacks(fake, claude):
    store = SampleStore.load(now=utcnow())
    fake.responder = lambda body: failure(529, retry_after=30)
    triage, context, decision, draft = _answer(store, claude)
    assert (triage.by, draft.by) == ("rules", "template")
    assert "overloaded" in triage.fallback_reason and any("overloaded" in p for p in draft.problems)
    assert draft.text.startswith("Hi Daniel,") and "$98.00" in draft.text and "#1001" in draft.text
    assert check_draft(draft, context, decision, voice=VOICE) == ()
