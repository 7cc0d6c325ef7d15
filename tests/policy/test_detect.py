"""Each signal: fires at its boundary, stays quiet just inside it, and explains itself."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from policy.detect import detect
from policy.models import CaseKind, DeliveryStatus, Money, ReturnStatus, RiskLevel, SignalCode

from tests.policy.factories import (
    DELIVERED_AT,
    NOW,
    ORDERED_AT,
    ctx_of,
    customer,
    delivered,
    dispute,
    history,
    line_item,
    order,
    past_return,
    policy,
    refund,
    return_ctx,
    return_item,
    risk,
    shipment,
)

S = SignalCode
THIS_RETURN = "gid://shopify/Return/1"  # the id of the return the factories build


def codes(ctx, p=None):
    return [s.code for s in detect(ctx, p or policy())]


def signal(ctx, code, p=None):
    found = [s for s in detect(ctx, p or policy()) if s.code == code]
    assert len(found) == 1, f"{code} did not fire"
    return found[0]


def test_a_clean_return_has_no_signals():
    assert detect(return_ctx(), policy()) == ()


def test_signals_come_in_code_order_with_their_weights():
    ctx = return_ctx(
        return_item(price="600.00", tags=("final-sale",)),
        requested_at=DELIVERED_AT + timedelta(days=31),
        customer=customer(tags=("VIP",)),
        order=order(received="1000.00"),
    )
    found = detect(ctx, policy())
    assert [(s.code, s.weight) for s in found] == [
        (S.OUTSIDE_WINDOW, 25), (S.HIGH_VALUE, 20), (S.FINAL_SALE, 20), (S.VIP_CUSTOMER, -15),
    ]


def test_weights_come_from_the_policy():
    p = policy("[risk.weights]\nhigh_value = 7\n")
    assert signal(return_ctx(return_item(price="500.00")), S.HIGH_VALUE, p).weight == 7


# --- outside window -----------------------------------------------------------------------


def test_requested_on_the_last_day_of_the_window_is_inside():
    assert codes(return_ctx(requested_at=DELIVERED_AT + timedelta(days=30))) == []


def test_requested_the_day_after_the_window_is_outside():
    s = signal(return_ctx(requested_at=DELIVERED_AT + timedelta(days=31)), S.OUTSIDE_WINDOW)
    assert s.explanation == "Requested 31 days after delivery; window is 30 days"
    assert s.evidence["counted_from"] == "delivery"
    assert s.evidence["days"] == "31"
    assert s.evidence["window_days"] == "30"


def test_window_counts_calendar_days_in_the_store_time_zone():
    # Delivered 22:30 on 9 January in New York, which is already 10 January in UTC.
    # Requested on 9 February: 31 calendar days in New York, 30 in UTC.
    delivered_at = datetime(2025, 1, 10, 3, 30, tzinfo=timezone.utc)
    requested = datetime(2025, 2, 9, 15, 0, tzinfo=timezone.utc)
    ctx = return_ctx(requested_at=requested, order=order(shipments=(delivered(delivered_at),)))
    new_york = policy('[store]\ntimezone = "America/New_York"\n')
    assert signal(ctx, S.OUTSIDE_WINDOW, new_york).evidence["days"] == "31"
    assert S.OUTSIDE_WINDOW not in codes(ctx)  # the default time zone is UTC


def test_without_delivery_the_window_counts_from_fulfilment():
    shipped = shipment(DeliveryStatus.UNKNOWN, shipped_at=NOW - timedelta(days=41))
    s = signal(return_ctx(order=order(shipments=(shipped,))), S.OUTSIDE_WINDOW)
    assert s.explanation == "Requested 41 days after fulfilment; window is 30 days"


def test_without_any_shipment_the_window_counts_from_the_order_date():
    late = ORDERED_AT + timedelta(days=31)
    s = signal(return_ctx(requested_at=late, order=order(shipments=())), S.OUTSIDE_WINDOW)
    assert s.evidence["counted_from"] == "order date"
    assert s.evidence["counted_from_at"] == ORDERED_AT.isoformat()


def test_a_tag_override_extends_the_window_and_the_most_generous_wins():
    p = policy(
        "[[returns.window_overrides]]\ntag = \"extended-returns\"\nwindow_days = 60\n"
        "[[returns.window_overrides]]\ntag = \"holiday\"\nwindow_days = 45\n"
    )
    item = return_item(tags=("Extended-Returns", "holiday"))  # tags match case-insensitively
    assert codes(return_ctx(item, requested_at=DELIVERED_AT + timedelta(days=60)), p) == []
    late = return_ctx(item, requested_at=DELIVERED_AT + timedelta(days=61))
    assert codes(late, p) == [S.OUTSIDE_WINDOW]


def test_override_tags_are_also_read_from_the_order_line():
    p = policy("[[returns.window_overrides]]\ntag = \"extended-returns\"\nwindow_days = 60\n")
    o = order(items=(line_item(tags=("extended-returns",)),))
    assert codes(return_ctx(requested_at=DELIVERED_AT + timedelta(days=45), order=o), p) == []


def test_mixed_windows_name_the_late_items():
    p = policy("[[returns.window_overrides]]\ntag = \"extended-returns\"\nwindow_days = 60\n")
    ctx = return_ctx(
        return_item("li-1", "Linen Shirt"),
        return_item("li-2", "Wool Socks", tags=("extended-returns",)),
        requested_at=DELIVERED_AT + timedelta(days=40),
    )
    s = signal(ctx, S.OUTSIDE_WINDOW, p)
    assert s.explanation == "Requested 40 days after delivery; window is 30 days for 'Linen Shirt'"
    assert s.evidence["items"] == "Linen Shirt"


# --- high value ---------------------------------------------------------------------------


def test_high_value_fires_at_the_threshold_not_below():
    assert S.HIGH_VALUE not in codes(return_ctx(return_item(price="499.99")))
    s = signal(return_ctx(return_item(price="250.00", qty=2)), S.HIGH_VALUE)
    assert s.explanation == "$500.00 is at or above the $500.00 high-value threshold"


def test_high_value_in_another_currency_is_flagged_for_a_person():
    p = policy('[store]\ncurrency = "EUR"\n')
    s = signal(return_ctx(return_item(price="10.00")), S.HIGH_VALUE, p)
    assert "is in USD; the high-value threshold is in EUR" in s.explanation


def test_high_value_refund_uses_the_refund_amount():
    ctx = ctx_of(CaseKind.HIGH_VALUE_REFUND, refund=refund("500.00"), order=order(received="900.00"))
    assert codes(ctx) == [S.HIGH_VALUE]


# --- final sale ---------------------------------------------------------------------------


def test_final_sale_names_the_item_and_its_tag():
    ctx = return_ctx(return_item(title="Silk Scarf", tags=("Clearance",)))
    s = signal(ctx, S.FINAL_SALE)
    assert s.explanation == "Final sale: 'Silk Scarf' is tagged Clearance"
    assert s.evidence == {"items": "Silk Scarf", "tags": "Clearance"}


def test_final_sale_tag_on_the_order_line_counts():
    o = order(items=(line_item(tags=("final-sale",)),))
    assert codes(return_ctx(order=o)) == [S.FINAL_SALE]


def test_no_final_sale_without_the_tag():
    assert codes(return_ctx(return_item(tags=("final-salesman",)))) == []


# --- serial returner ----------------------------------------------------------------------


def test_serial_by_count_fires_at_min_returns():
    assert codes(return_ctx(history=history(returns=3, orders=20))) == []
    s = signal(return_ctx(history=history(returns=4, orders=20)), S.SERIAL_RETURNER)
    assert s.explanation == "4 returns in the last 365 days (rate 20%)"
    assert s.evidence["rule"] == "count"


def test_serial_by_rate_needs_enough_orders():
    # 2 of 4 orders = 50%: serial. 2 of 3 orders is a higher rate but too few orders.
    s = signal(return_ctx(history=history(returns=2, orders=4)), S.SERIAL_RETURNER)
    assert s.explanation == "2 returns in the last 365 days (rate 50%)"
    assert s.evidence["rule"] == "rate"
    assert codes(return_ctx(history=history(returns=2, orders=3))) == []


def test_serial_rate_just_below_the_threshold_does_not_fire():
    assert codes(return_ctx(history=history(returns=3, orders=7))) == []  # 42%


def test_canceled_returns_and_this_return_do_not_count():
    h = history(returns=3, orders=20)
    h = h.model_copy(update={"returns": h.returns + (
        past_return(7, ReturnStatus.CANCELED),
        past_return(8).model_copy(update={"return_id": THIS_RETURN}),
    )})
    assert codes(return_ctx(history=h)) == []


def test_declined_returns_count_towards_serial():
    assert codes(return_ctx(history=history(returns=4, orders=20, status=ReturnStatus.DECLINED))) == [
        S.SERIAL_RETURNER
    ]


def test_no_history_no_serial_signal():
    assert codes(return_ctx(history=None)) == []


# --- VIP ----------------------------------------------------------------------------------


def test_vip_by_tag_lowers_risk():
    s = signal(return_ctx(customer=customer(tags=("vip", "wholesale"))), S.VIP_CUSTOMER)
    assert s.weight == -15
    assert s.explanation == "VIP customer: tagged vip"


def test_vip_by_lifetime_spend_at_the_threshold():
    assert codes(return_ctx(customer=customer(spend="1999.99"))) == []
    s = signal(return_ctx(customer=customer(spend="2000.00")), S.VIP_CUSTOMER)
    assert s.explanation == "VIP customer: lifetime spend $2,000.00"


def test_lifetime_spend_in_another_currency_is_not_compared():
    assert codes(return_ctx(customer=customer(spend="9000.00", currency="EUR"))) == []


def test_no_customer_no_vip_signal():
    assert codes(return_ctx(customer=None)) == []


# --- payment risk -------------------------------------------------------------------------


def test_high_order_risk_fires_with_its_facts():
    s = signal(return_ctx(order=order(risk=risk())), S.HIGH_PAYMENT_RISK)
    assert s.explanation == "Shopify rates the payment risk HIGH: Billing address does not match"
    assert s.evidence == {
        "shopify.level": "HIGH",
        "shopify.score": "80",
        "shopify.facts": "Billing address does not match",
    }


def test_medium_risk_fires_only_when_the_policy_says_so():
    ctx = return_ctx(payments=(risk(RiskLevel.MEDIUM, source="stripe"),))
    assert codes(ctx) == []
    p = policy('[risk]\nhigh_payment_risk_levels = ["MEDIUM", "HIGH"]\n')
    assert signal(ctx, S.HIGH_PAYMENT_RISK, p).evidence["stripe.level"] == "MEDIUM"


def test_payment_risk_from_several_sources_is_all_evidence():
    ctx = return_ctx(order=order(risk=risk()), payments=(risk(source="stripe", facts=()),))
    s = signal(ctx, S.HIGH_PAYMENT_RISK)
    assert s.explanation.endswith("(and 1 more)")
    assert s.evidence["stripe.level"] == "HIGH"


# --- disputes -----------------------------------------------------------------------------


def test_open_dispute_fires_and_closed_ones_do_not():
    assert codes(return_ctx(open_disputes=(dispute(status="WON"),))) == []
    s = signal(return_ctx(open_disputes=(dispute(),)), S.OPEN_DISPUTE)
    assert s.explanation == "Open dispute for $149.00 (NEEDS_RESPONSE, FRAUDULENT)"
    assert s.evidence["disputes"] == "dp-1"


def test_a_dispute_case_is_its_own_open_dispute():
    ctx = ctx_of(CaseKind.DISPUTE, dispute=dispute(), open_disputes=(dispute(),))  # same id once
    assert codes(ctx) == [S.OPEN_DISPUTE]


# --- not delivered ------------------------------------------------------------------------


def test_in_transit_is_not_delivered():
    o = order(shipments=(shipment(DeliveryStatus.IN_TRANSIT, carrier="UPS", tracking="1Z999"),))
    s = signal(return_ctx(order=o), S.NOT_DELIVERED)
    assert s.explanation == "Not delivered: shipment in transit with UPS (1Z999)"


def test_unfulfilled_order_is_not_delivered():
    s = signal(return_ctx(order=order(shipments=())), S.NOT_DELIVERED)
    assert s.explanation == "Nothing has shipped: the order is unfulfilled"


def test_one_delivered_shipment_is_enough():
    o = order(shipments=(delivered(), shipment(DeliveryStatus.IN_TRANSIT, id="ship-2")))
    assert codes(return_ctx(order=o)) == []


def test_unknown_tracking_is_no_evidence_of_non_delivery():
    o = order(shipments=(shipment(DeliveryStatus.UNKNOWN, shipped_at=NOW - timedelta(days=5)),))
    assert codes(return_ctx(order=o)) == []


def test_a_later_delivery_update_overrides_the_order_shipment():
    # ShipStation reports the same shipment (same id) as delivered.
    o = order(shipments=(shipment(DeliveryStatus.IN_TRANSIT),))
    assert codes(return_ctx(order=o, shipments=(delivered(),))) == []


# --- refund exceeds paid ------------------------------------------------------------------


def test_refund_up_to_what_is_left_is_fine():
    # $149 received, $100 refunded: $49 left, the return asks for exactly $49.
    assert codes(return_ctx(order=order(received="149.00", refunded="100.00"))) == []


def test_refund_one_cent_over_what_is_left_fires():
    s = signal(return_ctx(order=order(received="149.00", refunded="100.01")), S.REFUND_EXCEEDS_PAID)
    assert s.explanation == (
        "$49.00 requested but only $48.99 is left to refund ($149.00 received, $100.01 already refunded)"
    )
    assert s.evidence["left"] == "$48.99"


def test_a_refund_already_made_is_not_counted_twice():
    done = refund("600.00")
    o = order(received="600.00", refunded="600.00", refunds=(done,))
    ctx = ctx_of(CaseKind.HIGH_VALUE_REFUND, refund=done, order=o)
    assert S.REFUND_EXCEEDS_PAID not in codes(ctx)
    twice = ctx_of(CaseKind.HIGH_VALUE_REFUND, refund=refund("600.00", id="rf-2"), order=o)
    assert S.REFUND_EXCEEDS_PAID in codes(twice)


def test_refund_in_another_currency_cannot_be_checked_and_fires():
    paid_in_euros = {"received": Money.of("149.00", "EUR"), "refunded": Money.of("0", "EUR")}
    o = order().model_copy(update=paid_in_euros)
    s = signal(return_ctx(order=o), S.REFUND_EXCEEDS_PAID)
    assert s.explanation.endswith("different currencies")


# --- repeat claim -------------------------------------------------------------------------


def test_another_open_return_on_the_order_is_a_repeat_claim():
    prior = past_return(1, ReturnStatus.APPROVED, amount="40.00", order_id="gid://shopify/Order/1001")
    s = signal(return_ctx(prior_returns_on_order=(prior,)), S.REPEAT_CLAIM)
    assert s.explanation == "1 other return already filed on this order (APPROVED $40.00)"


def test_declined_canceled_and_this_return_are_not_repeat_claims():
    this = past_return(1, ReturnStatus.REQUESTED).model_copy(update={"return_id": THIS_RETURN})
    prior = (past_return(2, ReturnStatus.DECLINED), past_return(3, ReturnStatus.CANCELED), this)
    assert codes(return_ctx(prior_returns_on_order=prior)) == []


# --- which signals each kind evaluates --------------------------------------------------------


def test_order_review_ignores_return_only_signals():
    # Unfulfilled and old: a return would be outside window and not delivered; an order is not.
    o = order(shipments=(), items=(line_item(tags=("final-sale",)),))
    ctx = ctx_of(CaseKind.ORDER_REVIEW, order=o, now=NOW + timedelta(days=90))
    assert codes(ctx) == []


def test_dispute_checks_delivery_and_repeat_claims():
    prior = past_return(1, ReturnStatus.CLOSED, order_id="gid://shopify/Order/1001")
    ctx = ctx_of(
        CaseKind.DISPUTE, dispute=dispute(), order=order(shipments=()), prior_returns_on_order=(prior,)
    )
    assert codes(ctx) == [S.OPEN_DISPUTE, S.NOT_DELIVERED, S.REPEAT_CLAIM]


def test_return_kind_without_a_return_request_does_not_crash():
    ctx = return_ctx(return_request=None, customer=None, history=None)
    assert codes(ctx) == []
