"""Every action_id, callback_id, block_id and option value the bot puts into Slack.

Defined once, here: the renderers build with them and the handlers register on them
(`app.action(ActionId.CASE_APPROVE)`), so the two can never drift apart. A StrEnum member
*is* its string, so it goes straight into Slack payloads and compares equal to what comes
back.
"""

from __future__ import annotations

from enum import StrEnum


class ActionId(StrEnum):
    # Buttons on the case card.
    CASE_APPROVE = "case-approve"
    CASE_DENY = "case-deny"
    CASE_ESCALATE = "case-escalate"
    CASE_RETRY = "case-retry"
    # When the recommendation is deny, the primary button carries the decline out and this
    # one grants the request anyway (spelled as agreed with the card's renderer).
    CASE_OVERRIDE = "case_override"
    # "Show #1042" on an /order pick-list; numbered (order-open-1…) because action ids must
    # be unique within a message: match with ORDER_OPEN_PATTERN.
    ORDER_OPEN = "order-open"
    # Inputs in the deny modal.
    DENY_REASON = "deny-reason-select"
    DENY_CUSTOMER_MESSAGE = "deny-customer-message-input"
    DENY_NOTIFY = "deny-notify-checkbox"
    DENY_INTERNAL_NOTE = "deny-internal-note-input"
    # Input in the escalate modal.
    ESCALATE_NOTE = "escalate-note-input"
    # The deny modal of a returns platform's return (Loop): close it, or cancel it.
    DENY_AS = "deny-as-radio"
    # The follow-up decision at receipt (an exception when the box is opened): its own buttons.
    FOLLOWUP_REFUND = "followup-refund"
    FOLLOWUP_PARTIAL = "followup-partial"
    FOLLOWUP_CREDIT = "followup-credit"
    FOLLOWUP_NO_REFUND = "followup-no-refund"
    # A dispute card: accept the loss (Submit evidence is CASE_APPROVE), and Assign (a user picker).
    DISPUTE_CONCEDE = "dispute-concede"
    DISPUTE_ASSIGN = "dispute-assign"
    # A delayed shipment's remedies (Customer contacted is CASE_APPROVE).
    SHIPMENT_RESHIP = "shipment-reship"
    SHIPMENT_REFUND_SHIPPING = "shipment-refund-shipping"
    # A ticket card: Approve & send (the draft as shown), Edit (a modal, then send),
    # Escalate, Reclassify (the rules classifier again, the card refreshed).
    TICKET_SEND = "ticket-send"
    TICKET_EDIT = "ticket-edit"
    TICKET_ESCALATE = "ticket-escalate"
    TICKET_RECLASSIFY = "ticket-reclassify"
    TICKET_REPLY = "ticket-reply-input"  # the edit modal's text
    # A moment's follow-up task (issue 13; not the receipt follow-up above): Done, Snooze
    # (an overflow: 1 day / 1 week), Reassign (a user picker).
    FOLLOWUP_DONE = "followup-done"
    FOLLOWUP_SNOOZE = "followup-snooze"
    FOLLOWUP_REASSIGN = "followup-reassign"
    # Inputs in the follow-up modals.
    FOLLOWUP_AMOUNT = "followup-amount-input"
    FOLLOWUP_MESSAGE = "followup-message-input"


class CallbackId(StrEnum):
    DENY_MODAL = "case-deny-modal"
    ESCALATE_MODAL = "case-escalate-modal"
    FOLLOWUP_PARTIAL_MODAL = "followup-partial-modal"
    FOLLOWUP_NO_REFUND_MODAL = "followup-no-refund-modal"
    TICKET_EDIT_MODAL = "ticket-edit-modal"


class BlockId(StrEnum):
    # The case card's buttons.
    CASE_ACTIONS = "case-actions"
    # Deny modal inputs: keys of `view.state.values` and of `response_action: errors`.
    DENY_REASON = "deny-reason"
    DENY_CUSTOMER_MESSAGE = "deny-customer-message"
    DENY_NOTIFY = "deny-notify"
    DENY_INTERNAL_NOTE = "deny-internal-note"
    # Escalate modal input.
    ESCALATE_NOTE = "escalate-note"
    DENY_AS = "deny-as"
    # A dispute card's Assign picker: "dispute-assignee:<case ref>" (the ref rides in the block id).
    DISPUTE_ASSIGN = "dispute-assignee"
    # The follow-up decision's buttons and modal inputs.
    FOLLOWUP_AMOUNT = "followup-amount"
    FOLLOWUP_MESSAGE = "followup-message"
    TICKET_REPLY = "ticket-reply"  # the edit modal's input
    # A moment's follow-up buttons: "followup-task:<task ref>" (the ref rides in the block id,
    # for the user picker whose value is the user).
    FOLLOWUP_TASK = "followup-task"


class OptionValue(StrEnum):
    """Values of options that are not data (data options carry their own value)."""

    NOTIFY_CUSTOMER = "notify-customer"
    # A follow-up's snooze choices (the overflow's option values end with one).
    SNOOZE_DAY = "1d"
    SNOOZE_WEEK = "1w"


class PlaybookId(StrEnum):
    """The playbook's ids (handlers/slack/playbook.py registers on them)."""

    # Message shortcut ("Save to playbook") on a reply in a card's thread: its callback_id,
    # also in app.yaml under features.shortcuts.
    SAVE_SHORTCUT = "playbook-save"
    # The Retire button on each `/playbook` result (value: `blocks.playbook.entry_ref`).
    RETIRE = "playbook-retire"
    # The buttons under Claude's proposal in a decided case's thread (value:
    # `blocks.playbook.proposal_ref`).
    PROPOSAL_SAVE = "playbook-proposal-save"
    PROPOSAL_IGNORE = "playbook-proposal-ignore"


ORDER_OPEN_PATTERN = rf"^{ActionId.ORDER_OPEN.value}-\d+$"
