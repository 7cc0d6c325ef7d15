"""Loop Returns as a connector (Capability.RETURNS): returns customers start in Loop's portal.

- Webhooks at POST /webhooks/loop (webhooks.py): signed bodies; each is decoded after the
  200 from the return read again from Loop (`details`, shop currency), never from the body.
- A poller over the returns list (poller.py) catches up what webhooks missed.
- `check`: one read, naming a key without the Returns scope.
- Actions are the decision side's (the lead's): `api` exposes Loop's raw calls
  (process, cancel, flag, close, remove, note, notes, details) for them to build on.
"""

from __future__ import annotations

import logging
from typing import Callable

import httpx

from integrations.connector import Capability, Connector, PollSpec, WebhookRoute
from integrations.loop import events, mapping, webhooks as lw
from integrations.loop.actions import LoopActions, failure_note
from integrations.loop.client import UNAUTHORIZED, LoopAPI, LoopRefused
from integrations.loop.poller import ReturnsPoller
from policy.models import DomainEvent
from policy.ports import IntegrationError

log = logging.getLogger(__name__)

NAME = mapping.SOURCE
LABEL = mapping.LABEL
ADMIN_LABEL = "Loop admin"
SCOPE_HINT = "LOOP_API_KEY refused: the key needs the Returns scope"


class LoopConnector:
    def __init__(self, api: LoopAPI, *, webhook_secret: bytes | None, clock: Callable) -> None:
        self.api, self.webhook_secret, self.clock = api, webhook_secret, clock
        self.actions = LoopActions(api)

    def decode(self, topic: str, payload: dict) -> DomainEvent | None:
        """After the 200: the event the delivery means, from the return as Loop has it now."""
        if topic not in lw.OURS:
            return None  # a trigger we don't subscribe to (giftcard, shipments, label requests)
        return_id = lw.return_id_of(payload)
        if return_id is None:
            raise ValueError("the delivery names no return")
        if topic == lw.PROCESSING_FAILED:
            message = payload.get("message")
            event = events.action_failed(return_id, message if isinstance(message, str) else None, at=self.clock())
            # On the return itself, so a Retry asks Loop to process it again (actions.py);
            # keyed by the delivery, so a redelivery notes it once.
            self.actions.note({"return_id": return_id, "text": failure_note(event.detail["message"])},
                              f"processing-failed:{lw.digest(payload, b'')[:16]}")
            return event
        ret = mapping.loop_return(self.api.details(return_id))
        if topic == lw.LABEL:
            return events.label(ret)
        if topic == lw.RESTOCK:
            return events.restocked(ret, ref=f"restock:{lw.digest(payload, b'')[:16]}")
        return events.for_state(ret)  # created / updated / closed: the state says which

    def route(self) -> WebhookRoute:
        return WebhookRoute(path=f"/webhooks/{NAME}", source=NAME, verify=lw.verifier(self.webhook_secret),
                            topic=lambda headers: None, delivery_id=lambda headers: None, body_ids=lw.body_ids,
                            validate=lw.validate, decode=self.decode)

    def ping(self) -> str:
        """One list read of the last 24 h (Loop's default range)."""
        try:
            body = self.api.get("/warehouse/return/list", state="review")
        except LoopRefused as exc:
            if exc.code == UNAUTHORIZED:
                raise IntegrationError(SCOPE_HINT, retryable=False, system=NAME) from None
            raise
        count = len(body) if isinstance(body, list) else len((body or {}).get("returns") or [])
        return f"key accepted (Returns scope); {count} return(s) in review updated in the last 24 h"


def connector_for(api: LoopAPI, *, webhook_secret: bytes | None, clock: Callable) -> Connector:
    loop = LoopConnector(api, webhook_secret=webhook_secret, clock=clock)
    poller = ReturnsPoller(api, clock=clock)
    return Connector(
        name=NAME, label=LABEL, handles=frozenset({NAME}), capabilities=frozenset({Capability.RETURNS}),
        webhooks=(loop.route(),), pollers=(PollSpec(f"{NAME}.returns", poller.fetch),),
        actions=loop.actions.actions(),
        ping=loop.ping, admin_label=ADMIN_LABEL, admin_url=lambda return_id, **_: mapping.admin_url(return_id),
        reconnect_hint="update LOOP_API_KEY (Loop admin → Developer Tools; the key needs the Returns scope)",
    )


def connector(settings, *, clock, http: httpx.Client | None = None) -> Connector | None:
    """From settings: None without LOOP_API_KEY."""
    if settings.loop_api_key is None:
        return None
    api = LoopAPI(settings.loop_api_key.get_secret_value(), str(settings.loop_api_url), http=http)
    secret = settings.loop_webhook_secret.get_secret_value().encode() if settings.loop_webhook_secret else None
    return connector_for(api, webhook_secret=secret, clock=clock)
