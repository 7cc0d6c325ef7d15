"""Case card buttons and the deny / escalate modals.

Nothing but `views.open` talks to Slack before an ack. A button becomes a `Click` (plain
values and a correlation id) that goes to `services.submit_click` — which may persist it —
and then the ack; the decision and any answer to the person come after. Deny and Escalate
open their modal first: the checks before it use only the database and cached user-group
membership, and a modal carries a signed reference (`blocks.refs.ModalRef`) to the user,
case, version, verb and card it was opened for, so a submission proves the bot opened it.

Signed input that isn't what our cards send (no value, a value that isn't a reference, a
submission whose reference doesn't verify) is acked — Slack shows the person an error for
any other status — logged as a refusal, and explained privately. It changes nothing.
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
    validate_deny,
    validate_escalate,
)
from blocks.refs import BadRef, CaseRef, ModalRef
from bot.services.clicks import Click  # the contract with submit_click (a plain value type)
from handlers.slack.errors import APOLOGY, correlation_id, tell_later, where
from handlers.slack.services import modal_key, services

log = logging.getLogger(__name__)

NOT_OURS = "That button isn't one returnsbot made, so nothing was done."
FORM_NOT_OURS = ("This form doesn't match one returnsbot opened for you, so nothing was done. "
                 "Close it and open it again from the case card.")
BUTTON_VERBS = {ActionId.CASE_APPROVE: "approve", ActionId.CASE_RETRY: "retry", ActionId.CASE_OVERRIDE: "override"}


def card_of(body: dict) -> tuple[str | None, str | None]:
    """(channel, message ts) of the message the button is on."""
    container = body.get("container") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
    ts = container.get("message_ts") or (body.get("message") or {}).get("ts")
    return channel, ts


def ref_of(body: dict) -> CaseRef:
    actions = body.get("actions")
    action = actions[0] if isinstance(actions, list) and actions and isinstance(actions[0], dict) else {}
    return CaseRef.parse(action.get("value"))  # BadRef for a missing value too


def register(app: App, refused: tuple[type[Exception], ...]) -> None:
    def refuse(context: dict, body: dict, reason: str, text: str = NOT_OURS) -> None:
        channel, user, thread = where(body)
        log.warning("slack.click_refused reason=%s user=%s", reason, user, extra={"user": user, "reason": reason})
        tell_later(context, channel, user, text, thread)

    def submit(ack: Ack, context: dict, body: dict, click) -> None:
        """Hand the click over, then ack. If it can't be taken (the store is down), the
        person is told so, after the ack."""
        try:
            services(context).submit_click(click)
        except Exception:
            log.exception("slack.click_not_taken corr=%s", click.correlation_id, extra=click.log_extra)
            ack()
            channel, user, thread = where(body)
            tell_later(context, channel, user, APOLOGY.format(ref=click.correlation_id), thread)
            return
        ack()

    def button(verb: str):
        def on_click(ack: Ack, body: dict, context: dict) -> None:
            channel, user, thread = where(body)
            card_channel, card_ts = card_of(body)
            try:
                ref = ref_of(body)
                click = Click(verb=verb, case_id=ref.case_id, version=ref.version, user=user or "",
                              channel=card_channel, message_ts=card_ts, thread_ts=thread)
            except (BadRef, ValueError) as exc:
                ack()
                refuse(context, body, f"bad_click:{type(exc).__name__}")
                return
            submit(ack, context, body, click)

        return on_click

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
            view = body.get("view") if isinstance(body.get("view"), dict) else {}
            user = (body.get("user") or {}).get("id")
            try:
                ref = ModalRef.verify(view.get("private_metadata"), modal_key(context))
                if ref.user != user or ref.verb != verb:
                    raise BadRef("opened for another user or verb")
            except BadRef as exc:
                log.warning("slack.submission_refused user=%s reason=%s", user, exc,
                            extra={"user": user, "reason": "bad_modal_reference"})
                ack(response_action="errors", errors={first_block: FORM_NOT_OURS})
                return
            form = parse(view)
            errors = validate(form)
            if errors:
                ack(response_action="errors", errors=errors)
                return
            fields = ({"reason": form.reason.value, "customer_message": form.customer_message,
                       "notify_customer": form.notify_customer, "internal_note": form.internal_note}
                      if verb == "deny" else {"note": form.note})
            view_id = view.get("id") if isinstance(view.get("id"), str) else None
            click = Click(verb=verb, case_id=ref.case_id, version=ref.version, user=ref.user, channel=ref.channel,
                          message_ts=ref.message_ts, view_id=view_id, **fields)
            submit(ack, context, body, click)

        return on_submit

    for action_id, verb in BUTTON_VERBS.items():
        app.action(action_id.value)(button(verb))
    app.action(ActionId.CASE_DENY.value)(open_modal("deny", deny_modal))
    app.action(ActionId.CASE_ESCALATE.value)(open_modal("escalate", escalate_modal))
    app.view(CallbackId.DENY_MODAL.value)(
        submission("deny", parse_deny_submission, validate_deny, str(BlockId.DENY_REASON)))
    app.view(CallbackId.ESCALATE_MODAL.value)(
        submission("escalate", parse_escalate_submission, validate_escalate, str(BlockId.ESCALATE_NOTE)))
