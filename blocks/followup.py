"""The follow-up decision's choices and modals (an exception at receipt, or an exchange out of stock).

    followup_choices(view) -> tuple[str, ...]           the buttons the follow-up offers, in card order
    followup_heading(view) -> str                       its first line on the card

    partial_refund_modal(view, metadata=) -> dict     callback_id followup-partial-modal
    parse_amount(view_state) -> str | None
    validate_partial(text, refundable=, currency=) -> (Money | None, {block_id: error})
    no_refund_modal(view, metadata=) -> dict          callback_id followup-no-refund-modal
    parse_message(view_state) -> str | None
    validate_no_refund(message) -> {block_id: error}

The amount is typed in the shop's currency ("32.25", "€32.25", "1,032.25"): positive, at
most what is left to refund, and no more decimals than the currency has. A currency code
or symbol other than the shop's is an error, not a conversion.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from slack_sdk.models.blocks import InputBlock, MarkdownTextObject, PlainTextInputElement, PlainTextObject, SectionBlock
from slack_sdk.models.views import View

from blocks.escape import escape_mrkdwn, one_line
from blocks.ids import ActionId, BlockId, CallbackId
from blocks.modals import CUSTOMER_MESSAGE_MAX, _metadata, _summary, _text, _values
from blocks.views import CaseView
from policy.exchange_rules import EXCHANGE_OUT_OF_STOCK, allowed_choices
from policy.models import _CURRENCY_SYMBOLS, Money  # the symbols Money.format writes

_AMOUNT = re.compile(r"(?P<pre>[^\d\s.,-]*)\s*(?P<num>-?[\d.,]+)\s*(?P<post>[A-Za-z]{3})?")


def followup_choices(view: CaseView) -> tuple[str, ...]:
    """What the open follow-up offers: an exchange out of stock only a refund or store credit
    (the decision refuses the others too: `policy.exchange_rules.allowed_choices`)."""
    return allowed_choices(view.followup.reason if view.followup is not None else None)


def followup_heading(view: CaseView, reason_text: str) -> str:
    """The follow-up's first card line; `reason_text` is the reason already escaped."""
    if view.followup is not None and view.followup.reason == EXCHANGE_OUT_OF_STOCK:
        return ":package: *Exchange out of stock* · the exchange can't ship · refund or store credit?"
    return f":mag: *Exception at receipt* · {reason_text} · the refund waits for a decision"


def _exception_text(view: CaseView) -> SectionBlock:
    f = view.followup
    lines = [f"Exception: {escape_mrkdwn(one_line(f.summary), 200)}" if f else "Exception at receipt"]
    if f is not None and f.refundable is not None:
        lines.append(f"Left to refund: *{f.refundable.format()}*")
    return SectionBlock(text=MarkdownTextObject(text="\n".join(lines), verbatim=True))


def partial_refund_modal(view: CaseView, *, metadata: str | None = None) -> dict:
    f = view.followup
    initial = str(f.suggested_amount.quantized()) if f is not None and f.suggested_amount is not None else None
    currency = (f.refundable or f.suggested_amount).currency if f and (f.refundable or f.suggested_amount) else ""
    element = PlainTextInputElement(action_id=ActionId.FOLLOWUP_AMOUNT, min_length=1, max_length=20,
                                    initial_value=initial)
    blocks = [
        _summary(view, "Partial refund"),
        _exception_text(view),
        InputBlock(block_id=BlockId.FOLLOWUP_AMOUNT, label=PlainTextObject(text=f"Amount to refund ({currency})".replace(" ()", "")),
                   element=element, hint=PlainTextObject(text="In the shop's currency, at most what is left to refund."),
                   optional=False),
    ]
    return View(type="modal", callback_id=CallbackId.FOLLOWUP_PARTIAL_MODAL, private_metadata=_metadata(view, metadata),
                title=PlainTextObject(text="Partial refund"), submit=PlainTextObject(text="Refund"),
                close=PlainTextObject(text="Cancel"), blocks=blocks).to_dict()


def no_refund_modal(view: CaseView, *, metadata: str | None = None) -> dict:
    blocks = [
        _summary(view, "No refund"),
        _exception_text(view),
        InputBlock(block_id=BlockId.FOLLOWUP_MESSAGE, label=PlainTextObject(text="Message to the customer"),
                   element=PlainTextInputElement(action_id=ActionId.FOLLOWUP_MESSAGE, multiline=True, min_length=1,
                                                 max_length=CUSTOMER_MESSAGE_MAX),
                   hint=PlainTextObject(text="Why there is no refund. Sent to the customer."), optional=False),
    ]
    return View(type="modal", callback_id=CallbackId.FOLLOWUP_NO_REFUND_MODAL,
                private_metadata=_metadata(view, metadata), title=PlainTextObject(text="No refund"),
                submit=PlainTextObject(text="Confirm"), close=PlainTextObject(text="Cancel"),
                blocks=blocks).to_dict()


def parse_amount(view_state: Mapping[str, Any]) -> str | None:
    return _text(_values(view_state), BlockId.FOLLOWUP_AMOUNT, ActionId.FOLLOWUP_AMOUNT)


def parse_message(view_state: Mapping[str, Any]) -> str | None:
    return _text(_values(view_state), BlockId.FOLLOWUP_MESSAGE, ActionId.FOLLOWUP_MESSAGE)


def validate_partial(text: str | None, *, refundable: Money | None, currency: str) -> tuple[Money | None, dict[str, str]]:
    """The amount as Money, or the errors to show in the modal."""
    key = str(BlockId.FOLLOWUP_AMOUNT)
    if text is None:
        return None, {key: "Enter the amount to refund."}
    m = _AMOUNT.fullmatch(text.strip())
    if m is None:
        return None, {key: f"Enter an amount like 32.25 (in {currency})."}
    pre, post = m.group("pre"), m.group("post")
    shop_symbol = _CURRENCY_SYMBOLS.get(currency)
    if post and post.upper() != currency:
        return None, {key: f"Refunds are in the shop's currency, {currency}."}
    if pre and pre.upper() != currency and pre != shop_symbol:
        return None, {key: f"Refunds are in the shop's currency, {currency}."}
    number = m.group("num").replace(",", "")
    try:
        value = Decimal(number)
    except InvalidOperation:
        return None, {key: f"Enter an amount like 32.25 (in {currency})."}
    if not value.is_finite() or value <= 0:
        return None, {key: "The amount must be more than zero."}
    amount = Money.of(value, currency)
    if value.as_tuple().exponent < -amount.exponent:
        return None, {key: f"{currency} has {amount.exponent} decimals at most."}
    if refundable is not None and amount.amount > refundable.amount:
        return None, {key: f"At most {refundable.format()} is left to refund."}
    return amount, {}


def validate_no_refund(message: str | None) -> dict[str, str]:
    key = str(BlockId.FOLLOWUP_MESSAGE)
    if message is None:
        return {key: "Tell the customer why there is no refund."}
    if len(message) > CUSTOMER_MESSAGE_MAX:
        return {key: f"At most {CUSTOMER_MESSAGE_MAX} characters (this is {len(message)})."}
    return {}
