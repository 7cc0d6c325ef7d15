"""The follow-up decision from the card: buttons, the partial-refund and no-refund modals,
tiers and the card's version — calling core's `decide_followup` (a counting fake here until
core's lifecycle service is on this branch)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from blocks.ids import ActionId, BlockId, CallbackId
from policy.models import Money
from tests.loop.harness import T1, T2A
from tests.slack.dispatch import app_for, body_json


class FakeDecideFollowup:
    def __init__(self) -> None:
        self.calls: list[dict] = []

    def __call__(self, case_id: int, **kw):
        self.calls.append({"case_id": case_id, **kw})
        return object()


@pytest.fixture
def h(database_url):
    with app_for(database_url) as harness:
        harness.fake = FakeDecideFollowup()
        harness.services.clicks.followups._decide_followup = harness.fake
        yield harness


def with_followup(h, case, **overrides):
    """The case as core leaves it after an exception at receipt (status open, `followup` set)."""
    currency = h.c.policy.shop_currency
    followup = {"reason": "missing", "summary": "1 of 2 items missing", "recommended": "partial_refund",
                "suggested_amount": "32.25", "currency": currency, "refundable": "64.50",
                "opened_at": "2026-11-02T14:00:00+00:00", **overrides}
    repo = h.c.cases
    real_get = repo.get

    def get(case_id):
        found = real_get(case_id)
        return replace(found, followup=followup) if found is not None and found.id == case.id else found

    repo.get = get  # the column is core's (migration 0007); the record is what the handlers read
    return repo.get(case.id)


def amount_state(text: str) -> dict:
    return {BlockId.FOLLOWUP_AMOUNT: {ActionId.FOLLOWUP_AMOUNT: {"type": "plain_text_input", "value": text}}}


def message_state(text: str) -> dict:
    return {BlockId.FOLLOWUP_MESSAGE: {ActionId.FOLLOWUP_MESSAGE: {"type": "plain_text_input", "value": text}}}


def test_refund_anyway_and_store_credit_buttons_decide_after_the_ack(h) -> None:
    case = with_followup(h, h.open_case("#1045"))  # tier 1
    assert h.click(case, ActionId.FOLLOWUP_REFUND, T1).status == 200
    assert h.fake.calls == []  # nothing decided before the ack
    h.run_background()
    assert h.fake.calls == [{"case_id": case.id, "choice": "refund", "amount": None, "message": None,
                             "actor": T1, "version": case.version}]


def test_a_user_below_the_tier_is_refused(h) -> None:
    case = with_followup(h, h.open_case("#1034"))  # tier 2
    h.click(case, ActionId.FOLLOWUP_CREDIT, T1)
    h.run_background()
    assert h.fake.calls == []
    [msg] = h.ephemerals_to(T1)
    assert "needs tier 2" in msg


def test_an_old_card_is_refused(h) -> None:
    case = with_followup(h, h.open_case("#1045"))
    h.click(case, ActionId.FOLLOWUP_REFUND, T1, version=case.version - 1)
    h.run_background()
    assert h.fake.calls == []


def test_no_followup_no_decision(h) -> None:
    case = h.open_case("#1045")
    h.click(case, ActionId.FOLLOWUP_REFUND, T1)
    h.run_background()
    assert h.fake.calls == []
    assert "decided already" in h.ephemerals_to(T1)[0]


@pytest.mark.parametrize("typed, error", [
    ("0", "more than zero"),
    ("-5", "more than zero"),
    ("abc", "Enter an amount"),
    ("64.51", "At most"),
    ("10.001", "decimals"),
    ("10 SEK", "shop's currency"),
])
def test_partial_refund_modal_shows_validation_errors(h, typed: str, error: str) -> None:
    case = with_followup(h, h.open_case("#1045"))
    assert h.click(case, ActionId.FOLLOWUP_PARTIAL, T1).status == 200
    view = h.opened_view()
    assert view["callback_id"] == CallbackId.FOLLOWUP_PARTIAL_MODAL
    resp = h.submit(CallbackId.FOLLOWUP_PARTIAL_MODAL, amount_state(typed), T1)
    body = body_json(resp)
    assert body["response_action"] == "errors"
    assert error in body["errors"][BlockId.FOLLOWUP_AMOUNT]
    h.run_background()
    assert h.fake.calls == []


def test_partial_refund_within_what_is_left_is_carried_out(h) -> None:
    case = with_followup(h, h.open_case("#1045"))
    currency = h.c.policy.shop_currency
    h.click(case, ActionId.FOLLOWUP_PARTIAL, T1)
    amount_input = [b for b in h.opened_view()["blocks"] if b.get("block_id") == BlockId.FOLLOWUP_AMOUNT][0]
    assert amount_input["element"]["initial_value"] == "32.25"  # the recommendation
    resp = h.submit(CallbackId.FOLLOWUP_PARTIAL_MODAL, amount_state("10.50"), T1)
    assert "response_action" not in body_json(resp)
    h.run_background()
    [call] = h.fake.calls
    assert call["choice"] == "partial_refund" and call["amount"] == Money.of("10.50", currency)


def test_a_modal_opened_for_someone_else_is_refused(h) -> None:
    case = with_followup(h, h.open_case("#1034"))
    h.click(case, ActionId.FOLLOWUP_PARTIAL, T2A)
    resp = h.submit(CallbackId.FOLLOWUP_PARTIAL_MODAL, amount_state("10"), T1)
    assert "doesn't match" in body_json(resp)["errors"][BlockId.FOLLOWUP_AMOUNT]


def test_no_refund_needs_a_message_of_at_most_500(h) -> None:
    case = with_followup(h, h.open_case("#1045"))
    h.click(case, ActionId.FOLLOWUP_NO_REFUND, T1)
    assert h.opened_view()["callback_id"] == CallbackId.FOLLOWUP_NO_REFUND_MODAL
    resp = h.submit(CallbackId.FOLLOWUP_NO_REFUND_MODAL, message_state("x" * 501), T1)
    assert "At most 500" in body_json(resp)["errors"][BlockId.FOLLOWUP_MESSAGE]
    resp = h.submit(CallbackId.FOLLOWUP_NO_REFUND_MODAL, message_state("The item came back used."), T1)
    assert "response_action" not in body_json(resp)
    h.run_background()
    [call] = h.fake.calls
    assert call["choice"] == "no_refund" and call["message"] == "The item came back used."


@pytest.mark.parametrize("action_id", [ActionId.FOLLOWUP_PARTIAL, ActionId.FOLLOWUP_NO_REFUND])
def test_an_exchange_out_of_stock_opens_no_partial_or_no_refund_modal(h, action_id) -> None:
    case = with_followup(h, h.open_case("#1045"), reason="exchange_out_of_stock", recommended="store_credit",
                         summary="Merino sweater — M is out of stock")
    assert h.click(case, action_id, T1).status == 200
    h.run_background()
    assert h.slack.calls_to("views.open") == []
    assert h.fake.calls == []
    [msg] = h.ephemerals_to(T1)
    assert "refund or store credit only" in msg


def test_an_exchange_out_of_stock_takes_store_credit(h) -> None:
    case = with_followup(h, h.open_case("#1045"), reason="exchange_out_of_stock", recommended="store_credit")
    h.click(case, ActionId.FOLLOWUP_CREDIT, T1)
    h.run_background()
    assert [c["choice"] for c in h.fake.calls] == ["store_credit"]
