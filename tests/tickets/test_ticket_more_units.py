"""The pure parts: what the order-context note says (and never says), and when a new
message on a sent ticket counts as the customer writing again."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from policy.models import (AuthorKind, CaseContext, CaseKind, Customer, CustomerHistory, LineItem, Money, Order,
                           PastReturn, PaymentRisk, ReturnStatus, RiskLevel, Shipment, DeliveryStatus, Ticket,
                           TicketMessage, TicketStatus)
from policy.ticket_case import wrote_again
from policy.ticket_note import context_note

NOW = datetime(2026, 11, 2, 14, 0, tzinfo=timezone.utc)
UTC = ZoneInfo("UTC")


def _ctx(**kw) -> CaseContext:
    usd = lambda v: Money.of(v, "USD")  # noqa: E731
    order = Order(id="gid://shopify/Order/77", name="#1001", created_at=NOW - timedelta(days=9), currency="USD",
                  total=usd("149.00"), received=usd("149.00"), refunded=usd("0"), email="ada@example.com",
                  customer_id="gid://shopify/Customer/5",
                  line_items=(LineItem(id="l1", title="Merino sweater", variant_title="M", quantity=1,
                                       unit_price=usd("129.00"), sku="MS-M"),
                              LineItem(id="l2", title="Wool socks", quantity=2, unit_price=usd("10.00"))),
                  shipments=(Shipment(id="s1", status=DeliveryStatus.DELIVERED, carrier="UPS",
                                      tracking_number="1Z999", delivered_at=NOW - timedelta(days=5)),),
                  risk=PaymentRisk(source="shopify", level=RiskLevel.LOW, facts=("card 4242 4242 4242 4242 ok",),
                                   seller_message="pi_3Nabc payment ok"))
    customer = Customer(id="gid://shopify/Customer/5", display_name="Ada Lovelace", email="ada@example.com",
                        orders_count=4, lifetime_spend=usd("612.50"))
    history = CustomerHistory(since=NOW - timedelta(days=365), orders_count=4, returns=(
        PastReturn(return_id="r1", order_id="o0", requested_at=NOW - timedelta(days=40), amount=usd("20"),
                   status=ReturnStatus.CLOSED),))
    return CaseContext(kind=CaseKind.TICKET, now=NOW, order=order, customer=customer, history=history, **kw)


def test_the_note_has_the_order_tracking_returns_value_and_risk_and_nothing_more():
    text = context_note(_ctx(), UTC)
    assert text.splitlines() == [
        "returnsbot — order context for this ticket (as of 2026-11-02)",
        "Order #1001, placed 2026-10-24, total $149.00",
        "- 1 × Merino sweater (M) at $129.00",
        "- 2 × Wool socks at $10.00",
        "Tracking: UPS 1Z999: delivered 2026-10-28",
        "Returns since 2025-11-02: 1",
        "Customer: 4 order(s), lifetime value $612.50",
        "Payment risk: low (shopify)",
    ]
    for secret in ("4242", "pi_3N", "ada@example.com", "gid://", "Customer/5", "Lovelace"):
        assert secret not in text


def test_no_order_no_note():
    assert context_note(CaseContext(kind=CaseKind.TICKET, now=NOW, order=None), UTC) is None


def _msg(i: int, author: AuthorKind) -> TicketMessage:
    return TicketMessage(id=f"m{i}", author=author, text=f"message {i}", created_at=NOW + timedelta(minutes=i))


def _ticket(*authors: AuthorKind) -> Ticket:
    return Ticket(id="t1", source="sample", subject="Return", status=TicketStatus.OPEN, created_at=NOW,
                  updated_at=NOW, messages=tuple(_msg(i, a) for i, a in enumerate(authors, start=1)))


def test_the_customer_writing_after_the_reply_is_writing_again():
    C, A, N = AuthorKind.CUSTOMER, AuthorKind.AGENT, AuthorKind.INTERNAL
    seen = _ticket(C)
    assert wrote_again(seen, _ticket(C, N, A, N, C))
    assert not wrote_again(seen, _ticket(C))  # a stale copy: nothing after a reply
    assert not wrote_again(seen, _ticket(C, C))  # written before any reply: not a reopening
    assert not wrote_again(_ticket(C, N, A, C), _ticket(C, N, A, C))  # already seen


def test_a_privacy_request_finds_and_redacts_a_ticket_case_with_no_order(database_url):
    import json

    from sqlalchemy import select

    from bot.container import Container
    from bot.schema import metadata
    from bot.services.redact import Redactor, Subject
    from bot.settings import Settings
    from integrations.helpdesk import ticket_event
    from integrations.sample.store import SampleStore
    from integrations.sample.tickets import connector_for
    from tests.conftest import FrozenClock

    clock = FrozenClock()
    store = SampleStore.load(now=clock())
    c = Container.build(Settings(_env_file=None, database_url=database_url), clock=clock, store=store,
                        connectors=(connector_for(store),))
    try:
        (helpdesk,) = [x.helpdesk for x in c.registry.helpdesks]
        case = c.ingest.ingest(ticket_event(helpdesk.get_ticket(helpdesk.keys["wholesale"]))).case
        assert case.order_id is None and case.customer_id is None  # known only by the ticket's email
        report = Redactor(c.engine, key=b"k" * 16, clock=clock).redact_customer(
            Subject(emails=("Buyer@Alpine-Outfitters.example",)), shop="acme-test.myshopify.com")
        assert report.cases == [case.id]
        with c.engine.connect() as conn:
            after = json.dumps({t.name: [dict(r._mapping) for r in conn.execute(select(t))]
                                for t in metadata.sorted_tables}, default=str, ensure_ascii=False)
        assert "buyer@alpine-outfitters.example" not in after.lower() and "Morgan Reyes" not in after
    finally:
        c.engine.dispose()


def test_a_message_while_the_reply_goes_out_reopens_the_case_once_it_is_sent(database_url):
    from bot.container import Container
    from bot.services.ticket_reopen import RECHECK_AFTER, REOPENED
    from bot.settings import Settings
    from integrations.helpdesk import ticket_event
    from integrations.sample.store import SampleStore
    from integrations.sample.tickets import connector_for
    from policy.config import parse_policy
    from policy.models import CaseStatus
    from tests.conftest import FrozenClock
    from tests.loop.harness import POLICY, T1

    clock = FrozenClock()
    store = SampleStore.load(now=clock())
    c = Container.build(Settings(_env_file=None, database_url=database_url,
                                 returnsbot_helpdesk_agent_email="support@ridgeline.example"),
                        clock=clock, store=store, policy=parse_policy(POLICY), connectors=(connector_for(store),))
    try:
        (helpdesk,) = [x.helpdesk for x in c.registry.helpdesks]
        order = store.find_orders("#1001")[0]
        customer = store.get_customer(order.customer_id)
        tid = helpdesk.add("Return", email=customer.email, name=customer.display_name,
                           text="I want to return my sweater from #1001")
        case = c.ingest.ingest(ticket_event(helpdesk.get_ticket(tid))).case
        c.decide.approve(case.id, T1, version=case.version)
        assert c.runners["actions"].run_once(limit=1) == 1  # the reply is out; the note and tags still queued
        assert c.cases.get(case.id).status is CaseStatus.EXECUTING
        helpdesk.customer_writes(tid, "Oh, and can I swap it for a size L instead?")
        c.ingest.ingest(ticket_event(helpdesk.get_ticket(tid)))
        assert c.cases.get(case.id).status is CaseStatus.EXECUTING  # recorded; the send goes on
        c.drain("actions")
        assert c.cases.get(case.id).status is CaseStatus.DONE
        clock.advance(seconds=RECHECK_AFTER.total_seconds() + 1)
        c.drain("intake")
        reopened = c.cases.get(case.id)
        assert reopened.status is CaseStatus.OPEN
        assert [r["event"] for r in c.cases.audit(case.id)].count(REOPENED) == 1
        ctx, _ = c.cases.snapshot(reopened)
        assert ctx.tickets[0].customer_messages[-1].text.startswith("Oh, and can I swap")
    finally:
        c.engine.dispose()
