from __future__ import annotations

from blocks.ids import ActionId, BlockId, CallbackId, OptionValue


def test_the_ids_handlers_register_on() -> None:
    assert ActionId.CASE_APPROVE == "case-approve"
    assert ActionId.CASE_DENY == "case-deny"
    assert ActionId.CASE_ESCALATE == "case-escalate"
    assert ActionId.CASE_RETRY == "case-retry"
    assert CallbackId.DENY_MODAL == "case-deny-modal"
    assert CallbackId.ESCALATE_MODAL == "case-escalate-modal"


def test_ids_are_unique_and_within_slack_limits() -> None:
    values = [m.value for enum in (ActionId, BlockId, CallbackId, OptionValue) for m in enum]
    assert len(values) == len(set(values))
    assert all(0 < len(v) <= 255 for v in values)
