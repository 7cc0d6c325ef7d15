"""Handing a click over: the one path from a card's button (or a modal's submission) to
`services.submit_click`, shared by the case card (`actions`) and the follow-up (`followup`).

A button becomes a `Click` (plain values and a correlation id) that goes to `submit_click`
— which may persist it — before the ack. Signed input that isn't what our cards send (no
value, a value that isn't a reference, a modal reference that doesn't verify) is acked
(Slack shows the person an error for any other status), logged as a refusal and explained
privately; it changes nothing.
"""

from __future__ import annotations

import logging
from typing import Callable

from slack_bolt import Ack

from blocks.refs import BadRef, CaseRef, ModalRef
from bot.services.clicks import Click  # the contract with submit_click (a plain value type)
from handlers.slack.errors import APOLOGY, tell_later, where
from handlers.slack.services import modal_key, services

log = logging.getLogger(__name__)

NOT_OURS = "That button isn't one returnsbot made, so nothing was done."
FORM_NOT_OURS = ("This form doesn't match one returnsbot opened for you, so nothing was done. "
                 "Close it and open it again from the case card.")


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


def refuse(context: dict, body: dict, reason: str, text: str = NOT_OURS) -> None:
    """Input we didn't make: logged as a refusal and explained privately, after the ack."""
    channel, user, thread = where(body)
    log.warning("slack.click_refused reason=%s user=%s", reason, user, extra={"user": user, "reason": reason})
    tell_later(context, channel, user, text, thread)


def submit(ack: Ack, context: dict, body: dict, click: Click) -> None:
    """Hand the click over (persisted or queued), then ack. If it can't be taken (the
    store is down), the person is told so, after the ack."""
    try:
        services(context).submit_click(click)
    except Exception:
        log.exception("slack.click_not_taken corr=%s", click.correlation_id, extra=click.log_extra)
        ack()
        channel, user, thread = where(body)
        tell_later(context, channel, user, APOLOGY.format(ref=click.correlation_id), thread)
        return
    ack()


def button(verb: str, **click_fields) -> Callable[..., None]:
    """The listener for a button that is decided after the ack: its `Click` carries `verb`,
    the card's reference, and `click_fields` (a follow-up's `choice`)."""

    def on_click(ack: Ack, body: dict, context: dict) -> None:
        _, user, thread = where(body)
        card_channel, card_ts = card_of(body)
        try:
            ref = ref_of(body)
            click = Click(verb=verb, case_id=ref.case_id, version=ref.version, user=user or "",
                          channel=card_channel, message_ts=card_ts, thread_ts=thread, **click_fields)
        except (BadRef, ValueError) as exc:
            ack()
            refuse(context, body, f"bad_click:{type(exc).__name__}")
            return
        submit(ack, context, body, click)

    return on_click


def verified_submission(ack: Ack, body: dict, context: dict, verb: str,
                        first_block: str) -> tuple[ModalRef, dict] | None:
    """(the modal's signed reference, the view) when the submission proves the bot opened
    this modal for this user and verb; otherwise the error is shown in the modal (acked)
    and None is returned."""
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
        return None
    return ref, view


def submitted_click(verb: str, ref: ModalRef, view: dict, **fields) -> Click:
    """The click a verified modal submission stands for (the card it was opened from)."""
    view_id = view.get("id") if isinstance(view.get("id"), str) else None
    return Click(verb=verb, case_id=ref.case_id, version=ref.version, user=ref.user, channel=ref.channel,
                 message_ts=ref.message_ts, view_id=view_id, **fields)
