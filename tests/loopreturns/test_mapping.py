"""Loop's return → LoopReturn → ReturnRequest, leniently: ids as str or int, money strings,
extra fields, `needs review` == `review`; outcomes per line; the Shopify gids that make one
case per return across systems; clear errors for what cannot be read."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from integrations.loop import mapping
from integrations.loop.mapping import LoopState
from policy.models import CaseContext, CaseKind, ReturnOutcome, ReturnStatus

EXAMPLE = json.loads((Path(__file__).parent / "data" / "return-webhook-example.synthetic.json").read_text())


def body(**over):
    return {**json.loads(json.dumps(EXAMPLE)), **over}


def test_the_reference_example_maps():
    ret = mapping.loop_return(EXAMPLE)
    assert (ret.id, ret.state, ret.flagged, ret.currency, ret.provider_order_id) == ("1673", LoopState.OPEN, False,
                                                                                      "USD", "58997314")
    assert ret.totals["refund"].amount == Decimal("47.50") and ret.totals["refund"].currency == "USD"
    assert (ret.label.status, ret.label.carrier, ret.label.tracking_number) == ("new", "USPS", "9400100000000000000000")
    assert ret.status_page_url.startswith("https://example.loopreturns.com/")
    (line,) = ret.lines
    assert line.outcome is ReturnOutcome.REFUND and line.provider_line_item_id == "5896375795809"
    assert (ret.external_id, ret.admin_url) == ("loop:1673", "https://admin.loopreturns.com/returns/1673")


def test_the_domain_return_uses_shopify_gids_so_it_correlates():
    request = mapping.return_request(mapping.loop_return(EXAMPLE))
    assert request.id == "loop:1673" and request.order_id == "gid://shopify/Order/58997314"
    assert request.status is ReturnStatus.APPROVED  # open in Loop: Loop accepted it
    (item,) = request.line_items
    assert item.line_item_id == "gid://shopify/LineItem/5896375795809" and item.quantity == 1
    assert item.unit_price.amount == Decimal("45.00")  # price less discount, before tax
    assert (item.reason, item.reason_note) == ("SIZE_TOO_SMALL", "Didn't fit / Too small")
    assert item.requested_outcome is ReturnOutcome.REFUND and request.status_page_url == EXAMPLE["status_page_url"]
    key = f"return:gid://shopify/Order/58997314:gid://shopify/LineItem/5896375795809x1"
    assert CaseContext.model_construct(kind=CaseKind.RETURN_REQUEST, return_request=request,
                                       order=type("O", (), {"id": request.order_id})()).correlation_key == key


def test_ids_as_integers_and_strings_alike_and_extra_fields_ignored():
    a = mapping.loop_return(EXAMPLE)
    b = mapping.loop_return(body(id=1673, provider_order_id=58997314, something_new={"x": [1]},
                                 line_items=[{**EXAMPLE["line_items"][0], "provider_line_item_id": 5896375795809,
                                              "line_item_id": 123456789, "brand_new": True}]))
    assert mapping.return_request(a) == mapping.return_request(b)


@pytest.mark.parametrize("text, state", [("needs review", LoopState.REVIEW), ("review", LoopState.REVIEW),
                                         ("Needs Review", LoopState.REVIEW), ("cancelled", LoopState.CANCELLED),
                                         ("expired", LoopState.EXPIRED), ("closed", LoopState.CLOSED)])
def test_states_both_spellings_of_review(text, state):
    assert mapping.loop_return(body(state=text)).state is state


def test_a_return_in_review_is_a_request_and_flagged_is_read():
    ret = mapping.loop_return(body(state="review", flagged=True))
    assert ret.flagged and mapping.return_request(ret).status is ReturnStatus.REQUESTED


def test_outcomes_per_line_exchange_with_the_chosen_variant_store_credit_keep():
    line = EXAMPLE["line_items"][0]
    ret = mapping.loop_return(body(
        exchange_total="45.00", refund="0.00",
        exchanges=[{"exchange_id": 1, "variant_id": 32725922578530, "title": "Example Tee - L / Blue", "price": "50.00"}],
        line_items=[{**line, "exchange_variant": "", "outcome": "default"},  # default + exchange_total > 0
                    {**line, "line_item_id": "2", "provider_line_item_id": "77", "outcome": "gift_card"},
                    {**line, "line_item_id": "3", "provider_line_item_id": "78", "outcome": "keep_item"}]))
    exchange, credit, keep = ret.lines
    assert exchange.outcome is ReturnOutcome.EXCHANGE
    assert credit.outcome is ReturnOutcome.STORE_CREDIT and keep.outcome is ReturnOutcome.KEEP
    ret = mapping.loop_return(body(exchanges=[{"variant_id": "32725922578530", "title": "Example Tee - L / Blue"}],
                                   line_items=[{**line, "exchange_variant": "Example Tee - L / Blue"}]))
    (line_out,) = ret.lines
    assert (line_out.outcome, line_out.exchange_title, line_out.exchange_variant_id) == (
        ReturnOutcome.EXCHANGE, "Example Tee - L / Blue", "32725922578530")
    assert mapping.return_request(ret).line_items[0].exchange_for == "Example Tee - L / Blue"


def test_default_outcome_from_the_totals_store_credit():
    ret = mapping.loop_return(body(gift_card="47.50", refund="0.00"))
    assert ret.lines[0].outcome is ReturnOutcome.STORE_CREDIT


def test_units_of_one_shopify_line_are_one_line_with_their_quantity():
    line = EXAMPLE["line_items"][0]
    ret = mapping.loop_return(body(line_items=[line, {**line, "line_item_id": "123456790"}]))
    (item,) = mapping.return_request(ret).line_items
    assert item.quantity == 2 and item.id == "123456789"


def test_na_label_fields_are_none_and_label_falls_back_to_labels():
    ret = mapping.loop_return(body(carrier="N/A", tracking_number="N/A", label_status="N/A", labels=[]))
    assert (ret.label.status, ret.label.carrier, ret.label.tracking_number) == (None, None, None)
    ret = mapping.loop_return(body(carrier="N/A", tracking_number="N/A", label_status=None))
    assert ret.label.tracking_number == "9400100000000000000000" and ret.label.status == "new"


def test_times_without_a_zone_are_utc():
    ret = mapping.loop_return(body(created_at="2023-05-01 12:00:00"))
    assert ret.created_at.isoformat() == "2023-05-01T12:00:00+00:00"


def test_closed_with_refunds_or_an_exchange_order_was_fulfilled():
    assert not mapping.loop_return(body(state="closed")).fulfilled
    assert mapping.loop_return(body(state="closed", refunds=[{"amount": "47.50", "currency": "USD"}])).fulfilled
    assert mapping.loop_return(body(state="closed", exchange_order_id=4455)).fulfilled


@pytest.mark.parametrize("over, error", [
    ({"id": None}, "id is required"), ({"id": "12a"}, "not a numeric id"), ({"state": "limbo"}, "unknown Loop return state"),
    ({"currency": None}, "currency"), ({"line_items": []}, "at least one line"), ({"refund": 47.5}, "not a money string"),
    ({"total": "forty"}, "not an amount"), ({"provider_order_id": None}, "provider_order_id is required"),
    ({"created_at": "yesterday"}, "not a time"),
])
def test_what_cannot_be_read_is_a_clear_error(over, error):
    with pytest.raises(ValueError, match=error):
        mapping.loop_return(body(**over))


def test_external_ids_round_trip():
    assert mapping.return_id_of(mapping.external_id(1673)) == "1673"
    with pytest.raises(ValueError):
        mapping.return_id_of("gid://shopify/Return/1")
