"""Issue 12: a return ticket decides the return and answers the customer, with one click.

Through the running app (waitress + Bolt + workers, a real database), the sample helpdesk,
and as the store the sample store or FakeShopify. Every call the store and the helpdesk
received is counted, replays included.

- BECOME: "I want to return my sweater from #1001" → one ticket card (intent return);
  Approve & send clicked twice → one return opened in the store (Shopify returnCreate, once
  even when its answer is lost), one refund of it (refund_on = approval) or none until the
  warehouse reports the items back (receipt: then one, on the same case), one reply, one
  note, one tag/status write; the case becomes the store return's case. Under
  `returnless_refund_up_to`: one refund on the order, no return, and the reply says to keep
  the items. A job run again after a simulated crash changes nothing more.
- JOIN: the same ticket about an order whose Shopify return already has a case → that case
  (no second one) carries the ticket and its buttons; one click approves and refunds the
  return once and answers the customer once; the ticket's later messages (and a webhook
  replay) find that case.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from bot.clock import utcnow
from integrations.helpdesk import ticket_event
from integrations.sample.store import SampleStore
from integrations.sample.tickets import SampleHelpdesk, connector_for
from integrations.shopify.client import ShopifyGraphQL
from integrations.shopify.source import ShopifyStore
from policy.lifecycle import ReturnStage
from policy.models import AuthorKind, CaseKind, CaseStatus, ReturnStatus, TicketStatus
from policy.ports import STORE, Operation
from policy.ticket_case import review_of
from tests.fakes.shopify import FakeShopify
from tests.loop.harness import POLICY, T1, action_ids, card_text, loop, wait_for
from tests.tickets.test_ticket_loop import CONTEXT_NOTE, TEXT, CountingHelpdesk

pytestmark = pytest.mark.usefixtures("database_url")

AGENT_EMAIL = "support@ridgeline.example"  # a sample helpdesk agent
# The sample store's #1001 is two years old (a return is denied): its recent #1041, delivered,
# with a clean refund recommendation, is the sample's "return my sweater from #1001".
SAMPLE_ORDER = "#1041"
APPROVED_ORDER = "#1042"  # a sample return recommended for an exchange (not auto-approved)
SAMPLE_TEXT = "Hi, I want to return my merino base layer from #1041, it doesn't fit. Thanks"


def _card(lp, source, external_id, kind):
    return wait_for(lambda: (c := lp.c.cases.find(source, external_id, kind))
                    and c.slack_ts and c.card_version == c.version and c, what="the card")


def _done(lp, case):
    done = wait_for(lambda: (c := lp.c.cases.get(case.id)).status is CaseStatus.DONE and c, what="the decision carried out")
    return lp.settle(done.id)


def _helpdesk_writes(helpdesk: CountingHelpdesk) -> list[str]:
    """The writes the decision made: every call but the order-context note (one at most,
    queued when a ticket's own case opened)."""
    assert sum(key.endswith(CONTEXT_NOTE) for _, key in helpdesk.calls) <= 1
    return [name for name, key in helpdesk.calls if not key.endswith(CONTEXT_NOTE)]


def _systems(lp, case_id: int) -> dict[str, str]:
    """Each of the case's outbox jobs → the system it runs in."""
    from sqlalchemy import select

    from bot.schema import jobs

    with lp.c.engine.connect() as conn:
        return dict(conn.execute(select(jobs.c.operation, jobs.c.system).where(jobs.c.case_id == case_id)).all())


def _crash_and_rerun(lp, case_id: int, operation: str):
    """A worker that carried the job out and died before recording it: another runs it again."""
    [job] = [r for r in lp.c.outbox.for_case(case_id) if r.operation == operation]
    return lp.c.registry.action(_systems(lp, case_id)[operation], job.operation)(job.payload, job.idempotency_key)


# --- BECOME: no store return, the ticket's own case -------------------------------------------


def test_a_return_ticket_opens_the_sample_store_return_and_refunds_once(database_url):
    store = SampleStore.load(now=utcnow())
    helpdesk = CountingHelpdesk(store)
    with loop(database_url, store=store, connectors=(connector_for(store, helpdesk=helpdesk),)) as lp:
        lp.slack.users[T1] = {"email": AGENT_EMAIL}
        order = store.find_orders(SAMPLE_ORDER)[0]
        customer = store.get_customer(order.customer_id)
        # #1041's own online request was declined in the store: the customer writes in instead.
        [declined] = store.get_order_returns(order.id)
        store.decline_return(declined.id, reason="OTHER", note=None, notify_customer=False, idempotency_key="setup")
        ticket_id = helpdesk.add("Return", email=customer.email, name=customer.display_name, text=SAMPLE_TEXT)
        event = ticket_event(helpdesk.get_ticket(ticket_id))
        lp.c.ingest.ingest(event)
        lp.c.ingest.ingest(event)  # the webhook and the poller
        case = _card(lp, helpdesk.name, ticket_id, CaseKind.TICKET)
        assert lp.c.cases.count() == 1 and case.recommended_action == "refund"
        card = card_text(lp.last_card(case))
        assert "*return*" in card and "opens the return in the store" in card
        refunded_before = order.refunded

        assert lp.click(case, "ticket-send", T1).status_code == 200
        assert lp.click(case, "ticket-send", T1).status_code == 200  # the double click
        done = _done(lp, case)
        assert done.decided_action == "refund"

        # The store: one return opened (approved, the asked line), one refund on it, none replayed.
        applied = [c for c in store.calls if c.error is None and not c.replayed]
        assert [c.method for c in applied] == ["decline_return", "open_return", "refund_return"]
        opened = next(c for c in applied if c.method == "open_return")
        ret = store.get_return(opened.result.external_id)
        assert ret.status is ReturnStatus.APPROVED and [li.line_item_id for li in ret.line_items] == \
            [order.line_items[0].id]
        refund = next(c for c in applied if c.method == "refund_return")
        assert refund.target_id == ret.id and refund.params["amount"] == case.amount
        assert store.get_order(order.id).refunded == refunded_before + case.amount
        # The case is that return's case now, the ticket linked to it.
        assert (done.kind, done.source, done.external_id) == (CaseKind.RETURN_REQUEST, "shopify", ret.id)
        assert lp.c.cases.find("shopify", ret.id, CaseKind.RETURN_REQUEST).id == case.id
        assert lp.c.cases.count() == 1
        # The helpdesk: one reply, one note, one tags/status write.
        assert _helpdesk_writes(helpdesk) == ["post_reply", "add_internal_note", "set_tags_and_status"]
        ticket = helpdesk.get_ticket(ticket_id)
        [note] = [m for m in ticket.messages if m.author is AuthorKind.INTERNAL and "Approved in Slack" in m.text]
        assert f"Approved in Slack by {T1}" in note.text and "the return is opened in the store" in note.text
        assert ticket.status is TicketStatus.SOLVED
        # The store ran before the reply (one ordered queue: a failed step holds the reply back).
        ops = [r.operation for r in lp.c.outbox.for_case(case.id)]
        assert ops[:2] == [Operation.OPEN_RETURN, Operation.REFUND_RETURN] and ops.index("ticket_post_reply") == 2
        assert f"Return {ret.name}" in card_text(lp.last_card(lp.settle(case.id)))

        # A crash after the return was opened, before it was recorded: the store repeats.
        again = _crash_and_rerun(lp, case.id, Operation.OPEN_RETURN)
        assert again.ok and again.external_id == ret.id
        assert len([c for c in store.calls if c.method == "open_return" and not c.replayed]) == 1
        assert len(store.get_order_returns(order.id)) == 2  # the declined one and ours


@pytest.fixture
def shop():
    fake = FakeShopify()
    customer = fake.add_customer(display_name="Ada Lovelace", email="ada@example.com")
    order = fake.add_order(customer_id=customer, name="#1001", email="ada@example.com",
                           created_at=utcnow() - timedelta(days=10),
                           line_items=[{"title": "Merino Sweater", "price": "89.00"},
                                       {"title": "Wool Socks", "price": "9.50"}])
    client = ShopifyGraphQL(fake.graphql_url(), fake.access_token, http=fake.http_client())
    yield fake, ShopifyStore(client, shop_domain=fake.shop_domain), order
    client.close()


def _shopify_loop(database_url, store, now, policy: str = POLICY):
    sample = SampleStore.load(now=now)  # the sample helpdesk seeds its own tickets from the sample store's
    helpdesk = CountingHelpdesk(sample)
    return helpdesk, loop(database_url, store=store, connectors=(connector_for(sample, helpdesk=helpdesk),),
                          policy=policy)


def _refund_mutations(fake: FakeShopify) -> list[str]:
    """Every money-moving request Shopify received, whatever came of it (refused, replayed)."""
    return [c.operation for c in fake.calls
            if c.operation in ("RefundOrderCreate", "RefundCreate", "ReturnProcess", "RefundShippingCreate")]


def _mutations(fake: FakeShopify) -> list[str | None]:
    """Every mutation request Shopify received, whatever came of it (refused, failed, replayed)."""
    return [c.operation for c in fake.calls if c.query.lstrip().startswith("mutation")]


def _sweater_ticket(lp, helpdesk, order):
    lp.slack.users[T1] = {"email": AGENT_EMAIL}
    ticket_id = helpdesk.add("Return", email="ada@example.com", name="Ada Lovelace", text=TEXT)
    lp.c.ingest.ingest(ticket_event(helpdesk.get_ticket(ticket_id)))
    case = _card(lp, helpdesk.name, ticket_id, CaseKind.TICKET)
    assert case.order_id == order and case.recommended_action == "refund"
    ctx, _ = lp.c.cases.snapshot(case)
    assert [li.title for li in ctx.return_request.line_items] == ["Merino Sweater"]  # "my sweater"
    assert case.amount.amount == Decimal("89.00")
    return ticket_id, case


def _our_return(fake: FakeShopify, order: str) -> dict:
    [ret] = [r for r in fake.returns.values() if r["_order"] == order]
    return ret


def test_a_return_ticket_opens_the_shopify_return_once_and_refunds_it_once(database_url, shop):
    fake, store, order = shop
    helpdesk, running = _shopify_loop(database_url, store, utcnow())
    with running as lp:
        ticket_id, case = _sweater_ticket(lp, helpdesk, order)
        assert "opens the return in the store (Merino Sweater × 1), then refunds $89.00" in \
            card_text(lp.last_card(case))
        assert lp.click(case, "ticket-send", T1).status_code == 200
        assert lp.click(case, "ticket-send", T1).status_code == 200  # the double click
        done = _done(lp, case)

        # Shopify: one returnCreate (OPEN, the sweater, our marker in its note), one refund of it.
        assert _mutations(fake) == ["ReturnCreate", "ReturnProcess"]
        ret = _our_return(fake, order)
        assert ret["status"] in ("OPEN", "CLOSED")
        [line] = ret["_lines"]
        assert line["fulfillmentLineItem"]["lineItem"]["title"] == "Merino Sweater" and line["quantity"] == 1
        assert f"returnsbot:returnsbot:{helpdesk.name}:case-{case.id}:open_return" in line["returnReasonNote"]
        [process] = [i for m, i in fake.mutations if m == "returnProcess"]
        assert process["returnId"] == ret["id"]
        # The case follows that return: found by it, one case, the ticket linked.
        assert (done.kind, done.source, done.external_id) == (CaseKind.RETURN_REQUEST, "shopify", ret["id"])
        assert lp.c.cases.find("shopify", ret["id"], CaseKind.RETURN_REQUEST).id == case.id
        assert lp.c.cases.find(helpdesk.name, ticket_id, CaseKind.TICKET) is None and lp.c.cases.count() == 1
        assert [d["decided_by"] for d in lp.c.cases.decisions(case.id)] == [T1]
        assert [(u.stage, u.by) for u in lp.c.stages.history(case.id)][:1] == [(ReturnStage.APPROVED, T1)]
        assert f"Return {ret['name']}" in card_text(lp.last_card(lp.settle(case.id)))
        # The helpdesk: one reply, one note, one tags/status write.
        assert _helpdesk_writes(helpdesk) == ["post_reply", "add_internal_note", "set_tags_and_status"]
        [note] = [m for m in helpdesk.get_ticket(ticket_id).messages
                  if m.author is AuthorKind.INTERNAL and "Approved in Slack" in m.text]
        assert "the return is opened in the store (Merino Sweater × 1) and refunded" in note.text

        # A crash after returnCreate, before it was recorded: the job runs again, the marker finds it.
        again = _crash_and_rerun(lp, case.id, Operation.OPEN_RETURN)
        assert again.ok and again.external_id == ret["id"]
        assert _mutations(fake) == ["ReturnCreate", "ReturnProcess"]
        # The customer writes again: the same case (decided: recorded, nothing sent).
        helpdesk.customer_writes(ticket_id, "Thanks! Where do I send it?")
        lp.c.ingest.ingest(ticket_event(helpdesk.get_ticket(ticket_id)))
        assert lp.c.cases.count() == 1 and lp.c.cases.get(case.id).status is CaseStatus.DONE
        assert _helpdesk_writes(helpdesk) == ["post_reply", "add_internal_note", "set_tags_and_status"]


def test_a_lost_return_create_answer_and_the_retry_open_one_return(database_url, shop):
    fake, store, order = shop
    helpdesk, running = _shopify_loop(database_url, store, utcnow())
    with running as lp:
        _, case = _sweater_ticket(lp, helpdesk, order)
        fake.timeout_next(1, after_execute=True, operation="ReturnCreate")  # applied, the answer lost
        assert lp.click(case, "ticket-send", T1).status_code == 200
        done = _done(lp, case)
        # The retry read the order's returns, found ours by its marker and created nothing.
        assert [c.operation for c in fake.calls if c.operation == "ReturnCreate"] == ["ReturnCreate"]
        assert len([m for m, _ in fake.mutations if m == "returnCreate"]) == 1
        ret = _our_return(fake, order)
        assert done.external_id == ret["id"]
        assert _refund_mutations(fake) == ["ReturnProcess"] and len(fake.refunds) == 1
        assert _helpdesk_writes(helpdesk) == ["post_reply", "add_internal_note", "set_tags_and_status"]


RECEIPT = POLICY + '\n[returns]\nrefund_on = "receipt"\n'


def test_refund_on_receipt_opens_the_return_and_refunds_when_the_items_are_back(database_url, shop):
    import httpx

    fake, store, order = shop
    helpdesk, running = _shopify_loop(database_url, store, utcnow(), policy=RECEIPT)
    with running as lp:
        ticket_id, case = _sweater_ticket(lp, helpdesk, order)
        assert "refunded once the items are back" in card_text(lp.last_card(case))
        assert lp.click(case, "ticket-send", T1).status_code == 200
        assert lp.click(case, "ticket-send", T1).status_code == 200
        done = _done(lp, case)
        assert _mutations(fake) == ["ReturnCreate"] and _refund_mutations(fake) == []  # no money yet
        ret = _our_return(fake, order)
        assert done.external_id == ret["id"] and fake.return_status(ret["id"]) == "OPEN"
        [note] = [m for m in helpdesk.get_ticket(ticket_id).messages
                  if m.author is AuthorKind.INTERNAL and "Approved in Slack" in m.text]
        assert "follows once the items are back" in note.text

        # The warehouse restocks the sweater: Shopify's webhook, delivered twice.
        disposed = fake.dispose(ret["id"], [(0, 1, "RESTOCKED", fake.location["id"])], names_return=False)
        for _ in range(2):
            body, headers = fake.signed_webhook("reverse_fulfillment_orders/dispose", "", b"x", payload=disposed)
            assert httpx.post(f"{lp.server.url}/webhooks/shopify", content=body, headers=headers,
                              timeout=10).status_code == 200
        wait_for(lambda: [m for m, _ in fake.mutations if m == "returnProcess"], what="the refund on receipt")
        refunded = _done(lp, case)
        assert _mutations(fake) == ["ReturnCreate", "ReturnProcess"]  # one return, one refund
        [process] = [i for m, i in fake.mutations if m == "returnProcess"]
        assert process["returnId"] == ret["id"]
        assert refunded.id == case.id and lp.c.cases.count() == 1  # the same case, no second one
        assert [a["event"] for a in lp.c.cases.audit(case.id)].count("case.refund_on_receipt") == 1
        assert _helpdesk_writes(helpdesk) == ["post_reply", "add_internal_note", "set_tags_and_status"]


RETURNLESS = POLICY + '\n[returns]\nreturnless_refund_up_to = 100\n'


def test_a_returnless_refund_under_the_threshold_refunds_the_order_and_opens_no_return(database_url, shop):
    fake, store, order = shop
    helpdesk, running = _shopify_loop(database_url, store, utcnow(), policy=RETURNLESS)
    with running as lp:
        ticket_id, case = _sweater_ticket(lp, helpdesk, order)  # $89.00, at most $100
        ctx, _ = lp.c.cases.snapshot(case)
        draft = review_of(ctx).draft.text
        assert "do not need to send the items back" in draft and "89.00" in draft
        assert "Returnless refund" in card_text(lp.last_card(case))

        fake.timeout_next(1, after_execute=True, operation="RefundOrderCreate")  # applied, the answer lost
        assert lp.click(case, "ticket-send", T1).status_code == 200
        assert lp.click(case, "ticket-send", T1).status_code == 200
        done = _done(lp, case)
        assert _mutations(fake) == ["RefundOrderCreate"]  # the retry read the marker, sent nothing
        refunds = [i for m, i in fake.mutations if m == "refundCreate"]
        assert len(refunds) == 1 and refunds[0]["transactions"][0]["amount"] == "89.00"
        assert [r for r in fake.returns.values() if r["_order"] == order] == []
        assert done.kind is CaseKind.TICKET and lp.c.cases.count() == 1
        ticket = helpdesk.get_ticket(ticket_id)
        [reply] = [m for m in ticket.messages if m.author is AuthorKind.AGENT]
        [note] = [m for m in ticket.messages if m.author is AuthorKind.INTERNAL and "Approved in Slack" in m.text]
        assert reply.text == draft and "returnless refund" in note.text and "keeps the items" in note.text
        assert lp.c.cases.decisions(case.id)[0]["detail"]["returnless"] is True
        again = _crash_and_rerun(lp, case.id, Operation.REFUND_ORDER)
        assert again.ok and len([m for m, _ in fake.mutations if m == "refundCreate"]) == 1


# --- JOIN: the order's return already has a case -------------------------------------------------


def test_a_return_ticket_joins_the_shopify_return_case_one_case_one_card_one_refund(database_url, shop):
    fake, store, order = shop
    ret = fake.add_return(order, line_items=[{"index": 0, "quantity": 1}], reason="UNWANTED")
    helpdesk, running = _shopify_loop(database_url, store, utcnow())
    with running as lp:
        lp.slack.users[T1] = {"email": AGENT_EMAIL}
        [requested] = [e for e in store.poll_requested_returns(None).events if e.resource_id == ret]
        lp.c.ingest.ingest(requested)
        ret_case = _card(lp, "shopify", ret, CaseKind.RETURN_REQUEST)
        assert ret_case.recommended_action == "refund"

        ticket_id = helpdesk.add("Return", email="ada@example.com", name="Ada Lovelace", text=TEXT)
        event = ticket_event(helpdesk.get_ticket(ticket_id))
        lp.c.ingest.ingest(event)
        lp.c.ingest.ingest(event)  # a webhook replay: the link finds the case
        joined = wait_for(lambda: (c := lp.c.cases.get(ret_case.id)).version > ret_case.version
                          and c.card_version == c.version and c, what="the joined card")
        assert lp.c.cases.count() == 1 and lp.c.cases.find(helpdesk.name, ticket_id, CaseKind.TICKET) is None
        ctx, assessment = lp.c.cases.snapshot(joined)
        assert ctx.tickets[0].id == ticket_id and ctx.return_request.id == ret
        review = review_of(ctx)
        assert review.classification.intent.value == "return" and review.draft is not None
        assert "89.00" in review.draft.text  # grounded in the return case's refund
        card = card_text(lp.last_card(joined))
        assert "Ticket: Return" in card and "doesn't fit" in card and "Draft reply" in card
        assert "joined the return" in card
        assert action_ids(lp.last_card(joined)) == ["ticket-send", "ticket-edit", "ticket-escalate"]
        assert len(lp.slack.calls_to("chat.postMessage")) == 1  # one card, updated in place

        # The same tiers as the case's Approve: someone outside them changes nothing.
        assert lp.click(joined, "ticket-send", "U0NOBODY01").status_code == 200
        wait_for(lambda: any("You can't" in t for t in lp.ephemerals_to("U0NOBODY01")), what="the refusal")
        assert lp.c.cases.get(joined.id).status is CaseStatus.OPEN and lp.c.outbox.for_case(joined.id) == []

        assert lp.click(joined, "ticket-send", T1).status_code == 200
        assert lp.click(joined, "ticket-send", T1).status_code == 200
        done = _done(lp, joined)
        assert done.decided_action == "refund" and [d["decided_by"] for d in lp.c.cases.decisions(done.id)] == [T1]

        assert [c.operation for c in fake.calls if c.query.lstrip().startswith("mutation")] == \
            ["ReturnApproveRequest", "ReturnProcess"]  # approved, then refunded: once each
        assert fake.return_status(ret) in ("OPEN", "CLOSED")
        assert _helpdesk_writes(helpdesk) == ["post_reply", "add_internal_note", "set_tags_and_status"]
        ticket = helpdesk.get_ticket(ticket_id)
        [reply] = [m for m in ticket.messages if m.author is AuthorKind.AGENT]
        [note] = [m for m in ticket.messages if m.author is AuthorKind.INTERNAL]
        assert reply.text == review.draft.text
        assert f"Approved in Slack by {T1}" in note.text and "refund $89.00" in note.text
        jobs = lp.c.outbox.for_case(done.id)
        helpdesk_jobs = [r for r in jobs if r.operation.startswith("ticket_")]
        systems = _systems(lp, done.id)
        assert all(systems[r.operation] == helpdesk.name for r in helpdesk_jobs) and len(helpdesk_jobs) == 3
        assert helpdesk_jobs[0].idempotency_key == f"returnsbot:{helpdesk.name}:case-{done.id}:ticket_post_reply"

        # The customer writes again: the same case (decided: recorded, nothing sent).
        helpdesk.customer_writes(ticket_id, "Thanks! One more question about #1001.")
        lp.c.ingest.ingest(ticket_event(helpdesk.get_ticket(ticket_id)))
        assert lp.c.cases.count() == 1 and lp.c.cases.get(done.id).status is CaseStatus.DONE
        assert _helpdesk_writes(helpdesk) == ["post_reply", "add_internal_note", "set_tags_and_status"]


def test_a_later_message_refreshes_the_joined_case_while_undecided(database_url, shop):
    fake, store, order = shop
    ret = fake.add_return(order, line_items=[{"index": 0, "quantity": 1}], reason="UNWANTED")
    helpdesk, running = _shopify_loop(database_url, store, utcnow())
    with running as lp:
        [requested] = [e for e in store.poll_requested_returns(None).events if e.resource_id == ret]
        lp.c.ingest.ingest(requested)
        ret_case = _card(lp, "shopify", ret, CaseKind.RETURN_REQUEST)
        ticket_id = helpdesk.add("Return", email="ada@example.com", name="Ada Lovelace", text=TEXT)
        lp.c.ingest.ingest(ticket_event(helpdesk.get_ticket(ticket_id)))
        helpdesk.customer_writes(ticket_id, "Also: can I get the refund to my card please?")
        lp.c.ingest.ingest(ticket_event(helpdesk.get_ticket(ticket_id)))
        case = lp.settle(ret_case.id)
        ctx, _ = lp.c.cases.snapshot(case)
        assert lp.c.cases.count() == 1 and len(ctx.tickets[0].customer_messages) == 2
        assert "refund to my card" in card_text(lp.last_card(case))
        events = [a["event"] for a in lp.c.cases.audit(case.id)]
        assert events.count("case.ticket_joined") == 1 and "case.ticket_updated" in events


# --- a return case whose customer has a ticket open (it did not join) -------------------------


def _with_tickets_in_context(store, helpdesk):
    """The sample helpdesk as Gorgias and Zendesk are: a case's context gains the customer's tickets."""
    import dataclasses

    from integrations.helpdesk import tickets_contributor

    return dataclasses.replace(connector_for(store, helpdesk=helpdesk), contribute=tickets_contributor(helpdesk))


def _return_case_with_open_ticket(lp, store, helpdesk, order_name: str):
    order = store.find_orders(order_name)[0]
    customer = store.get_customer(order.customer_id)
    ticket_id = helpdesk.add(f"Question about {order_name}", email=customer.email, name=customer.display_name,
                             text=f"Hello, any news about my order {order_name}?")
    case = lp.open_case(order_name)  # the store's return: a case of its own (the ticket was never ingested)
    return case, ticket_id


def test_a_return_case_denied_posts_the_drafted_message_to_the_customers_open_ticket_once(database_url):
    from blocks.ids import ActionId, BlockId, CallbackId, OptionValue
    from policy.ticket_case import replies_of

    store = SampleStore.load(now=utcnow())
    helpdesk = CountingHelpdesk(store)
    with loop(database_url, store=store, connectors=(_with_tickets_in_context(store, helpdesk),)) as lp:
        lp.slack.users[T1] = {"email": AGENT_EMAIL}
        case, ticket_id = _return_case_with_open_ticket(lp, store, helpdesk, "#1045")  # final sale: deny
        assert case.recommended_action == "deny"
        replies = replies_of(lp.c.cases.snapshot(case)[0])
        assert replies.ticket_id == ticket_id and replies.deny is not None and replies.approve is None
        assert "Question about #1045" in card_text(lp.last_card(case))  # which ticket the message goes to

        assert lp.click(case, ActionId.CASE_DENY, T1).status_code == 200
        [opened] = lp.slack.calls_to("views.open")
        field = next(b for b in opened.params["view"]["blocks"] if b.get("block_id") == BlockId.DENY_CUSTOMER_MESSAGE)
        assert field["element"]["initial_value"] == replies.deny.text[:500]
        message = field["element"]["initial_value"]
        state = {
            BlockId.DENY_REASON: {ActionId.DENY_REASON: {"type": "static_select",
                                                         "selected_option": {"value": "FINAL_SALE"}}},
            BlockId.DENY_CUSTOMER_MESSAGE: {ActionId.DENY_CUSTOMER_MESSAGE: {"type": "plain_text_input",
                                                                             "value": message}},
            BlockId.DENY_NOTIFY: {ActionId.DENY_NOTIFY: {"type": "checkboxes",
                                                         "selected_options": [{"value": OptionValue.NOTIFY_CUSTOMER}]}},
        }
        assert lp.submit(CallbackId.DENY_MODAL, case, state, T1).status_code == 200
        assert lp.submit(CallbackId.DENY_MODAL, case, state, T1).status_code == 200  # submitted twice
        _done(lp, case)
        assert len([c for c in store.calls if c.method == "decline_return"]) == 1
        assert _helpdesk_writes(helpdesk) == ["post_reply", "add_internal_note"]
        ticket = helpdesk.get_ticket(ticket_id)
        [reply] = [m for m in ticket.messages if m.author is AuthorKind.AGENT]
        assert reply.text == message.strip() and ticket.status is TicketStatus.OPEN  # left as the team has it
        [note] = [m for m in ticket.messages if m.author is AuthorKind.INTERNAL]
        assert f"Denied in Slack by {T1}" in note.text


def test_a_return_case_approved_posts_the_drafted_approval_to_the_customers_open_ticket_once(database_url):
    from blocks.ids import ActionId
    from policy.ticket_case import replies_of

    store = SampleStore.load(now=utcnow())
    helpdesk = CountingHelpdesk(store)
    with loop(database_url, store=store, connectors=(_with_tickets_in_context(store, helpdesk),)) as lp:
        lp.slack.users[T1] = {"email": AGENT_EMAIL}
        case, ticket_id = _return_case_with_open_ticket(lp, store, helpdesk, APPROVED_ORDER)
        assert case.recommended_action == "exchange" and not case.auto_approved
        replies = replies_of(lp.c.cases.snapshot(case)[0])
        assert replies.approve is not None and replies.deny is not None and replies.approve.text != replies.deny.text
        assert lp.click(case, ActionId.CASE_APPROVE, T1).status_code == 200
        assert lp.click(case, ActionId.CASE_APPROVE, T1).status_code == 200  # the double click
        # (An exchange's case waits for the items after its approval: every job done is the end here.)
        wait_for(lambda: (rows := lp.c.outbox.for_case(case.id)) and all(r.status == "done" for r in rows)
                 and len(rows) == 4, what="the approval carried out")
        lp.settle(case.id)
        assert len([c for c in store.calls if c.method == "approve_return"]) == 1
        assert _helpdesk_writes(helpdesk) == ["post_reply", "add_internal_note"]
        ticket = helpdesk.get_ticket(ticket_id)
        [reply] = [m for m in ticket.messages if m.author is AuthorKind.AGENT]
        assert reply.text == replies.approve.text.strip()
        [note] = [m for m in ticket.messages if m.author is AuthorKind.INTERNAL]
        assert f"Approved in Slack by {T1}" in note.text and "exchange" in note.text.lower()
