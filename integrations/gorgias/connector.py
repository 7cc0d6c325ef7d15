"""Gorgias as a connector (Capability.TICKETS): the tickets port (tickets.py), its HTTP
integration route (webhooks.py), the catch-up poller, the ticket write actions and
`check`'s ping."""

from __future__ import annotations

import logging

import httpx

from integrations.connector import Capability, Connector, PollSpec, WebhookRoute
from integrations.gorgias import mapping, webhooks as gw
from integrations.gorgias.client import GorgiasAPI, default_url
from integrations.gorgias.poller import tickets_poller
from integrations.gorgias.tickets import GorgiasHelpdesk
from integrations.helpdesk import ticket_event, tickets_contributor
from policy.models import DomainEvent, Ticket
from policy.ports import NotFound
from policy.tickets import ticket_actions

log = logging.getLogger(__name__)

NAME = mapping.SOURCE
LABEL = "Gorgias"


def ours(ticket: Ticket) -> bool:
    """The newest message is one returnsbot wrote (it carries a marker): our own write
    coming back through the integration, nothing new from anyone."""
    return bool(ticket.messages) and ticket.messages[-1].marker is not None


class Gorgias:
    def __init__(self, helpdesk: GorgiasHelpdesk, *, token: str | None, clock) -> None:
        self.helpdesk, self.token, self.clock = helpdesk, token, clock

    def decode(self, topic: str, payload: dict) -> DomainEvent | None:
        try:
            ticket = self.helpdesk.get_ticket(gw.ticket_id_of(payload))
        except NotFound:
            log.info("gorgias.ticket_gone", extra={"ticket": payload.get("ticket_id")})
            return None
        if ours(ticket):
            return None
        return ticket_event(ticket)

    def route(self) -> WebhookRoute:
        return WebhookRoute(
            path=f"/webhooks/{NAME}/", source=NAME, verify=lambda body, headers: True,  # the path's token is it
            topic=lambda headers: gw.TOPIC, delivery_id=lambda headers: None, validate=gw.validate,
            decode=self.decode, path_secret=lambda given: gw.token_matches(self.token, given))

    def ping(self) -> str:
        self.helpdesk.api.get("/tickets", limit=1, trashed="false")
        return f"reachable as {self.helpdesk.api.email}"


def connector_for(gorgias: Gorgias) -> Connector:
    poller = tickets_poller(gorgias.helpdesk, clock=gorgias.clock, ours=ours)
    return Connector(
        name=NAME, label=LABEL, handles=frozenset({NAME}), capabilities=frozenset({Capability.TICKETS}),
        helpdesk=gorgias.helpdesk, webhooks=(gorgias.route(),) if gorgias.token else (),
        pollers=(PollSpec(f"{NAME}.tickets", poller.fetch),), actions=ticket_actions(gorgias.helpdesk),
        contribute=tickets_contributor(gorgias.helpdesk), contribute_timeout=4.0,
        ping=gorgias.ping, admin_label="Gorgias",
        reconnect_hint="check GORGIAS_EMAIL / GORGIAS_API_KEY (Settings → REST API)")


def connector(settings, *, clock, http: httpx.Client | None = None) -> Connector | None:
    """From settings: None unless GORGIAS_DOMAIN is set."""
    if not settings.gorgias_domain:
        return None
    base = str(settings.gorgias_api_url).rstrip("/") if settings.gorgias_api_url else default_url(settings.gorgias_domain)
    api = GorgiasAPI(base, settings.gorgias_email, settings.gorgias_api_key.get_secret_value(), http=http)
    token = settings.gorgias_webhook_token.get_secret_value() if settings.gorgias_webhook_token else None
    return connector_for(Gorgias(GorgiasHelpdesk(api), token=token, clock=clock))
