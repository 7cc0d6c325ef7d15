"""Issue 10's delayed-shipment remedies with Shopify as the store: the running app (waitress +
workers, a real database) over FakeShopify. A carrier exception reported by the shipping
system opens the case; a double click on a remedy, an answer Shopify loses on the way back
and an outbox job run again after a simulated crash still make exactly one refund and one
replacement order. Every request the fake received is counted, whatever came of it."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from bot.clock import utcnow
from bot.services.decide import DecisionRefused
from bot.services.remedies import Remedies
from integrations.shopify.client import ShopifyGraphQL
from integrations.shopify.source import ShopifyStore
from policy.models import (CarrierStatus, CaseKind, CaseStatus, DeliveryStatus, DomainEvent, EventKind, Money,
                           ParcelUpdate, Shipment)
from policy.ports import STORE
from tests.fakes.shopify import FakeShopify
from tests.loop.harness import T1, loop, wait_for

NUMBER = "1Z999AA10123456784"


@pytest.fixture
def shop():
    fake = FakeShopify()
    customer = fake.add_customer(display_name="Ada Lovelace")
    shipped = utcnow() - timedelta(days=4)
    order = fake.add_order(customer_id=customer, shipping="12.50", created_at=shipped - timedelta(days=1),
                           fulfillments=[{"display_status": "IN_TRANSIT", "created_at": shipped, "number": NUMBER}],
                           line_items=[{"title": "Trail Runner", "price": "120.00"},
                                       {"title": "Wool Socks", "price": "9.50", "quantity": 2}])
    client = ShopifyGraphQL(fake.graphql_url(), fake.access_token, http=fake.http_client())
    yield fake, ShopifyStore(client, shop_domain=fake.shop_domain), order
    client.close()


def a_delayed_case(lp, fake: FakeShopify, order: str):
    """The shipping system reports a carrier exception on the order's parcel."""
    name = fake.orders[order]["name"]
    parcel = ParcelUpdate(order_ref=name.lstrip("#"), reported_at=utcnow(), shipment=Shipment(
        id="shipstation:1", status=DeliveryStatus.IN_TRANSIT, carrier="UPS", tracking_number=NUMBER,
        carrier_status=CarrierStatus.EXCEPTION, exception="Address not found", last_scan_at=utcnow(),
        source="shipstation"))
    report = lp.c.shipping.apply(DomainEvent(source="shipstation", kind=EventKind.SHIPMENT_TRACKED,
                                             resource_id=f"{NUMBER}:EX", occurred_at=utcnow(), parcels=(parcel,)))
    [case] = report.opened
    assert case.kind is CaseKind.DELAYED_SHIPMENT and case.order_id == order
    return lp.settle(case.id)


def received(fake: FakeShopify, operation: str) -> int:
    """Every request for the operation, whatever came of it (timed out, refused, replayed)."""
    return len(fake.calls_to(operation))


def crash_and_rerun(lp, case_id: int, operation: str):
    """A worker that carried the job out and died before recording it: another runs it again."""
    [job] = [r for r in lp.c.outbox.for_case(case_id) if r.operation == operation]
    return lp.c.registry.action(STORE, job.operation)(job.payload, job.idempotency_key)


def test_refund_shipping_twice_clicked_lost_and_rerun_is_one_refund(database_url, shop):
    fake, store, order = shop
    with loop(database_url, store=store) as lp:
        case = a_delayed_case(lp, fake, order)
        remedies = Remedies(decide=lp.c.decide)
        fake.timeout_next(1, after_execute=True, operation="RefundShippingCreate")  # applied, answer lost

        decided = remedies.carry_out(case.id, T1, remedy="refund_shipping", amount=None, version=case.version)
        assert decided.decided_action == "refund_shipping"
        with pytest.raises(DecisionRefused):  # the double click: the same card, the same version
            remedies.carry_out(case.id, T1, remedy="refund_shipping", amount=None, version=case.version)
        with pytest.raises(DecisionRefused):  # and one without a version: decided already
            remedies.carry_out(case.id, T1, remedy="refund_shipping", amount=None, version=None)

        done = wait_for(lambda: (k := lp.c.cases.get(case.id)).status is CaseStatus.DONE and k, timeout=20,
                        what="the refund carried out after the lost answer")
        again = crash_and_rerun(lp, case.id, "refund_shipping")
        assert again.ok

        assert received(fake, "RefundShippingCreate") == 1  # the lost one; the retry found its marker
        assert [m for m, _ in fake.mutations] == ["refundCreate"]
        assert fake.orders[order]["_shipping_refunded"] == Decimal("12.50")
        [refund] = fake._refunds_of(order)
        assert refund["totalRefundedSet"]["shopMoney"] == {"amount": "12.50", "currencyCode": "USD"}
        assert done.status is CaseStatus.DONE
        assert [r.operation for r in lp.c.outbox.for_case(case.id)] == ["refund_shipping"]
        assert fake.invalid_documents == []


def test_reship_twice_clicked_and_rerun_is_one_replacement_order(database_url, shop):
    fake, store, order = shop
    with loop(database_url, store=store) as lp:
        case = a_delayed_case(lp, fake, order)
        remedies = Remedies(decide=lp.c.decide)
        remedies.carry_out(case.id, T1, remedy="reship", version=case.version, note="parcel lost")
        with pytest.raises(DecisionRefused):
            remedies.carry_out(case.id, T1, remedy="reship", version=case.version)
        wait_for(lambda: lp.c.cases.get(case.id).status is CaseStatus.DONE, timeout=20, what="the reship")
        lp.settle(case.id)
        again = crash_and_rerun(lp, case.id, "reship_order")
        assert again.ok and "already" in again.summary

        assert received(fake, "DraftOrderCreate") == 1
        assert received(fake, "DraftOrderComplete") == 1
        [draft] = fake.draft_orders_of(order)
        assert draft["status"] == "COMPLETED"
        replacement = fake.orders[draft["_order"]]
        assert replacement["totalPriceSet"]["shopMoney"]["amount"] == "0.00"  # nothing to pay
        assert sorted((li["title"], li["quantity"]) for li in replacement["_line_items"]) == [
            ("Trail Runner", 1), ("Wool Socks", 2)]
        assert "returnsbot-reship" in replacement["tags"]
        assert [r.result_external_id for r in lp.c.outbox.for_case(case.id)] == [draft["_order"]]
        assert fake.invalid_documents == []


def test_a_bad_amount_is_refused_and_nothing_is_queued(database_url, shop):
    fake, store, order = shop
    with loop(database_url, store=store) as lp:
        case = a_delayed_case(lp, fake, order)
        remedies = Remedies(decide=lp.c.decide)
        for bad in (Money.of("-1.00", "USD"), Money.of("5.00", "EUR")):
            with pytest.raises(DecisionRefused) as refused:
                remedies.carry_out(case.id, T1, remedy="refund_shipping", amount=bad, version=case.version)
            assert "Nothing was done" in str(refused.value)
        assert lp.c.cases.get(case.id).status is CaseStatus.OPEN
        assert lp.c.outbox.for_case(case.id) == []
        assert received(fake, "RefundShippingCreate") == 0


def test_the_card_offers_both_and_a_double_click_on_it_is_one_refund(database_url, shop):
    from tests.loop.harness import action_ids, card_text

    fake, store, order = shop
    with loop(database_url, store=store) as lp:
        case = a_delayed_case(lp, fake, order)
        case = wait_for(lambda: (k := lp.c.cases.get(case.id)).slack_ts and k.card_version == k.version and k,
                        what="the delayed-shipment card")
        card = lp.last_card(case)
        assert action_ids(card) == ["case-approve", "shipment-reship", "shipment-refund-shipping", "case-escalate"]
        assert "Refund the shipping?" in card_text(card)  # behind a confirmation
        assert lp.click(case, "shipment-refund-shipping", T1).status_code == 200
        assert lp.click(case, "shipment-refund-shipping", T1).status_code == 200
        done = wait_for(lambda: (k := lp.c.cases.get(case.id)).status is CaseStatus.DONE and k, timeout=20,
                        what="the shipping refunded")
        lp.settle(done.id)
        assert received(fake, "RefundShippingCreate") == 1
        assert received(fake, "DraftOrderCreate") == 0
        assert "shipping refund $12.50 issued" in card_text(lp.last_card(done))
