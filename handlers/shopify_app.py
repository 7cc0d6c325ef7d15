"""Shopify's app routes: the authorization-code install and the compliance webhooks.

`GET /shopify/install` and `GET /shopify/callback` hand the query (and the browser's
cookie) to the install flow and send back its answer. `POST /webhooks/shopify/compliance`
verifies the HMAC (401 and nothing done on a bad one), decodes the topic (400 on a
malformed body) and runs the privacy request before answering 200; a failure is a 500,
which Shopify retries (redaction is idempotent, so a retry is safe).
"""

from __future__ import annotations

import json
import logging
from typing import Callable, Protocol

from handlers.http import Headers, Request, Response
from handlers.webhooks import MAX_BODY_BYTES

log = logging.getLogger(__name__)


class Answered(Protocol):
    status: int
    text: str
    headers: dict[str, str]


def _text(answer: Answered) -> Response:
    headers = {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store", **answer.headers}
    return Response(answer.status, answer.text.encode("utf-8"), headers)


class InstallEndpoint:
    def __init__(self, begin: Callable[[str], Answered]) -> None:
        self.begin = begin

    def __call__(self, request: Request) -> Response:
        return _text(self.begin(request.query))


class CallbackEndpoint:
    def __init__(self, callback: Callable[[str, str | None], Answered]) -> None:
        self.callback = callback

    def __call__(self, request: Request) -> Response:
        return _text(self.callback(request.query, request.headers.get("Cookie")))


class ComplianceEndpoint:
    """`verify(body, headers)`; `decode(topic, payload)` raising ValueError when malformed;
    `handle(request)` doing the work and returning a short summary for the answer."""

    def __init__(self, *, verify: Callable[[bytes, Headers], bool], topic: Callable[[Headers], str | None],
                 decode: Callable[[str | None, object], object], handle: Callable[[object], str]) -> None:
        self.verify = verify
        self.topic = topic
        self.decode = decode
        self.handle = handle

    def __call__(self, request: Request) -> Response:
        if len(request.body) > MAX_BODY_BYTES:
            return Response.json(413, {"error": "payload too large"})
        if not self.verify(request.body, request.headers):
            log.warning("webhook.rejected source=shopify.compliance reason=signature remote=%s", request.remote)
            return Response.json(401, {"error": "invalid signature"})
        topic = self.topic(request.headers)
        try:
            privacy_request = self.decode(topic, json.loads(request.body))
        except ValueError as exc:  # json.JSONDecodeError is a ValueError too
            log.warning("webhook.rejected source=shopify.compliance topic=%s reason=malformed error=%s", topic, exc)
            return Response.json(400, {"error": f"malformed payload: {exc}"})
        return Response.json(200, {"ok": True, "done": self.handle(privacy_request)})
