"""Case card buttons and the deny / escalate modals.

Nothing but `views.open` talks to Slack before an ack. A button becomes a `Click` handed to
`services.submit_click` before the ack (`handlers.slack.clicks`, shared with the follow-up's
buttons); the decision and any answer to the person come after. Deny and Escalate
open their modal first: the checks before it use only the database and cached user-group
membership, and a modal carries a signed reference (`blocks.refs.ModalRef`) to the user,
case, version, verb and card it was opened for, so a submission proves the bot opened it.

Signed input that isn't what our cards send is refused as `clicks` describes: acked,
logged, explained privately, nothing changed.
"""

from __future__ import annotations

import logging

from slack_bolt import Ack, App

from blocks.ids import ActionId, BlockId, CallbackId
from blocks.modals import (
    deny_modal,
    escalate_modal,
    parse_deny_submission,
    parse_escalate_submission,
    parse_ticket_edit_submission,
    ticket_edit_modal,
    validate_deny,
    validate_escalate,
    validate_ticket_edit,
)
from blocks.refs import BadRef, CaseRef, ModalRef
from bot.services.clicks import Click
from handlers.slack.clicks import button, card_of, refuse, ref_of, submit, submitted_click, verified_submission
from handlers.slack.errors import APOLOGY, correlation_id, tell_later, where
from handlers.slack.services import modal_key, services

log = logging.getLogger(__name__)

BUTTON_VERBS = {ActionId.CASE_APPROVE: "approve", ActionId.TICKET_SEND: "approve",
                ActionId.TICKET_RECLASSIFY: "reclassify", ActionId.CASE_RETRY: "retry", ActionId.CASE_OVERRIDE: "override",
                ActionId.DISPUTE_CONCEDE: "concede"}
# A delayed shipment's remedy buttons → the remedy (bot.services.effects.REMEDIES).
REMEDY_BUTTONS = {ActionId.SHIPMENT_RESHIP: "reship", ActionId.SHIPMENT_REFUND_SHIPPING: "refund_shipping"}


def assign_picked(ack: Ack, body: dict, context: dict) -> None:
    """A dispute card's Assign picker: the card's reference rides in the block id (a select
    has no value of its own), the person picked in `selected_user`."""
    _, user, thread = where(body)
    card_channel, card_ts = card_of(body)
    actions = body.get("actions")
    action = actions[0] if isinstance(actions, list) and actions and isinstance(actions[0], dict) else {}
    block_id = action.get("block_id")
    prefix = f"{BlockId.DISPUTE_ASSIGN}:"
    try:
        if not isinstance(block_id, str) or not block_id.startswith(prefix):
            raise BadRef("not an assign block")
        ref = CaseRef.parse(block_id[len(prefix):])
        click = Click(verb="assign", case_id=ref.case_id, version=ref.version, user=user or "", channel=card_channel,
                      message_ts=card_ts, thread_ts=thread, assignee=action.get("selected_user"))
    except (BadRef, ValueError) as exc:
        ack()
        refuse(context, body, f"bad_click:{type(exc).__name__}")
        return
    submit(ack, context, body, click)


def register(app: App, refused: tuple[type[Exception], ...]) -> None:
    def open_modal(verb: str, render):
        def ack_and_open(ack: Ack, body: dict, context: dict) -> None:
            """Check (database and caches only), views.open, ack; a refusal is acked,
            then recorded and explained."""
            svc = services(context)
            channel, user, thread = where(body)
            card_channel, card_ts = card_of(body)
            try:
                ref = ref_of(body)
                if not user or not body.get("trigger_id"):
                    raise BadRef("no user or trigger id")
            except BadRef:
                ack()
                refuse(context, body, "bad_click:BadRef")
                return
            try:
                case = svc.decide.precheck(ref.case_id, user, verb=verb, version=ref.version,
                                           channel=card_channel, message_ts=card_ts)
                metadata = ModalRef(verb=verb, case_id=case.id, version=case.version, user=user,
                                    channel=card_channel, message_ts=card_ts).sign(modal_key(context))
            except refused as exc:
                ack()
                svc.background.submit(svc.decide.after_refusal, exc, user)  # its audit row, the card refresh
                tell_later(context, channel, user, str(exc), thread)
                return
            except BadRef:  # the card's channel or ts isn't a Slack value
                ack()
                refuse(context, body, "bad_click:card")
                return
            try:
                modal = render(svc.views.build(case), metadata=metadata)
            except Exception:  # a render bug: say so with a reference, and the log has it
                ref_id = correlation_id()
                log.exception("slack.modal_failed ref=%s case_id=%s", ref_id, case.id,
                              extra={"correlation_id": ref_id, "case_id": case.id, "user": user})
                ack()
                tell_later(context, channel, user, APOLOGY.format(ref=ref_id), thread)
                return
            try:
                svc.gateway.open_view(body["trigger_id"], modal)
            except Exception as exc:  # expired trigger, Slack down: one attempt only, by design
                ref_id = correlation_id()
                log.warning("slack.modal_not_opened ref=%s case_id=%s user=%s error=%s", ref_id, case.id, user,
                            type(exc).__name__, extra={"correlation_id": ref_id, "case_id": case.id, "user": user})
                ack()
                tell_later(context, channel, user,
                           f"Slack didn't open the form in time; press the button again. Reference: `{ref_id}`.",
                           thread)
                return
            ack()

        return ack_and_open

    def submission(verb: str, parse, validate, first_block: str):
        """A modal submitted: a reference that doesn't verify, or form errors, go back into
        the modal; otherwise the click is handed over and the modal closes."""

        def on_submit(ack: Ack, body: dict, context: dict) -> None:
            got = verified_submission(ack, body, context, verb, first_block)
            if got is None:
                return
            ref, view = got
            form = parse(view)
            errors = validate(form)
            if errors:
                ack(response_action="errors", errors=errors)
                return
            if verb == "deny":
                fields = {"reason": form.reason.value, "customer_message": form.customer_message,
                          "notify_customer": form.notify_customer, "internal_note": form.internal_note,
                          "deny_as": form.deny_as}
            elif verb == "send":  # a ticket's reply as edited: carried in customer_message
                fields = {"customer_message": form.text}
            else:
                fields = {"note": form.note}
            submit(ack, context, body, submitted_click(verb, ref, view, **fields))

        return on_submit

    for action_id, verb in BUTTON_VERBS.items():
        app.action(action_id.value)(button(verb))
    for action_id, remedy in REMEDY_BUTTONS.items():
        app.action(action_id.value)(button("remedy", choice=remedy))
    app.action(ActionId.DISPUTE_ASSIGN.value)(assign_picked)
    app.action(ActionId.CASE_DENY.value)(open_modal("deny", deny_modal))
    app.action(ActionId.CASE_ESCALATE.value)(open_modal("escalate", escalate_modal))
    app.action(ActionId.TICKET_ESCALATE.value)(open_modal("escalate", escalate_modal))
    app.action(ActionId.TICKET_EDIT.value)(open_modal("send", ticket_edit_modal))
    app.view(CallbackId.TICKET_EDIT_MODAL.value)(
        submission("send", parse_ticket_edit_submission, validate_ticket_edit, str(BlockId.TICKET_REPLY)))
    app.view(CallbackId.DENY_MODAL.value)(
        submission("deny", parse_deny_submission, validate_deny, str(BlockId.DENY_REASON)))
    app.view(CallbackId.ESCALATE_MODAL.value)(
        submission("escalate", parse_escalate_submission, validate_escalate, str(BlockId.ESCALATE_NOTE)))
