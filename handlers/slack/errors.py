"""Work after the ack, and turning failures into something the person who clicked can act on.

Known refusals (not authorised, already decided) become a friendly ephemeral message.
Anything else is logged with a short correlation id, and the person is told that id, so
a report in Slack can be matched to the log line.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any, Callable

from handlers.slack.services import services

log = logging.getLogger(__name__)


def correlation_id() -> str:
    return uuid.uuid4().hex[:8]


def where(body: dict) -> tuple[str | None, str | None, str | None]:
    """(channel, user, thread_ts) to answer in, from any interactive payload."""
    user = (body.get("user") or {}).get("id") or body.get("user_id")
    channel = (body.get("channel") or {}).get("id") or body.get("channel_id")
    container = body.get("container") or {}
    thread = container.get("thread_ts")
    return channel, user, thread


def tell(context: dict, channel: str | None, user: str | None, text: str, thread_ts: str | None = None) -> None:
    if not channel or not user:
        log.info("slack.untold user=%s text=%s", user, text)
        return
    try:
        services(context).gateway.post_ephemeral(channel, user, text=text, thread_ts=thread_ts)
    except Exception:  # telling the user failed too: the log is all we have
        log.exception("slack.ephemeral_failed user=%s", user)


def after_ack(context: dict, work: Callable[[], Any], *, body: dict, refused: tuple[type[Exception], ...]) -> None:
    """Run `work` on the app's background executor, after the ack has gone out.

    Only plain values cross over (the closure holds ids, not the request), which is what
    keeps an ack cheap: Bolt's lazy listeners deep-copy the whole request instead.
    Refusals become an ephemeral message; anything else a logged correlation id.
    """
    svc = services(context)
    channel, user, thread = where(body)

    def run() -> None:
        try:
            work()
        except refused as exc:
            ch, us, th = channel_for_refusal(channel, user, thread, exc)
            tell(context, ch, us, str(exc), th)
        except Exception:
            ref = correlation_id()
            log.exception("slack.handler_failed ref=%s", ref)
            tell(context, channel, user,
                 f"Something went wrong on our side and nothing was changed. Reference: `{ref}`.", thread)

    svc.background.submit(run)


def channel_for_refusal(channel: str | None, user: str | None, thread: str | None,
                        exc: Exception) -> tuple[str | None, str | None, str | None]:
    case = getattr(exc, "case", None)
    if channel is None and case is not None:  # modal submissions carry no channel
        channel = case.escalation_channel if case.escalation_ts else case.slack_channel
    return channel, user, thread


def on_error(error: Exception, body: dict, context: dict, logger: logging.Logger) -> None:
    """Bolt's global error handler, for failures in the ack phase."""
    ref = correlation_id()
    log.error("slack.error ref=%s error=%s", ref, error, exc_info=error)
    channel, user, thread = where(body or {})
    if context and "services" in context:
        tell(context, channel, user, f"Something went wrong on our side and nothing was changed. Reference: `{ref}`.", thread)

