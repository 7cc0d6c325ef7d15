"""The follow-up decision's buttons and modals (an exception at receipt), as approve/deny work.

Refund anyway and Store credit are buttons: the click is handed to `submit_click` (which
may persist it) before the ack and decided after. Partial refund and No refund open a
modal first (database-only checks, signed `ModalRef`); the submission is validated — the
amount against what is left to refund, in the shop's currency; the customer message ≤ 500
— with errors shown in the modal, then handed over the same way. The decision itself
(version, tier, still open) is checked again after the ack by `bot.services.followup`.
"""

from __future__ import annotations

import logging

from slack_bolt import Ack, App

from blocks.followup import (
    no_refund_modal,
    parse_amount,
    parse_message,
    partial_refund_modal,
    validate_no_refund,
    validate_partial,
)
from blocks.ids import ActionId, BlockId, CallbackId
from blocks.refs import BadRef, ModalRef
from bot.services.card_view import followup_view
from bot.services.followup import Followups
from handlers.slack.clicks import button, card_of, refuse, ref_of, submit, submitted_click, verified_submission
from handlers.slack.errors import correlation_id, tell_later, where
from policy.exchange_rules import allowed_choices, choice_allowed
from handlers.slack.services import modal_key, services

log = logging.getLogger(__name__)

VERB = "followup"  # every follow-up click's verb; the choice says which
# ModalRef verbs ([a-z]{1,16}) for the two modals, and the choice each one makes.
PARTIAL, NO_REFUND = "partial", "norefund"
_CHOICE_OF = {PARTIAL: "partial_refund", NO_REFUND: "no_refund"}


class _NotOffered(Exception):
    """The follow-up doesn't offer this choice (the message names what it offers)."""

# The choices, by the button that makes them: decided after the ack, or through a modal first.
BUTTON_CHOICES = {ActionId.FOLLOWUP_REFUND: "refund", ActionId.FOLLOWUP_CREDIT: "store_credit"}
MODAL_CHOICES = {ActionId.FOLLOWUP_PARTIAL: (PARTIAL, partial_refund_modal),
                 ActionId.FOLLOWUP_NO_REFUND: (NO_REFUND, no_refund_modal)}


def register(app: App, refused: tuple[type[Exception], ...]) -> None:
    def open_modal(verb: str, render):
        def ack_and_open(ack: Ack, body: dict, context: dict) -> None:
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
                case = svc.decide.precheck(ref.case_id, user, verb="decide", version=ref.version,
                                           channel=card_channel, message_ts=card_ts)
                Followups(decide=svc.decide).check(case, user, ref.version, record=False)
                if not choice_allowed(case.followup, _CHOICE_OF[verb]):  # e.g. an exchange out of stock
                    raise _NotOffered(" or ".join(allowed_choices(case.followup.get("reason"))).replace("_", " "))
                metadata = ModalRef(verb=verb, case_id=case.id, version=case.version, user=user,
                                    channel=card_channel, message_ts=card_ts).sign(modal_key(context))
            except refused as exc:
                ack()
                svc.background.submit(svc.decide.after_refusal, exc, user)
                tell_later(context, channel, user, str(exc), thread)
                return
            except _NotOffered as exc:
                ack()
                refuse(context, body, "choice_not_offered", f"This follow-up offers {exc} only.")
                return
            except BadRef:
                ack()
                refuse(context, body, "bad_click:card")
                return
            try:
                svc.gateway.open_view(body["trigger_id"], render(svc.views.build(case), metadata=metadata))
            except Exception as exc:  # expired trigger, Slack down, a render bug: one attempt only
                ref_id = correlation_id()
                log.warning("slack.modal_not_opened ref=%s case_id=%s error=%s", ref_id, case.id, type(exc).__name__,
                            extra={"correlation_id": ref_id, "case_id": case.id, "user": user})
                ack()
                tell_later(context, channel, user,
                           f"Slack didn't open the form in time; press the button again. Reference: `{ref_id}`.",
                           thread)
                return
            ack()

        return ack_and_open

    def on_partial(ack: Ack, body: dict, context: dict) -> None:
        key = str(BlockId.FOLLOWUP_AMOUNT)
        got = verified_submission(ack, body, context, PARTIAL, key)
        if got is None:
            return
        ref, view = got
        svc = services(context)
        case = svc.decide.cases.get(ref.case_id)
        followup = followup_view(case.followup) if case is not None else None
        if followup is None:
            ack(response_action="errors", errors={key: "This follow-up has been decided already."})
            return
        currency = svc.decide.policy.shop_currency
        amount, errors = validate_partial(parse_amount(view), refundable=followup.refundable, currency=currency)
        if errors:
            ack(response_action="errors", errors=errors)
            return
        submit(ack, context, body, submitted_click(VERB, ref, view, choice="partial_refund",
                                                   amount=str(amount.quantized()), currency=amount.currency))

    def on_no_refund(ack: Ack, body: dict, context: dict) -> None:
        got = verified_submission(ack, body, context, NO_REFUND, str(BlockId.FOLLOWUP_MESSAGE))
        if got is None:
            return
        ref, view = got
        message = parse_message(view)
        errors = validate_no_refund(message)
        if errors:
            ack(response_action="errors", errors=errors)
            return
        submit(ack, context, body, submitted_click(VERB, ref, view, choice="no_refund", customer_message=message))

    for action_id, choice in BUTTON_CHOICES.items():
        app.action(action_id.value)(button(VERB, choice=choice))
    for action_id, (verb, render) in MODAL_CHOICES.items():
        app.action(action_id.value)(open_modal(verb, render))
    app.view(CallbackId.FOLLOWUP_PARTIAL_MODAL.value)(on_partial)
    app.view(CallbackId.FOLLOWUP_NO_REFUND_MODAL.value)(on_no_refund)
