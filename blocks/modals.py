"""The modals a case card opens, and the parsing and validation of what comes back.

    deny_modal(view) -> dict                   callback_id case-deny-modal
    parse_deny_submission(state) -> DenyForm
    validate_deny(form) -> {block_id: error}   for `{"response_action": "errors", ...}`
    escalate_modal(view) -> dict               callback_id case-escalate-modal
    parse_escalate_submission(state) -> EscalateForm
    validate_escalate(form) -> {block_id: error}

Both modals carry a reference in `private_metadata`: the handler passes a signed
`blocks.refs.ModalRef` (who the modal was opened for, which case at which version, which
verb, from which card), and a submission that doesn't verify is refused. Without one
(`metadata=None`) the card's plain `CaseRef` is used, for previews and tests.

Deny modal decisions:
- The reason is Shopify's ReturnDeclineReason and is required. It is pre-selected from
  the signals: outside_window → OUTSIDE_WINDOW, final_sale → FINAL_SALE; with both,
  OUTSIDE_WINDOW (the window covers the whole return, final sale maybe only some
  items). Without either, nothing is pre-selected: the person picks.
- "Notify the customer" starts ticked. Ticked with no message is allowed: Shopify then
  sends its standard decline notification. A message with the box unticked is an error:
  the customer would never see it, and the person typing it surely meant them to.
- The customer message is at most 500 characters (Shopify's declineNote limit); the
  input enforces it in Slack and `validate_deny` again on the server.
- The internal note is optional, at most 3000 characters, and never leaves the team.
Form text is returned as typed (stripped; blank means None): escaping is the renderers'
job when it is shown again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    CheckboxesElement,
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    RadioButtonsElement,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from blocks.escape import escape_mrkdwn, one_line
from blocks.format import kind_label, signal_label
from blocks.ids import ActionId, BlockId, CallbackId, OptionValue
from blocks.refs import CaseRef
from blocks.views import CaseView, DeclineReason
from policy.models import Signal, SignalCode, decline_reason_for

CUSTOMER_MESSAGE_MAX = 500  # Shopify ReturnDeclineRequestInput.declineNote
NOTE_MAX = 3000  # Slack's plain_text_input max_length ceiling

_NOTIFY_OPTION = Option(
    value=OptionValue.NOTIFY_CUSTOMER,
    text=PlainTextObject(text="Notify the customer by email"),
)


@dataclass(frozen=True)
class DenyForm:
    reason: DeclineReason | None
    customer_message: str | None
    notify_customer: bool
    internal_note: str | None
    deny_as: str | None = None  # a returns platform's return: "close" | "cancel"


@dataclass(frozen=True)
class EscalateForm:
    note: str | None


# --- deny ---------------------------------------------------------------------------------


def preselected_reason(signals: tuple[Signal, ...]) -> DeclineReason | None:
    return decline_reason_for(s.code.value for s in signals)


def _reason_option(reason: DeclineReason) -> Option:
    return Option(value=reason.value, text=PlainTextObject(text=reason.label))


def _deny_draft(view: CaseView) -> str | None:
    """The deny message drafted for the customer's open ticket (guardrail-checked), cut to
    what the field takes."""
    t = view.open_ticket
    return t.deny_text[:CUSTOMER_MESSAGE_MAX] if t is not None and t.deny_text else None


def _deny_message_hint(view: CaseView) -> str:
    text = (f"Up to {CUSTOMER_MESSAGE_MAX} characters. Sent only when the box below is ticked; "
            "ticked and empty sends Shopify's standard decline email.")
    if view.open_ticket is not None:
        text += f" Drafted for the customer's open ticket \"{view.open_ticket.subject[:80]}\": posted there too."
    return text


def deny_modal(view: CaseView, *, metadata: str | None = None) -> dict:
    preselected = preselected_reason(view.signals)
    select = StaticSelectElement(
        action_id=ActionId.DENY_REASON,
        placeholder=PlainTextObject(text="Choose a reason"),
        options=[_reason_option(r) for r in DeclineReason],
        initial_option=_reason_option(preselected) if preselected else None,
    )
    reason_hint = None
    if preselected is not None:
        why = [signal_label(s.code) for s in view.signals if s.code in (SignalCode.OUTSIDE_WINDOW, SignalCode.FINAL_SALE)]
        reason_hint = PlainTextObject(text=f"Pre-selected from the signals: {', '.join(why)}.")
    blocks: list[Block] = [
        _summary(view, "Deny"),
        *_deny_signals(view),
        *_deny_as(view),
        InputBlock(
            block_id=BlockId.DENY_REASON,
            label=PlainTextObject(text="Reason" if view.platform else "Reason (Shopify)"),
            element=select,
            hint=reason_hint,
        ),
        InputBlock(
            block_id=BlockId.DENY_CUSTOMER_MESSAGE,
            label=PlainTextObject(text="Message to the customer"),
            element=PlainTextInputElement(
                action_id=ActionId.DENY_CUSTOMER_MESSAGE,
                multiline=True,
                max_length=CUSTOMER_MESSAGE_MAX,
                placeholder=PlainTextObject(text="Optional: sent with Shopify's decline email"),
                initial_value=_deny_draft(view),
            ),
            hint=PlainTextObject(text=_deny_message_hint(view)),
            optional=True,
        ),
        InputBlock(
            block_id=BlockId.DENY_NOTIFY,
            label=PlainTextObject(text="Customer notification"),
            element=CheckboxesElement(
                action_id=ActionId.DENY_NOTIFY,
                options=[_NOTIFY_OPTION],
                initial_options=[_NOTIFY_OPTION],
            ),
            optional=True,
        ),
        InputBlock(
            block_id=BlockId.DENY_INTERNAL_NOTE,
            label=PlainTextObject(text="Internal note"),
            element=PlainTextInputElement(
                action_id=ActionId.DENY_INTERNAL_NOTE,
                multiline=True,
                max_length=NOTE_MAX,
                placeholder=PlainTextObject(text="Optional: why, for the team"),
            ),
            hint=PlainTextObject(text="Only your team sees this: on the card and in the audit log."),
            optional=True,
        ),
    ]
    return View(
        type="modal",
        callback_id=CallbackId.DENY_MODAL,
        private_metadata=_metadata(view, metadata),
        title=PlainTextObject(text="Deny return request"),
        submit=PlainTextObject(text="Deny"),
        close=PlainTextObject(text="Cancel"),
        blocks=blocks,
    ).to_dict()


def _deny_signals(view: CaseView) -> list[Block]:
    relevant = [s for s in view.signals if s.code in (SignalCode.OUTSIDE_WINDOW, SignalCode.FINAL_SALE)]
    if not relevant:
        return []
    lines = [f"*{escape_mrkdwn(signal_label(s.code), 60)}* — {escape_mrkdwn(one_line(s.explanation), 400)}" for s in relevant]
    return [ContextBlock(elements=[MarkdownTextObject(text=line, verbatim=True) for line in lines[:10]])]


DENY_AS_CHOICES = {
    "close": "Close it: also closes it in Shopify, and the items can't go into a new return",
    "cancel": "Cancel it: the customer may start a new return for the same items",
}


def _deny_as(view: CaseView) -> list[Block]:
    """A returns platform's return is denied by closing or cancelling it there: say what each does."""
    if view.platform is None:
        return []
    options = [Option(value=k, text=PlainTextObject(text=f"{k.capitalize()} in {view.platform.label}"),
                      description=PlainTextObject(text=v)) for k, v in DENY_AS_CHOICES.items()]
    return [InputBlock(block_id=BlockId.DENY_AS, label=PlainTextObject(text=f"In {view.platform.label}"),
                       element=RadioButtonsElement(action_id=ActionId.DENY_AS, options=options,
                                                   initial_option=options[0]))]


def parse_deny_submission(view_state: Mapping[str, Any]) -> DenyForm:
    values = _values(view_state)
    reason_raw = _selected_value(values, BlockId.DENY_REASON, ActionId.DENY_REASON)
    try:
        reason = DeclineReason(reason_raw) if reason_raw is not None else None
    except ValueError:
        reason = None
    notify = _checked(values, BlockId.DENY_NOTIFY, ActionId.DENY_NOTIFY, OptionValue.NOTIFY_CUSTOMER)
    return DenyForm(
        reason=reason,
        customer_message=_text(values, BlockId.DENY_CUSTOMER_MESSAGE, ActionId.DENY_CUSTOMER_MESSAGE),
        notify_customer=notify,
        internal_note=_text(values, BlockId.DENY_INTERNAL_NOTE, ActionId.DENY_INTERNAL_NOTE),
        deny_as=_selected_value(values, BlockId.DENY_AS, ActionId.DENY_AS),
    )


def validate_deny(form: DenyForm) -> dict[str, str]:
    errors: dict[str, str] = {}
    if form.reason is None:
        errors[BlockId.DENY_REASON] = "Choose why the return is declined."
    message = form.customer_message
    if message is not None and len(message) > CUSTOMER_MESSAGE_MAX:
        errors[BlockId.DENY_CUSTOMER_MESSAGE] = (
            f"Shopify sends at most {CUSTOMER_MESSAGE_MAX} characters; this message has {len(message)}."
        )
    elif message is not None and not form.notify_customer:
        errors[BlockId.DENY_CUSTOMER_MESSAGE] = (
            "The customer only gets this message when “Notify the customer” is ticked: tick it or clear the message."
        )
    if form.deny_as is not None and form.deny_as not in DENY_AS_CHOICES:
        errors[BlockId.DENY_AS] = "Choose close or cancel."
    if form.internal_note is not None and len(form.internal_note) > NOTE_MAX:
        errors[BlockId.DENY_INTERNAL_NOTE] = f"Keep the note to {NOTE_MAX} characters (it has {len(form.internal_note)})."
    return {str(k): v for k, v in errors.items()}


# --- escalate -----------------------------------------------------------------------------


def escalate_modal(view: CaseView, *, metadata: str | None = None) -> dict:
    where = "Goes to a higher tier."
    if view.next_tier_label:
        where = f"Goes to *{escape_mrkdwn(one_line(view.next_tier_label), 100)}*."
    blocks: list[Block] = [
        _summary(view, "Escalate"),
        SectionBlock(text=MarkdownTextObject(text=where, verbatim=True)),
        InputBlock(
            block_id=BlockId.ESCALATE_NOTE,
            label=PlainTextObject(text="Why does this need a higher tier?"),
            element=PlainTextInputElement(
                action_id=ActionId.ESCALATE_NOTE,
                multiline=True,
                min_length=1,
                max_length=NOTE_MAX,
                placeholder=PlainTextObject(text="What should they look at?"),
            ),
            hint=PlainTextObject(text="Shown on both cards, so whoever picks it up knows why."),
            optional=False,
        ),
    ]
    return View(
        type="modal",
        callback_id=CallbackId.ESCALATE_MODAL,
        private_metadata=_metadata(view, metadata),
        title=PlainTextObject(text="Escalate case"),
        submit=PlainTextObject(text="Escalate"),
        close=PlainTextObject(text="Cancel"),
        blocks=blocks,
    ).to_dict()


def parse_escalate_submission(view_state: Mapping[str, Any]) -> EscalateForm:
    values = _values(view_state)
    return EscalateForm(note=_text(values, BlockId.ESCALATE_NOTE, ActionId.ESCALATE_NOTE))


def validate_escalate(form: EscalateForm) -> dict[str, str]:
    if form.note is None:
        return {str(BlockId.ESCALATE_NOTE): "Say why it needs a higher tier."}
    if len(form.note) > NOTE_MAX:
        return {str(BlockId.ESCALATE_NOTE): f"Keep the note to {NOTE_MAX} characters (it has {len(form.note)})."}
    return {}


# --- a ticket's reply, edited before it is sent ----------------------------------------------

REPLY_MAX = 3000  # Slack's plain_text_input limit


def ticket_edit_modal(view: CaseView, *, metadata: str | None = None) -> dict:
    draft = (view.ticket.draft if view.ticket is not None else None) or ""
    blocks: list[Block] = [
        _summary(view, "Edit & send"),
        InputBlock(
            block_id=BlockId.TICKET_REPLY,
            label=PlainTextObject(text="The reply to the customer"),
            element=PlainTextInputElement(action_id=ActionId.TICKET_REPLY, multiline=True, min_length=1,
                                          max_length=REPLY_MAX, initial_value=draft[:REPLY_MAX] or None),
            hint=PlainTextObject(text="Sent as written, once, as a public reply on the ticket."),
            optional=False,
        ),
    ]
    return View(type="modal", callback_id=CallbackId.TICKET_EDIT_MODAL, private_metadata=_metadata(view, metadata),
                title=PlainTextObject(text="Edit & send"), submit=PlainTextObject(text="Send"),
                close=PlainTextObject(text="Cancel"), blocks=blocks).to_dict()


@dataclass(frozen=True)
class ReplyForm:
    text: str | None


def parse_ticket_edit_submission(view_state: Mapping[str, Any]) -> ReplyForm:
    return ReplyForm(text=_text(_values(view_state), BlockId.TICKET_REPLY, ActionId.TICKET_REPLY))


def validate_ticket_edit(form: ReplyForm) -> dict[str, str]:
    if form.text is None:
        return {str(BlockId.TICKET_REPLY): "Write the reply to send."}
    if len(form.text) > REPLY_MAX:
        return {str(BlockId.TICKET_REPLY): f"Keep the reply to {REPLY_MAX} characters."}
    return {}


# --- shared -------------------------------------------------------------------------------


def _metadata(view: CaseView, signed: str | None) -> str:
    return signed if signed is not None else str(CaseRef(case_id=view.case_id, version=view.version))


def _summary(view: CaseView, verb: str) -> SectionBlock:
    head = f"{kind_label(view.kind)} · {one_line(view.order_name)} · {view.amount.format()}"
    lines = [f"{verb} *{escape_mrkdwn(head, 200)}*"]
    if view.return_name:
        lines.append(f"Return {escape_mrkdwn(one_line(view.return_name), 60)}")
    if view.customer is not None:
        lines.append(f"Customer: {escape_mrkdwn(one_line(view.customer.name), 200)}")
    return SectionBlock(text=MarkdownTextObject(text="\n".join(lines), verbatim=True))


def _values(view_state: Mapping[str, Any]) -> Mapping[str, Any]:
    """Accepts `view`, `view["state"]` or `view["state"]["values"]`."""
    if not isinstance(view_state, Mapping):
        return {}
    if isinstance(view_state.get("state"), Mapping):
        view_state = view_state["state"]
    values = view_state.get("values", view_state)
    return values if isinstance(values, Mapping) else {}


def _element(values: Mapping[str, Any], block_id: str, action_id: str) -> Mapping[str, Any]:
    block = values.get(block_id)
    element = block.get(action_id) if isinstance(block, Mapping) else None
    return element if isinstance(element, Mapping) else {}


def _text(values: Mapping[str, Any], block_id: str, action_id: str) -> str | None:
    value = _element(values, block_id, action_id).get("value")
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value or None


def _selected_value(values: Mapping[str, Any], block_id: str, action_id: str) -> str | None:
    option = _element(values, block_id, action_id).get("selected_option")
    value = option.get("value") if isinstance(option, Mapping) else None
    return value if isinstance(value, str) else None


def _checked(values: Mapping[str, Any], block_id: str, action_id: str, option_value: str) -> bool:
    options = _element(values, block_id, action_id).get("selected_options")
    if not isinstance(options, list):
        return False
    return any(isinstance(o, Mapping) and o.get("value") == option_value for o in options)
