from __future__ import annotations

from typing import Any

import pytest

from blocks.ids import ActionId, BlockId, CallbackId, OptionValue
from blocks.modals import (
    DenyForm,
    EscalateForm,
    deny_modal,
    escalate_modal,
    parse_deny_submission,
    parse_escalate_submission,
    validate_deny,
    validate_escalate,
)
from blocks.refs import CaseRef
from blocks.views import DeclineReason
from policy.models import CaseStatus, SignalCode
from tests.blocks.limits import all_strings, block_texts, check_limits
from tests.blocks.sample import RAW, case_view, huge_view, injected_view, signal


def inputs(payload: dict) -> dict[str, dict]:
    return {b["block_id"]: b for b in payload["blocks"] if b["type"] == "input"}


# --- what Slack sends back: view.state.values, shaped like a real view_submission ------------


def deny_state(
    reason: str | None = "FINAL_SALE",
    message: str | None = None,
    notify: bool = True,
    note: str | None = None,
) -> dict[str, Any]:
    option = {"text": {"type": "plain_text", "text": "x", "emoji": True}, "value": OptionValue.NOTIFY_CUSTOMER.value}
    return {
        "values": {
            BlockId.DENY_REASON.value: {
                ActionId.DENY_REASON.value: {
                    "type": "static_select",
                    "selected_option": None if reason is None else {"text": {"type": "plain_text", "text": "x"}, "value": reason},
                }
            },
            BlockId.DENY_CUSTOMER_MESSAGE.value: {
                ActionId.DENY_CUSTOMER_MESSAGE.value: {"type": "plain_text_input", "value": message}
            },
            BlockId.DENY_NOTIFY.value: {
                ActionId.DENY_NOTIFY.value: {"type": "checkboxes", "selected_options": [option] if notify else []}
            },
            BlockId.DENY_INTERNAL_NOTE.value: {ActionId.DENY_INTERNAL_NOTE.value: {"type": "plain_text_input", "value": note}},
        }
    }


def escalate_state(note: str | None) -> dict[str, Any]:
    return {"values": {BlockId.ESCALATE_NOTE.value: {ActionId.ESCALATE_NOTE.value: {"type": "plain_text_input", "value": note}}}}


# --- deny modal ---------------------------------------------------------------------------


def test_deny_modal_shape() -> None:
    payload = deny_modal(case_view())
    check_limits(payload)
    assert payload["type"] == "modal"
    assert payload["callback_id"] == CallbackId.DENY_MODAL
    assert CaseRef.parse(payload["private_metadata"]) == CaseRef(case_id=42, version=3)
    assert payload["title"]["text"] == "Deny return request"
    assert payload["submit"]["text"] == "Deny"
    assert "Deny *Return request · #1001 · $149.00*\nReturn #1001-R1\nCustomer: Jane Doe" in block_texts(payload)

    found = inputs(payload)
    assert list(found) == [BlockId.DENY_REASON, BlockId.DENY_CUSTOMER_MESSAGE, BlockId.DENY_NOTIFY, BlockId.DENY_INTERNAL_NOTE]
    select = found[BlockId.DENY_REASON]["element"]
    assert select["type"] == "static_select" and select["action_id"] == ActionId.DENY_REASON
    assert [(o["value"], o["text"]["text"]) for o in select["options"]] == [
        ("OUTSIDE_WINDOW", "Return period ended"),
        ("FINAL_SALE", "Final sale item"),
        ("OTHER", "Other reason"),
    ]
    assert found[BlockId.DENY_REASON].get("optional", False) is False

    message = found[BlockId.DENY_CUSTOMER_MESSAGE]
    assert message["optional"] is True
    assert message["element"]["max_length"] == 500
    assert message["element"]["multiline"] is True

    notify = found[BlockId.DENY_NOTIFY]
    assert notify["optional"] is True  # so it can be unticked
    assert notify["element"]["initial_options"] == notify["element"]["options"]  # ticked by default
    assert notify["element"]["options"][0]["text"]["text"] == "Notify the customer by email"

    note = found[BlockId.DENY_INTERNAL_NOTE]
    assert note["optional"] is True and note["element"]["multiline"] is True


@pytest.mark.parametrize(
    ("codes", "expected"),
    [
        ((SignalCode.OUTSIDE_WINDOW,), DeclineReason.OUTSIDE_WINDOW),
        ((SignalCode.FINAL_SALE,), DeclineReason.FINAL_SALE),
        ((SignalCode.OUTSIDE_WINDOW, SignalCode.FINAL_SALE), DeclineReason.OUTSIDE_WINDOW),
        ((SignalCode.SERIAL_RETURNER,), None),
        ((), None),
    ],
)
def test_deny_reason_is_preselected_from_the_signals(codes, expected) -> None:
    payload = deny_modal(case_view(signals=tuple(signal(c) for c in codes)))
    check_limits(payload)
    block = inputs(payload)[BlockId.DENY_REASON]
    if expected is None:
        assert "initial_option" not in block["element"]
        assert "hint" not in block
    else:
        assert block["element"]["initial_option"]["value"] == expected.value
        assert block["hint"]["text"].startswith("Pre-selected from the signals: ")


def test_deny_modal_shows_the_signals_behind_the_preselection() -> None:
    view = case_view(signals=(signal(SignalCode.FINAL_SALE, 40, "“Trail Jacket” is tagged final-sale"),))
    assert "*final sale* — “Trail Jacket” is tagged final-sale" in block_texts(deny_modal(view))


def test_deny_modal_with_huge_and_hostile_input() -> None:
    check_limits(deny_modal(huge_view()))
    payload = deny_modal(injected_view())
    check_limits(payload)
    for s in all_strings(payload):
        assert not any(raw in s for raw in RAW), s


def test_parse_deny_submission() -> None:
    form = parse_deny_submission(deny_state("FINAL_SALE", "  Sorry, final sale items can't be returned.  ", True, "Tagged final sale"))
    assert form == DenyForm(
        reason=DeclineReason.FINAL_SALE,
        customer_message="Sorry, final sale items can't be returned.",
        notify_customer=True,
        internal_note="Tagged final sale",
    )
    assert validate_deny(form) == {}


def test_parse_accepts_the_whole_view_or_just_the_values() -> None:
    state = deny_state("OTHER", None, False, None)
    expected = DenyForm(reason=DeclineReason.OTHER, customer_message=None, notify_customer=False, internal_note=None)
    assert parse_deny_submission(state) == expected
    assert parse_deny_submission({"state": state, "callback_id": "case-deny-modal"}) == expected
    assert parse_deny_submission(state["values"]) == expected


def test_parse_survives_missing_and_odd_values() -> None:
    assert parse_deny_submission({}) == DenyForm(reason=None, customer_message=None, notify_customer=False, internal_note=None)
    form = parse_deny_submission(deny_state("NOT_A_REASON", "   ", True, ""))
    assert form.reason is None and form.customer_message is None and form.internal_note is None


def test_deny_validation_errors_name_the_block() -> None:
    assert validate_deny(parse_deny_submission(deny_state(reason=None))) == {
        "deny-reason": "Choose why the return is declined."
    }
    too_long = parse_deny_submission(deny_state(message="x" * 501))
    assert validate_deny(too_long) == {
        "deny-customer-message": "Shopify sends at most 500 characters; this message has 501."
    }
    assert validate_deny(parse_deny_submission(deny_state(message="x" * 500))) == {}
    unsent = parse_deny_submission(deny_state(message="Sorry!", notify=False))
    assert validate_deny(unsent) == {
        "deny-customer-message": "The customer only gets this message when “Notify the customer” is ticked: tick it or clear the message."
    }
    long_note = parse_deny_submission(deny_state(note="n" * 3001))
    assert validate_deny(long_note) == {"deny-internal-note": "Keep the note to 3000 characters (it has 3001)."}


def test_notify_without_a_message_is_allowed() -> None:
    # Shopify then sends its standard decline email.
    assert validate_deny(parse_deny_submission(deny_state(message=None, notify=True))) == {}
    assert validate_deny(parse_deny_submission(deny_state(message=None, notify=False))) == {}


def test_errors_are_ready_for_response_action() -> None:
    errors = validate_deny(parse_deny_submission(deny_state(reason=None, message="x" * 600)))
    response = {"response_action": "errors", "errors": errors}
    assert set(response["errors"]) == {"deny-reason", "deny-customer-message"}
    assert all(type(k) is str for k in errors)
    assert set(errors) <= set(inputs(deny_modal(case_view())))


# --- escalate modal -----------------------------------------------------------------------


def test_escalate_modal_shape() -> None:
    payload = escalate_modal(case_view(next_tier_label="Tier 2 (≤ $1,000)"))
    check_limits(payload)
    assert payload["callback_id"] == CallbackId.ESCALATE_MODAL
    assert payload["private_metadata"] == "v1:case:42:3"
    assert payload["title"]["text"] == "Escalate case"
    assert payload["submit"]["text"] == "Escalate"
    texts = block_texts(payload)
    assert "Escalate *Return request · #1001 · $149.00*" in texts
    assert "Goes to *Tier 2 (≤ $1,000)*." in texts
    note = inputs(payload)[BlockId.ESCALATE_NOTE]
    assert note.get("optional", False) is False  # required
    assert note["element"]["action_id"] == ActionId.ESCALATE_NOTE
    assert note["element"]["multiline"] is True


def test_escalate_modal_without_a_known_tier_and_with_hostile_input() -> None:
    assert "Goes to a higher tier." in block_texts(escalate_modal(case_view()))
    check_limits(escalate_modal(huge_view(next_tier_label="T" * 5000)))
    payload = escalate_modal(injected_view(status=CaseStatus.OPEN))
    check_limits(payload)
    for s in all_strings(payload):
        assert not any(raw in s for raw in RAW), s


def test_parse_and_validate_escalate() -> None:
    form = parse_escalate_submission(escalate_state("  Customer threatens a chargeback  "))
    assert form == EscalateForm(note="Customer threatens a chargeback")
    assert validate_escalate(form) == {}
    for blank in (None, "", "   \n "):
        assert validate_escalate(parse_escalate_submission(escalate_state(blank))) == {
            "escalate-note": "Say why it needs a higher tier."
        }
    assert validate_escalate(EscalateForm(note="n" * 3001)) == {
        "escalate-note": "Keep the note to 3000 characters (it has 3001)."
    }
