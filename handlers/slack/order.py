"""`/order <number | #number | email | gid>`: look an order up from any channel, privately.

The command is acked at once with an empty body (Slack shows nothing); the access check
(`[access] lookup`, audited) and the lookup run on the background executor and the answer goes back through the command's `response_url` as
an ephemeral message — that works in DMs and in channels the bot is not in. Should the
response_url fail (expired, unreachable), `chat.postEphemeral` is the fallback.

A pick-list's Show button (`order-open-N`, its value the order gid) is handled the same way
and replaces the list with the order's card (`replace_original` on the click's response_url).
"""

from __future__ import annotations

import logging
import re
import time

import httpx
from slack_bolt import Ack, App

from blocks.ids import ORDER_OPEN_PATTERN
from blocks.order import COMMAND, Problem, UsageView, render_order_answer, render_refused, render_usage
from handlers.slack.errors import correlation_id, where
from handlers.slack.services import services

log = logging.getLogger(__name__)

RESPONSE_URL_TIMEOUT = httpx.Timeout(3.0, connect=2.0)


def register(app: App) -> None:
    """Registers `/order` and the pick-list buttons on the Bolt app."""
    http = httpx.Client(timeout=RESPONSE_URL_TIMEOUT, follow_redirects=False)

    @app.command(COMMAND)
    def on_order(ack: Ack, command: dict, context: dict) -> None:
        ack()
        answer_later(context, http, text=command.get("text") or "", channel=command.get("channel_id"),
                     user=command.get("user_id"), response_url=command.get("response_url"))

    @app.action(re.compile(ORDER_OPEN_PATTERN))
    def on_pick(ack: Ack, body: dict, context: dict) -> None:
        ack()
        channel, user, _ = where(body)
        value = ((body.get("actions") or [{}])[0]).get("value") or ""
        answer_later(context, http, text=value, channel=channel, user=user,
                     response_url=body.get("response_url"), replace=True)


def answer_later(context: dict, http: httpx.Client, *, text: str, channel: str | None, user: str | None,
                 response_url: str | None, replace: bool = False) -> None:
    """After the ack: look up, render, answer privately. Only plain values cross over."""
    svc = services(context)

    def run() -> None:
        started = time.monotonic()
        try:
            # Who may look orders up ([access] lookup); audited whatever the answer.
            refused = svc.lookup.access.check(COMMAND, user=user, channel=channel, query=text,
                                              members=svc.decide.membership.members)
            if refused is not None:
                payload = render_refused(refused)
            else:
                payload = render_order_answer(svc.lookup.lookup(text, permalink=svc.gateway.get_permalink))
        except Exception:
            ref = correlation_id()
            log.exception("order.failed ref=%s user=%s", ref, user)
            payload = render_usage(UsageView(Problem.FAILED, reference=ref,
                                             sample_store=getattr(svc.lookup, "sample_store", False)))
        via = respond(svc, http, payload, channel=channel, user=user, response_url=response_url, replace=replace)
        log.info("order.answered user=%s via=%s ms=%d", user, via, (time.monotonic() - started) * 1000)

    svc.background.submit(run)


def respond(svc, http: httpx.Client, payload: dict, *, channel: str | None, user: str | None,
            response_url: str | None, replace: bool = False) -> str:
    """response_url first (short timeout), then chat.postEphemeral; returns which worked."""
    if response_url and response_url.startswith(("https://", "http://")):
        body = {"response_type": "ephemeral", **payload}
        if replace:
            body["replace_original"] = True
        try:
            resp = http.post(response_url, json=body)
            if resp.is_success:
                return "response_url"
            log.warning("order.response_url_refused status=%s body=%.200s", resp.status_code, resp.text)
        except httpx.HTTPError as exc:
            log.warning("order.response_url_failed error=%s", type(exc).__name__)
    if channel and user:
        try:
            svc.gateway.post_ephemeral(channel, user, text=payload["text"], blocks=payload["blocks"])
            return "ephemeral"
        except Exception:
            log.exception("order.ephemeral_failed user=%s channel=%s", user, channel)
    return "nowhere"
