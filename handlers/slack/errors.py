"""Work after the ack, and turning failures into something the person who clicked can act on.

Known refusals (not authorised, already decided) become a friendly ephemeral message.
Anything else is logged with a short correlation id, and the person is told that id, so
a report in Slack can be matched to the log line. Telling anyone anything is a Slack call,
so it always happens after the ack, on the background executor.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from bot.services.clicks import APOLOGY, new_correlation_id as correlation_id  # one format for every reference
from handlers.slack.services import services

log = logging.getLogger(__name__)

__all__ = ["APOLOGY", "after_ack", "correlation_id", "on_error", "tell", "tell_later", "where"]


def where(body: dict) -> tuple[str | None, str | None, str | None]:
    """(channel, user, thread_ts) to answer in, from any interactive payload."""
    user = (body.get("user") or {}).get("id") or body.get("user_id")
    channel = (body.get("channel") or {}).get("id") or body.get("channel_id")
    container = body.get("container") or {}
    channel = channel or container.get("channel_id")
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


def tell_later(context: dict, channel: str | None, user: str | None, text: str, thread_ts: str | None = None) -> None:
    """`tell`, after the ack."""
    services(context).background.submit(tell, context, channel, user, text, thread_ts)


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
            tell(context, channel, user, str(exc), thread)
        except Exception:
            ref = correlation_id()
            log.exception("slack.handler_failed ref=%s", ref, extra={"correlation_id": ref, "user": user})
            tell(context, channel, user, APOLOGY.format(ref=ref), thread)

    svc.background.submit(run)


def on_error(error: Exception, body: dict, context: dict, logger: logging.Logger) -> None:
    """Bolt's global error handler, for failures in the ack phase: log, and tell the person
    after the ack (never a Slack call from here)."""
    ref = correlation_id()
    log.error("slack.error ref=%s error=%s", ref, error, exc_info=error, extra={"correlation_id": ref})
    channel, user, thread = where(body or {})
    if context and "services" in context:
        try:
            tell_later(context, channel, user, APOLOGY.format(ref=ref), thread)
        except Exception:  # no executor to be had (shutting down): the log line stands
            log.warning("slack.error_untold ref=%s", ref)
