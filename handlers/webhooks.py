"""Inbound store-system webhooks: validate in named steps, each failing with its status,
then hand the raw delivery to the inbox and answer fast. Nothing is stored for a request
that fails any step."""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Callable, Protocol

from handlers.http import Headers, Request, Response

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024


class Inbox(Protocol):
    def receive(self, *, source: str, delivery_id: str, topic: str, body: bytes) -> bool: ...


class WebhookSpec(Protocol):
    """What differs between vendors (a connector's WebhookRoute): how to verify, where the
    ids are, how to validate."""

    source: str
    verify: Callable[[bytes, Headers], bool]  # signature over the raw body
    topic: Callable[[Headers], str | None]
    delivery_id: Callable[[Headers], str | None]
    validate: Callable[[str, dict], object]  # raises ValueError for a malformed payload
    observe: Callable[[Headers], None]  # told the headers of each accepted delivery
    path: str
    path_secret: Callable[[str], bool] | None  # the secret in the URL (unsigned vendors)


class WebhookEndpoint:
    def __init__(self, spec: WebhookSpec, inbox: Inbox) -> None:
        self.spec = spec
        self.inbox = inbox

    def __call__(self, request: Request) -> Response:
        source = self.spec.source
        if self.spec.path_secret is not None:
            secret = request.path[len(self.spec.path.rstrip("/") + "/"):]
            if not self.spec.path_secret(secret):
                # As if there were no such route: a wrong secret learns nothing, stores nothing.
                log.warning("webhook.rejected source=%s reason=path_secret remote=%s", source, request.remote)
                return Response.json(404, {"error": "not found"})
        if len(request.body) > MAX_BODY_BYTES:
            return Response.json(413, {"error": "payload too large"})
        if not self.spec.verify(request.body, request.headers):
            log.warning("webhook.rejected source=%s reason=signature remote=%s", source, request.remote)
            return Response.json(401, {"error": "invalid signature"})
        topic = self.spec.topic(request.headers)
        body_ids = getattr(self.spec, "body_ids", None)
        from_body: tuple[str | None, str | None] = (None, None)
        if body_ids is not None and not topic:
            try:
                parsed = json.loads(request.body)
                from_body = body_ids(parsed) if isinstance(parsed, dict) else (None, None)
            except (ValueError, RecursionError):
                pass  # reported as malformed below
            topic = from_body[0]
        if not topic:
            return Response.json(400, {"error": "missing topic header"})
        try:
            payload = json.loads(request.body)
            if not isinstance(payload, dict):
                raise ValueError("expected a JSON object")
            self.spec.validate(topic, payload)
        except RecursionError:  # nested deeper than the parser goes: valid JSON, but no webhook of ours
            log.warning("webhook.rejected source=%s topic=%s reason=malformed error=too deeply nested", source, topic)
            return Response.json(400, {"error": "malformed payload: nested too deeply"})
        except ValueError as exc:  # json.JSONDecodeError is a ValueError too
            log.warning("webhook.rejected source=%s topic=%s reason=malformed error=%s", source, topic, exc)
            return Response.json(400, {"error": f"malformed payload: {exc}"})
        # A delivery without an id still dedupes: the same bytes are the same delivery.
        delivery = self.spec.delivery_id(request.headers) or from_body[1] or "sha256:" + hashlib.sha256(request.body).hexdigest()
        new = self.inbox.receive(source=source, delivery_id=delivery, topic=topic, body=request.body)
        self.spec.observe(request.headers)
        return Response.json(200, {"ok": True, "duplicate": not new})
