"""The sample store's shipment remedies beyond the contract suite: a shipping refund on an
order paid in another currency goes back in that currency, to the cent, and each call is
recorded (a repeat as a replay)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal
from importlib import resources

from integrations.sample.store import SampleStore
from integrations.sample.variants import derive
from policy.models import Money

NOW = datetime(2026, 11, 2, 14, 0, tzinfo=timezone.utc)


def _gbp_order_with_shipping() -> tuple[SampleStore, str]:
    data = derive(json.loads(resources.files("integrations.sample").joinpath("sample_store.json").read_text()), "eur")
    o = next(o for o in data["orders"] if o.get("presentment_currency") == "GBP")
    o["shipping"], o["total"] = "5.00", str(Decimal(o["total"]) + Decimal("5.00"))
    o["presentment_shipping"] = "4.28"
    o["presentment_total"] = str(Decimal(o["presentment_total"]) + Decimal("4.28"))
    o["shipments"][0]["status"] = "IN_TRANSIT"
    o["shipments"][0]["delivered_days_ago"] = None
    return SampleStore(data, now=NOW), o["id"]


def test_a_shipping_refund_goes_back_in_the_currency_paid_and_the_last_of_it_exactly():
    store, order = _gbp_order_with_shipping()
    store.refund_shipping(order, amount=Money.of("2.00", "EUR"), notify_customer=False, idempotency_key="a")
    store.refund_shipping(order, amount=None, notify_customer=False, idempotency_key="b")
    store.refund_shipping(order, amount=None, notify_customer=False, idempotency_key="b")  # a repeat
    refunds = store.get_order(order).refunds[-2:]
    assert [r.amount for r in refunds] == [Money.of("2.00", "EUR"), Money.of("3.00", "EUR")]
    assert [r.presentment_amount for r in refunds] == [Money.of("1.71", "GBP"), Money.of("2.57", "GBP")]
    assert store.shipping_left(order) == Money.of("0.00", "EUR")
    assert [(c.method, c.replayed) for c in store.calls] == [("refund_shipping", False)] * 2 + [("refund_shipping", True)]


def test_a_reship_is_a_zero_priced_order_readable_like_any_other():
    store, order = _gbp_order_with_shipping()
    made = store.reship_order(order, note="lost", idempotency_key="r")
    replacement = store.get_order(made.external_id)
    assert replacement.total == Money.of("0.00", "EUR") and "returnsbot-reship" in replacement.tags
    assert [li.title for li in replacement.line_items] == [li.title for li in store.get_order(order).line_items]
    assert store.replacements_of(order) == [made.external_id]
