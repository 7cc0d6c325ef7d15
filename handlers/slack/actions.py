"""Case card buttons and the deny / escalate modals.

Every listener acks at once. The only work before an ack is `views.open` (a trigger id
lives 3 seconds) and the cheap checks that decide whether to open it; decisions run in
lazy listeners, after Slack has its 200.
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
from handlers.slack.errors import friendly, tell, where
from handlers.slack.services import services

log = logging.getLogger(__name__)


def _ref(body: dict) -> CaseRef:
    return CaseRef.parse(body["actions"][0]["value"])


def _just_ack(ack: Ack) -> None:
    ack()


def register(app: App, refused: tuple[type[Exception], ...]) -> None:
    known = refused + (BadRef,)

    @friendly(known)
    def approve(body: dict, context: dict, **_) -> None:
        _, user, _ = where(body)
        services(context).decide.approve(_ref(body).case_id, user)

    @friendly(known)
    def retry(body: dict, context: dict, **_) -> None:
        _, user, _ = where(body)
        services(context).decide.retry(_ref(body).case_id, user)

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
                channel, user, thread = where(body)
                tell(context, channel, user, str(exc), thread)
                return
            ack()

        return ack_and_open

    def submission(parse, validate):
        def ack_submission(ack: Ack, view: dict) -> None:
            errors = validate(parse(view))
            if errors:
                ack(response_action="errors", errors=errors)
            else:
                ack()

        return ack_submission

    app.action(ActionId.CASE_APPROVE.value)(ack=_just_ack, lazy=[approve])
    app.action(ActionId.CASE_RETRY.value)(ack=_just_ack, lazy=[retry])
    app.action(ActionId.CASE_DENY.value)(open_modal("deny", deny_modal))
    app.action(ActionId.CASE_ESCALATE.value)(open_modal("escalate", escalate_modal))

    @friendly(known)
    def submit_deny(body: dict, context: dict, view: dict, **_) -> None:
        form = parse_deny_submission(view)
        user = body["user"]["id"]
        services(context).decide.deny(
            CaseRef.parse(view["private_metadata"]).case_id, user,
            reason=form.reason.value, internal_note=form.internal_note,
            customer_message=form.customer_message, notify_customer=form.notify_customer,
        )

    @friendly(known)
    def submit_escalate(body: dict, context: dict, view: dict, **_) -> None:
        form = parse_escalate_submission(view)
        user = body["user"]["id"]
        services(context).decide.escalate(CaseRef.parse(view["private_metadata"]).case_id, user, form.note or "")

    app.view(CallbackId.DENY_MODAL.value)(ack=submission(parse_deny_submission, validate_deny), lazy=[submit_deny])
    app.view(CallbackId.ESCALATE_MODAL.value)(
        ack=submission(parse_escalate_submission, validate_escalate), lazy=[submit_escalate]
    )
