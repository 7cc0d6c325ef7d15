"""Issue 12's done-when through the running app, over the sample helpdesk: "I want to return
my sweater from #1001" → one ticket card (intent return, who classified it, the draft) →
Approve & send clicked twice → exactly one reply and one internal note at the helpdesk,
every call it received counted (replays included). A Claude draft that invents an amount
is replaced by the template (flagged on the card); with no key the fallbacks do it all."""

from __future__ import annotations

import pytest

from bot.clock import utcnow
from bot.llm.client import Claude
from integrations.helpdesk import ticket_event
from integrations.sample.store import SampleStore
from integrations.sample.tickets import SampleHelpdesk, connector_for
from policy.config import TicketSettings
from policy.models import AuthorKind, CaseKind, CaseStatus, TicketStatus
from policy.ticket_case import review_of
from tests.fakes.anthropic import FakeAnthropic, tool_use
from tests.loop.harness import T1, action_ids, card_text, loop, wait_for

pytestmark = pytest.mark.usefixtures("database_url")

TEXT = "Hi, I want to return my sweater from #1001, it doesn't fit. Thanks"


class CountingHelpdesk(SampleHelpdesk):
    """The sample helpdesk, counting every write it is asked for (repeats included)."""

    def __init__(self, store) -> None:
        super().__init__(store)
        self.calls: list[tuple[str, str]] = []

    def post_reply(self, ticket_id, *, text, agent, idempotency_key):
        self.calls.append(("post_reply", idempotency_key))
        return super().post_reply(ticket_id, text=text, agent=agent, idempotency_key=idempotency_key)

    def add_internal_note(self, ticket_id, *, text, idempotency_key):
        self.calls.append(("add_internal_note", idempotency_key))
        return super().add_internal_note(ticket_id, text=text, idempotency_key=idempotency_key)

    def set_tags_and_status(self, ticket_id, *, tags, status, idempotency_key):
        self.calls.append(("set_tags_and_status", idempotency_key))
        return super().set_tags_and_status(ticket_id, tags=tags, status=status, idempotency_key=idempotency_key)


CONTEXT_NOTE = ":ticket_context_note"


def _decided_writes(helpdesk) -> list[tuple[str, str]]:
    """The writes a decision made: every call but the order-context note queued when the case opened."""
    return [(name, key) for name, key in helpdesk.calls if not key.endswith(CONTEXT_NOTE)]


def _setup():
    store = SampleStore.load(now=utcnow())
    helpdesk = CountingHelpdesk(store)
    return store, helpdesk, connector_for(store, helpdesk=helpdesk)


def _ticket(lp, helpdesk) -> str:
    order = lp.store.find_orders("#1001")[0]
    customer = lp.store.get_customer(order.customer_id)
    return helpdesk.add("Return", email=customer.email, name=customer.display_name, text=TEXT)


def _card(lp, source, ticket_id):
    return wait_for(lambda: (c := lp.c.cases.find(source, ticket_id, CaseKind.TICKET))
                    and c.slack_ts and c.card_version == c.version and c, what="the ticket's card")


def test_a_return_ticket_is_approved_and_sent_exactly_once(database_url):
    store, helpdesk, connector = _setup()
    with loop(database_url, store=store, connectors=(connector,)) as lp:
        lp.slack.users[T1] = {"email": "support@ridgeline.example"}  # a helpdesk agent of the sample helpdesk
        ticket_id = _ticket(lp, helpdesk)
        event = ticket_event(helpdesk.get_ticket(ticket_id))
        lp.c.ingest.ingest(event)
        lp.c.ingest.ingest(event)  # the webhook and the poller both report it: one case
        case = _card(lp, helpdesk.name, ticket_id)
        assert lp.c.cases.count() == 1 and case.order_name == "#1001"
        card = card_text(lp.last_card(case))
        assert "Ticket: Return" in card and "*return*" in card and "classified by the rules classifier" in card
        assert "Draft reply" in card and "no ANTHROPIC_API_KEY" in card
        assert action_ids(lp.last_card(case)) == ["ticket-send", "ticket-edit", "ticket-reclassify", "ticket-escalate"]

        assert lp.click(case, "ticket-send", T1).status_code == 200
        assert lp.click(case, "ticket-send", T1).status_code == 200  # a double click
        done = wait_for(lambda: (c := lp.c.cases.get(case.id)).status is CaseStatus.DONE and c, what="the send")
        lp.settle(done.id)

        ticket = helpdesk.get_ticket(ticket_id)
        replies = [m for m in ticket.messages if m.author is AuthorKind.AGENT]
        notes = [m for m in ticket.messages if m.author is AuthorKind.INTERNAL]
        # The order context note (queued when the case opened) and the approval's note.
        assert len(replies) == 1 and len(notes) == 2
        context = next(n for n in notes if n.text.startswith("returnsbot — order context"))
        approved = next(n for n in notes if n is not context)
        assert "Order #1001" in context.text
        ctx, _ = lp.c.cases.snapshot(done)
        assert replies[0].text == review_of(ctx).draft.text and replies[0].author_name == "sample-agent-1"
        assert f"Approved in Slack by {T1}" in approved.text and "support@ridgeline.example" in approved.text
        assert ticket.status is TicketStatus.SOLVED and "returnsbot" in ticket.tags and "intent-return" in ticket.tags
        # Every call the helpdesk received: one of each, no replay reached it (the context
        # note runs on its own lane, so it may come before or after the reply).
        sent = _decided_writes(helpdesk)
        assert [name for name, _ in sent] == ["post_reply", "add_internal_note", "set_tags_and_status"]
        assert sent[0][1] == f"returnsbot:{helpdesk.name}:case-{case.id}:ticket_post_reply"
        assert [key for _, key in helpdesk.calls if key.endswith(CONTEXT_NOTE)] == [
            f"returnsbot:{helpdesk.name}:case-{case.id}:ticket_context_note"]
        assert "as support@ridgeline.example, the approver's agent" in card_text(lp.last_card(done))

        # Our own writes come back as a changed ticket: nothing new, no second case.
        lp.c.ingest.ingest(ticket_event(helpdesk.get_ticket(ticket_id)))
        assert lp.c.cases.count() == 1 and lp.c.cases.get(case.id).status is CaseStatus.DONE


def test_a_claude_draft_that_invents_an_amount_is_replaced_by_the_template(database_url):
    store, helpdesk, connector = _setup()
    fake = FakeAnthropic()
    with fake.serve(), loop(database_url, store=store, connectors=(connector,)) as lp:
        claude = Claude(api_key=fake.api_key, classify_model="claude-haiku-5-5", draft_model="claude-sonnet-5-5",
                        base_url=fake.base_url, timeout=5, retry_seconds=0.1, sleep=lambda s: None)
        lp.c.ingest.tickets.claude = claude
        invented = tool_use({"reply": "Hi,\n\nwe have refunded $999.00 for your order #1001.\n\nThe team"})
        fake.script += [
            tool_use({"intent": "return", "sentiment": "neutral", "urgency": "normal", "language": "en",
                      "order_ref": "#1001"}),
            invented, invented,  # the first draft, and the one regenerated with the failure named
        ]
        ticket_id = _ticket(lp, helpdesk)
        lp.c.ingest.ingest(ticket_event(helpdesk.get_ticket(ticket_id)))
        case = _card(lp, helpdesk.name, ticket_id)
        ctx, _ = lp.c.cases.snapshot(case)
        review = review_of(ctx)
        assert review.classification.by == "claude" and review.draft.by == "template" and review.draft.flagged
        assert "$999.00" not in review.draft.text and len(fake.requests) == 3
        card = card_text(lp.last_card(case))
        assert "classified by Claude" in card and "Claude's draft was replaced" in card


def test_edit_and_send_sends_the_edited_reply_once_as_the_default_agent(database_url):
    from blocks.ids import ActionId, BlockId, CallbackId

    store, helpdesk, connector = _setup()
    with loop(database_url, store=store, connectors=(connector,)) as lp:
        # T1's Slack email is no helpdesk agent: the configured default agent sends it.
        lp.c.decide.tickets.default_agent_email = "support@ridgeline.example"
        # [tickets]: this team leaves an answered ticket pending, tagged "slack-approved".
        lp.c.decide.tickets.settings = TicketSettings(status_after_send="pending", tags=("slack-approved",))
        ticket_id = _ticket(lp, helpdesk)
        lp.c.ingest.ingest(ticket_event(helpdesk.get_ticket(ticket_id)))
        case = _card(lp, helpdesk.name, ticket_id)
        assert lp.click(case, ActionId.TICKET_EDIT, T1).status_code == 200
        [opened] = lp.slack.calls_to("views.open")
        view = opened.params["view"]
        assert view["callback_id"] == CallbackId.TICKET_EDIT_MODAL
        ctx, _ = lp.c.cases.snapshot(case)
        assert view["blocks"][1]["element"]["initial_value"] == review_of(ctx).draft.text
        empty = {BlockId.TICKET_REPLY: {ActionId.TICKET_REPLY: {"type": "plain_text_input", "value": "  "}}}
        refused = lp.submit(CallbackId.TICKET_EDIT_MODAL, case, empty, T1)
        assert b"response_action" in refused.content and _decided_writes(helpdesk) == []
        edited = "Hi,\n\nthanks for writing. We'll get back to you about order #1001 today.\n\nThe team"
        state = {BlockId.TICKET_REPLY: {ActionId.TICKET_REPLY: {"type": "plain_text_input", "value": edited}}}
        assert lp.submit(CallbackId.TICKET_EDIT_MODAL, case, state, T1).status_code == 200
        done = wait_for(lambda: (c := lp.c.cases.get(case.id)).status is CaseStatus.DONE and c, what="the send")
        lp.settle(done.id)
        assert lp.click(done, ActionId.TICKET_SEND, T1).status_code == 200  # pressed after: nothing more
        lp.settle(done.id)
        replies = [m for m in helpdesk.get_ticket(ticket_id).messages if m.author is AuthorKind.AGENT]
        assert [r.text for r in replies] == [edited.strip()]
        assert [name for name, _ in _decided_writes(helpdesk)] == ["post_reply", "add_internal_note",
                                                                   "set_tags_and_status"]
        note = next(m for m in helpdesk.get_ticket(ticket_id).messages
                    if m.author is AuthorKind.INTERNAL and m.text.startswith("Approved in Slack"))
        assert "the default agent support@ridgeline.example" in note.text and "edited" in note.text
        ticket = helpdesk.get_ticket(ticket_id)
        assert ticket.status is TicketStatus.PENDING and {"returnsbot", "slack-approved"} <= set(ticket.tags)


def test_without_an_agent_to_send_as_nothing_is_queued(database_url):
    store, helpdesk, connector = _setup()
    with loop(database_url, store=store, connectors=(connector,)) as lp:
        ticket_id = _ticket(lp, helpdesk)
        lp.c.ingest.ingest(ticket_event(helpdesk.get_ticket(ticket_id)))
        case = _card(lp, helpdesk.name, ticket_id)
        assert lp.click(case, "ticket-send", T1).status_code == 200
        wait_for(lambda: any("No helpdesk agent to send as" in t for t in lp.ephemerals_to(T1)), what="the refusal")
        assert lp.c.cases.get(case.id).status is CaseStatus.OPEN and lp.c.outbox.for_case(case.id) == []
        assert _decided_writes(helpdesk) == []


def test_reclassify_runs_the_rules_again_and_refreshes_the_card(database_url):
    store, helpdesk, connector = _setup()
    with loop(database_url, store=store, connectors=(connector,)) as lp:
        ticket_id = _ticket(lp, helpdesk)
        lp.c.ingest.ingest(ticket_event(helpdesk.get_ticket(ticket_id)))
        case = _card(lp, helpdesk.name, ticket_id)
        assert lp.click(case, "ticket-reclassify", T1).status_code == 200
        again = wait_for(lambda: (c := lp.c.cases.get(case.id)).version > case.version
                         and c.card_version == c.version and c, what="the reclassified card")
        ctx, _ = lp.c.cases.snapshot(again)
        assert review_of(ctx).classification.fallback_reason == "reclassified from the card"
        assert "reclassified from the card" in card_text(lp.last_card(again)) and lp.c.cases.count() == 1


def test_claude_overloaded_falls_back_without_losing_the_ticket(database_url):
    from tests.fakes.anthropic import failure

    store, helpdesk, connector = _setup()
    fake = FakeAnthropic()
    with fake.serve(), loop(database_url, store=store, connectors=(connector,)) as lp:
        lp.c.ingest.tickets.claude = Claude(api_key=fake.api_key, classify_model="claude-haiku-5-5",
                                            draft_model="claude-sonnet-5-5", base_url=fake.base_url, timeout=5,
                                            retry_seconds=0.2, sleep=lambda s: None)
        fake.responder = lambda body: failure(529, retry_after=30)
        ticket_id = _ticket(lp, helpdesk)
        lp.c.ingest.ingest(ticket_event(helpdesk.get_ticket(ticket_id)))
        case = _card(lp, helpdesk.name, ticket_id)
        review = review_of(lp.c.cases.snapshot(case)[0])
        assert (review.classification.by, review.draft.by) == ("rules", "template")
        assert "overloaded" in review.classification.fallback_reason and fake.requests
        assert "#1001" in review.draft.text and "classified by the rules classifier" in card_text(lp.last_card(case))


def test_someone_outside_the_tier_cannot_send(database_url):
    store, helpdesk, connector = _setup()
    with loop(database_url, store=store, connectors=(connector,)) as lp:
        lp.c.decide.tickets.default_agent_email = "support@ridgeline.example"
        # [tickets]: this team leaves an answered ticket pending, tagged "slack-approved".
        lp.c.decide.tickets.settings = TicketSettings(status_after_send="pending", tags=("slack-approved",))
        ticket_id = _ticket(lp, helpdesk)
        lp.c.ingest.ingest(ticket_event(helpdesk.get_ticket(ticket_id)))
        case = _card(lp, helpdesk.name, ticket_id)
        for action in ("ticket-send", "ticket-reclassify"):
            assert lp.click(case, action, "U0NOBODY01").status_code == 200
        wait_for(lambda: len([t for t in lp.ephemerals_to("U0NOBODY01") if "You can't" in t]) == 2,
                 what="the refusals")
        assert lp.c.cases.get(case.id).version == case.version and _decided_writes(helpdesk) == []
