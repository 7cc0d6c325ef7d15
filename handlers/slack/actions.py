"""Case card buttons and the deny / escalate modals.

Every listener acks at once. The only work before an ack is `views.open` (a trigger id
lives 3 seconds) and the cheap checks that decide whether to open it; decisions run on the
background executor after the ack (`after_ack`), so Slack gets its 200 in about a
millisecond of work.
"""

from __future__ import annotations

import logging

from slack_bolt import Ack, App

from blocks.ids import ActionId, CallbackId
from blocks.modals import (
    deny_modal,
    escalate_modal,
    parse_deny_submission,
    parse_escalate_submission,
    validate_deny,
    validate_escalate,
)
from blocks.refs import BadRef, CaseRef
from handlers.slack.errors import after_ack, channel_for_refusal, tell, where
from handlers.slack.services import services

log = logging.getLogger(__name__)


def _ref(body: dict) -> CaseRef:
    return CaseRef.parse(body["actions"][0]["value"])


def register(app: App, refused: tuple[type[Exception], ...]) -> None:
    known = refused + (BadRef,)

    def button(decide_verb: str):
        def on_click(ack: Ack, body: dict, context: dict) -> None:
            ack()
            value, user = body["actions"][0]["value"], body["user"]["id"]

            def work() -> None:
                getattr(services(context).decide, decide_verb)(CaseRef.parse(value).case_id, user)

            after_ack(context, work, body=body, refused=known)

        return on_click

    def open_modal(verb: str, render):
        def ack_and_open(ack: Ack, body: dict, context: dict) -> None:
            """Check, then views.open, then ack; a refusal is acked and explained after."""
            svc = services(context)
            _, user, _ = where(body)
            try:
                case = svc.decide.checked(_ref(body).case_id, user, verb=verb)
                svc.gateway.open_view(body["trigger_id"], render(svc.views.build(case)))
            except known as exc:
                ack()
                channel, user, thread = channel_for_refusal(*where(body), exc)
                svc.background.submit(tell, context, channel, user, str(exc), thread)
                return
            ack()

        return ack_and_open

    def submission(parse, validate, decide):
        """A modal submitted: errors go back into the modal; otherwise ack, then decide."""

        def on_submit(ack: Ack, body: dict, context: dict, view: dict) -> None:
            form = parse(view)
            errors = validate(form)
            if errors:
                ack(response_action="errors", errors=errors)
                return
            ack()
            user, metadata = body["user"]["id"], view["private_metadata"]

            def work() -> None:
                decide(services(context).decide, CaseRef.parse(metadata).case_id, user, form)

            after_ack(context, work, body=body, refused=known)

        return on_submit

    def deny(decide, case_id: int, user: str, form) -> None:
        decide.deny(case_id, user, reason=form.reason.value, internal_note=form.internal_note,
                    customer_message=form.customer_message, notify_customer=form.notify_customer)

    def escalate(decide, case_id: int, user: str, form) -> None:
        decide.escalate(case_id, user, form.note or "")

    app.action(ActionId.CASE_APPROVE.value)(button("approve"))
    app.action(ActionId.CASE_RETRY.value)(button("retry"))
    app.action(ActionId.CASE_DENY.value)(open_modal("deny", deny_modal))
    app.action(ActionId.CASE_ESCALATE.value)(open_modal("escalate", escalate_modal))
    app.view(CallbackId.DENY_MODAL.value)(submission(parse_deny_submission, validate_deny, deny))
    app.view(CallbackId.ESCALATE_MODAL.value)(submission(parse_escalate_submission, validate_escalate, escalate))
