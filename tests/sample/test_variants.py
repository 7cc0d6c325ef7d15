"""The sample store as other shops: euros (with a multi-currency order) and yen."""

from __future__ import annotations

from decimal import Decimal

import pytest

from integrations.sample import SampleStore
from integrations.sample.store import SampleDataError
from integrations.sample.variants import VARIANTS, derive
from policy.models import Money, ReturnStatus, ShopFacts
from policy.ports import IntegrationError
from tests.sample.helpers import NOW, StepClock, order_named

MULTI = "gid://shopify/Return/7001000901"  # #1901-R1: €145.00, charged £124.10


def eur(**kw) -> SampleStore:
    return SampleStore.load(now=NOW, clock=StepClock(), variant="eur", **kw)


def opened(store: SampleStore, return_id: str = MULTI) -> SampleStore:
    store.approve_return(return_id, notify_customer=False, idempotency_key=f"approve-{return_id}")
    return store


def test_the_bundled_shop_says_its_currency_and_time_zone():
    assert SampleStore.load(now=NOW).shop_facts() == ShopFacts(
        currency="USD", timezone="America/Los_Angeles", name="Ridgeline Outfitters")


def test_the_eur_shop_is_the_bundled_data_in_euros_in_berlin():
    us, store = SampleStore.load(now=NOW), eur()
    assert store.shop_facts() == ShopFacts(currency="EUR", timezone="Europe/Berlin", name="Ridgeline Outfitters Europe")
    for o in (order_named(us, f"#{n}") for n in range(1001, 1052)):
        mine = order_named(store, o.name)
        assert mine.total == Money.of(o.total.amount, "EUR")  # same numbers, in euros
        assert mine.currency == "EUR" and mine.presentment_total is None
    spend = store.get_customer("gid://shopify/Customer/6001000007")
    assert spend.lifetime_spend.currency == "EUR"


def test_the_bundled_file_is_not_changed_by_a_variant():
    import json
    from importlib import resources

    data = json.loads(resources.files("integrations.sample").joinpath("sample_store.json").read_text())
    before = json.dumps(data, sort_keys=True)
    derive(data, "eur")
    derive(data, "jpy")
    assert json.dumps(data, sort_keys=True) == before


def test_an_unknown_variant_is_refused():
    with pytest.raises(ValueError, match="choose one of us, eur, jpy"):
        SampleStore.load(now=NOW, variant="chf")
    assert set(VARIANTS) == {"us", "eur", "jpy"}


def test_the_multi_currency_order_carries_what_the_customer_was_charged():
    store = eur()
    order = order_named(store, "#1901")
    assert (order.total, order.presentment_total) == (Money.of("145.00", "EUR"), Money.of("124.10", "GBP"))
    assert order.presentment_currency == "GBP"
    ret = store.get_return(MULTI)
    assert ret.amount == Money.of("145.00", "EUR") and ret.presentment_amount == Money.of("124.10", "GBP")
    assert ret.status is ReturnStatus.REQUESTED
    assert any(e.resource_id == MULTI for e in store.events())  # in the demo's feed


def test_a_refund_decided_in_shop_money_goes_back_in_the_currency_the_customer_paid():
    """The reading chosen: the bot decides and sends shop money (EUR); the store refunds the
    customer in the order's presentment currency (GBP), as Shopify's refund transactions
    are, converted at the return's own rate; the refund records both."""
    store = opened(eur())
    result = store.refund_return(MULTI, amount=Money.of("145.00", "EUR"), notify_customer=True, idempotency_key="k1")
    assert result.summary == "refund €145.00 issued (£124.10 to the customer); customer notified"
    refund = store.get_refund(result.external_id)
    assert refund.amount == Money.of("145.00", "EUR") and refund.presentment_amount == Money.of("124.10", "GBP")
    order = order_named(store, "#1901")
    assert order.refunded == Money.of("145.00", "EUR") and order.financial_status == "REFUNDED"
    with pytest.raises(IntegrationError, match="exceeds what is left"):
        store.refund_return(MULTI, amount=Money.of("0.01", "EUR"), notify_customer=False, idempotency_key="k2")


def test_a_partial_refund_converts_at_the_orders_rate_and_the_rest_gives_back_exactly_what_is_left():
    store = opened(eur())
    first = store.refund_return(MULTI, amount=Money.of("72.50", "EUR"), notify_customer=False, idempotency_key="a")
    assert store.get_refund(first.external_id).presentment_amount == Money.of("62.05", "GBP")
    rest = store.refund_return(MULTI, amount=Money.of("72.50", "EUR"), notify_customer=False, idempotency_key="b")
    assert store.get_refund(rest.external_id).presentment_amount == Money.of("62.05", "GBP")
    refunds = [store.get_refund(r.id) for r in order_named(store, "#1901").refunds]
    assert sum(r.presentment_amount.amount for r in refunds) == Decimal("124.10")


def test_an_amount_in_the_customers_currency_is_taken_as_is_and_a_third_currency_is_refused():
    store = opened(eur())
    with pytest.raises(IntegrationError, match="neither order #1901's shop currency .EUR. nor what the customer paid in .GBP."):
        store.refund_return(MULTI, amount=Money.of("145.00", "USD"), notify_customer=False, idempotency_key="usd")
    result = store.refund_return(MULTI, amount=Money.of("124.10", "GBP"), notify_customer=False, idempotency_key="gbp")
    refund = store.get_refund(result.external_id)
    assert (refund.amount, refund.presentment_amount) == (Money.of("145.00", "EUR"), Money.of("124.10", "GBP"))


def test_a_single_currency_order_still_refuses_another_currency():
    store = eur()
    ret = next(r for r in (store.get_return(e.resource_id) for e in store.poll_requested_returns(None).events)
               if order_named(store, "#1041").id == r.order_id)
    opened(store, ret.id)
    with pytest.raises(IntegrationError, match="does not match order #1041 .EUR."):
        store.refund_return(ret.id, amount=Money.of(ret.amount.amount, "GBP"), notify_customer=False,
                            idempotency_key="gbp")


def test_a_multi_currency_order_without_its_charged_prices_is_refused(tmp_path):
    import json
    from importlib import resources

    data = derive(json.loads(resources.files("integrations.sample").joinpath("sample_store.json").read_text()), "eur")
    [o] = [o for o in data["orders"] if o["name"] == "#1901"]
    o["presentment_total"] = "120.00"
    with pytest.raises(SampleDataError, match="charged 120.00 but items . shipping come to 124.10"):
        SampleStore(data, now=NOW)
    del o["line_items"][0]["presentment_unit_price"]
    with pytest.raises(SampleDataError, match="every price needs its GBP amount"):
        SampleStore(data, now=NOW)


# --- yen: zero decimals ---------------------------------------------------------------------------


def test_the_jpy_shop_prices_in_whole_yen():
    store = SampleStore.load(now=NOW, variant="jpy")
    assert store.shop_facts().currency == "JPY" and store.shop_facts().timezone == "Asia/Tokyo"
    pants = order_named(store, "#1001")
    assert pants.total == Money.of("10600", "JPY") and pants.total.to_minor() == 10600
    assert pants.total.format() == "¥10,600"
    with pytest.raises(ValueError, match="more decimals than the currency allows"):
        Money.of("12.5", "JPY").to_minor()


def test_a_jpy_refund_is_exact():
    store = SampleStore.load(now=NOW, clock=StepClock(), variant="jpy")
    ret = next(store.get_return(e.resource_id) for e in store.poll_requested_returns(None).events
               if store.get_return(e.resource_id).order_id == order_named(store, "#1041").id)
    opened(store, ret.id)
    result = store.refund_return(ret.id, amount=ret.amount, notify_customer=False, idempotency_key="yen")
    assert result.summary == f"refund {ret.amount} issued" and "." not in ret.amount.format()
    assert store.get_refund(result.external_id).amount.to_minor() == int(ret.amount.amount)
