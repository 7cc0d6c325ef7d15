"""Through the running app, over the sample helpdesk: a ticket about no order we can find
(the sample's wholesale enquiry) is a ticket case with a card that says so, sent once; and
a sent ticket the customer answers reopens — a fresh draft, `case.ticket_reopened`, a
second reply under the next round's keys, still one per double click — while our own
writes and a stale copy of the ticket coming back reopen nothing."""

from __future__ import annotations

import pytest

from bot.jobs.kinds import Kind
from bot.services.ticket_reopen import REOPENED
from integrations.helpdesk import ticket_event
from policy.models import AuthorKind, CaseKind, CaseStatus, Money
from policy.ticket_case import review_of
from policy.triage import Intent
from tests.loop.harness import T1, action_ids, card_text, loop, wait_for
from tests.tickets.test_ticket_loop import CONTEXT_NOTE, _card, _decided_writes, _setup, _ticket

pytestmark = pytest.mark.usefixtures("database_url")

AGENT = "support@ridgeline.example"


def _sent(lp, case_id, version_after: int):
    return wait_for(lambda: (c := lp.c.cases.get(case_id)).status is CaseStatus.DONE and c.version > version_after
                    and c, what="the send")


def test_the_wholesale_enquiry_is_a_ticket_case_with_no_order_sent_once(database_url):
    store, helpdesk, connector = _setup()
    with loop(database_url, store=store, connectors=(connector,)) as lp:
        lp.slack.users[T1] = {"email": AGENT}
        ticket_id = helpdesk.keys["wholesale"]
        event = ticket_event(helpdesk.get_ticket(ticket_id))
        lp.c.ingest.ingest(event)
        lp.c.ingest.ingest(event)  # the webhook and the poller: one case
        case = _card(lp, helpdesk.name, ticket_id)
        assert lp.c.cases.count() == 1 and case.kind is CaseKind.TICKET
        assert case.order_id is None and case.order_name is None and case.amount == Money.zero("USD")
        ctx, assessment = lp.c.cases.snapshot(case)
        assert ctx.order is None and ctx.return_request is None and ctx.tickets[0].id == ticket_id
        review = review_of(ctx)
        assert review.classification.intent is Intent.WHOLESALE and review.order_found_by is None
        assert review.no_order == "no order number in the ticket, and no orders for buyer@alpine-outfitters.example"
        assert review.draft is not None and "#" not in review.draft.text  # no order number to invent
        assert assessment.recommendation.tier.index == 0  # nothing asked for: the first tier answers
        card = card_text(lp.last_card(case))
        assert "Support ticket · no order" in card and "*wholesale*" in card
        assert "No order found" in card and "no orders for buyer@alpine-outfitters.example" in card
        assert "Order context note" not in card  # no order, no context note
        assert action_ids(lp.last_card(case)) == ["ticket-send", "ticket-edit", "ticket-reclassify", "ticket-escalate"]
        assert lp.c.jobs.for_case(case.id, kind=Kind.TICKET_NOTE) == []

        assert lp.click(case, "ticket-send", T1).status_code == 200
        assert lp.click(case, "ticket-send", T1).status_code == 200  # a double click
        done = _sent(lp, case.id, case.version)
        lp.settle(done.id)
        replies = [m for m in helpdesk.get_ticket(ticket_id).messages if m.author is AuthorKind.AGENT]
        assert [r.text for r in replies] == [review.draft.text]
        assert [name for name, _ in helpdesk.calls] == ["post_reply", "add_internal_note", "set_tags_and_status"]
        assert "intent-wholesale" in helpdesk.get_ticket(ticket_id).tags
        assert "Sent as support@ridgeline.example" in card_text(lp.last_card(done))


def test_reclassifying_a_ticket_with_no_order_keeps_it_without_one(database_url):
    store, helpdesk, connector = _setup()
    with loop(database_url, store=store, connectors=(connector,)) as lp:
        ticket_id = helpdesk.keys["wholesale"]
        lp.c.ingest.ingest(ticket_event(helpdesk.get_ticket(ticket_id)))
        case = _card(lp, helpdesk.name, ticket_id)
        assert lp.click(case, "ticket-reclassify", T1).status_code == 200
        again = wait_for(lambda: (c := lp.c.cases.get(case.id)).version > case.version
                         and c.card_version == c.version and c, what="the reclassified card")
        ctx, _ = lp.c.cases.snapshot(again)
        assert ctx.order is None and review_of(ctx).no_order and "No order found" in card_text(lp.last_card(again))


def test_a_sent_ticket_the_customer_answers_reopens_for_a_second_reply(database_url):
    store, helpdesk, connector = _setup()
    with loop(database_url, store=store, connectors=(connector,)) as lp:
        lp.slack.users[T1] = {"email": AGENT}
        ticket_id = _ticket(lp, helpdesk)
        first_event = ticket_event(helpdesk.get_ticket(ticket_id))
        lp.c.ingest.ingest(first_event)
        case = _card(lp, helpdesk.name, ticket_id)
        assert lp.click(case, "ticket-send", T1).status_code == 200
        done = _sent(lp, case.id, case.version)
        lp.settle(done.id)

        # Our reply, notes and tags coming back, and a stale copy of the ticket from before
        # the reply (a late webhook): nothing reopens.
        assert lp.c.ingest.ingest(ticket_event(helpdesk.get_ticket(ticket_id))).outcome.value == "ignored"
        lp.c.ingest.ingest(first_event)
        assert lp.c.cases.get(case.id).status is CaseStatus.DONE
        assert not any(r["event"] == REOPENED for r in lp.c.cases.audit(case.id))

        helpdesk.customer_writes(ticket_id, "Thanks! One more thing: the sweater's belt is missing too.")
        event = ticket_event(helpdesk.get_ticket(ticket_id))
        lp.c.ingest.ingest(event)
        lp.c.ingest.ingest(event)  # the webhook and the poller: one reopening
        reopened = wait_for(lambda: (c := lp.c.cases.get(case.id)).status is CaseStatus.OPEN
                            and c.card_version == c.version and c, what="the reopened card")
        assert [r["event"] for r in lp.c.cases.audit(case.id)].count(REOPENED) == 1
        assert reopened.decided_at is None and reopened.decided_by is None
        ctx, _ = lp.c.cases.snapshot(reopened)
        assert [m.text for m in ctx.tickets[0].customer_messages][-1].startswith("Thanks! One more thing")
        card = card_text(lp.last_card(reopened))
        assert "Reopened: the customer wrote again" in card and "belt is missing" in card
        assert "ticket-send" in action_ids(lp.last_card(reopened))

        assert lp.click(reopened, "ticket-send", T1).status_code == 200
        assert lp.click(reopened, "ticket-send", T1).status_code == 200  # a double click in round 1
        again = _sent(lp, case.id, reopened.version)
        lp.settle(again.id)
        replies = [m for m in helpdesk.get_ticket(ticket_id).messages if m.author is AuthorKind.AGENT]
        assert len(replies) == 2
        # Every write the helpdesk was asked for: one of each per round, the second under its round's keys.
        keys = [key for _, key in _decided_writes(helpdesk)]
        base = f"returnsbot:{helpdesk.name}:case-{case.id}"
        assert keys == [f"{base}:ticket_post_reply", f"{base}:ticket_add_note", f"{base}:ticket_set_tags_status",
                        f"{base}:round-1:ticket_post_reply", f"{base}:round-1:ticket_add_note",
                        f"{base}:round-1:ticket_set_tags_status"]
        # One context note for the case, from its opening, not per round.
        assert [key for _, key in helpdesk.calls if key.endswith(CONTEXT_NOTE)] == [f"{base}:ticket_context_note"]
        assert "Reopened" not in card_text(lp.last_card(again))


def test_a_ticket_with_no_order_escalates_and_is_sent_edited_from_the_escalation_card(database_url):
    from blocks.ids import ActionId, BlockId, CallbackId
    from tests.loop.harness import ESCALATION, T2A

    store, helpdesk, connector = _setup()
    with loop(database_url, store=store, connectors=(connector,)) as lp:
        lp.c.decide.tickets.default_agent_email = AGENT
        ticket_id = helpdesk.keys["wholesale"]
        lp.c.ingest.ingest(ticket_event(helpdesk.get_ticket(ticket_id)))
        case = _card(lp, helpdesk.name, ticket_id)
        assert lp.click(case, ActionId.TICKET_ESCALATE, T1).status_code == 200
        state = {BlockId.ESCALATE_NOTE: {ActionId.ESCALATE_NOTE: {"type": "plain_text_input",
                                                                   "value": "Wholesale: sales should answer"}}}
        assert lp.submit(CallbackId.ESCALATE_MODAL, case, state, T1).status_code == 200
        esc = wait_for(lambda: (k := lp.c.cases.get(case.id)).escalation_ts and k.card_version == k.version and k,
                       what="the escalation card")
        assert esc.status is CaseStatus.ESCALATED
        esc_card = lp.slack.message(ESCALATION, esc.escalation_ts)
        assert "No order found" in card_text(esc_card) and ActionId.TICKET_EDIT in action_ids(esc_card)
        # Tier 2 (the next tier up) edits the reply and sends it.
        assert lp.click(esc, ActionId.TICKET_EDIT, T2A, channel=ESCALATION).status_code == 200
        edited = "Hi Morgan,\n\nthanks for your interest: our sales team will write to you this week.\n\nThe team"
        reply = {BlockId.TICKET_REPLY: {ActionId.TICKET_REPLY: {"type": "plain_text_input", "value": edited}}}
        assert lp.submit(CallbackId.TICKET_EDIT_MODAL, esc, reply, T2A).status_code == 200
        done = _sent(lp, case.id, esc.version)
        lp.settle(done.id)
        replies = [m for m in helpdesk.get_ticket(ticket_id).messages if m.author is AuthorKind.AGENT]
        assert [r.text for r in replies] == [edited.strip()]
        assert [name for name, _ in _decided_writes(helpdesk)] == ["post_reply", "add_internal_note",
                                                                   "set_tags_and_status"]
