"""Zendesk as a connector (Capability.TICKETS): the tickets port (tickets.py), the signed
webhook route (webhooks.py), the catch-up poller, the ticket write actions, `check`'s ping."""

from __future__ import annotations

import logging

import httpx

from integrations.connector import Capability, Connector, PollSpec, WebhookRoute
from integrations.helpdesk import ticket_event, tickets_contributor
from integrations.zendesk import mapping, webhooks as zw
from integrations.zendesk.client import ZendeskAPI, default_url
from integrations.zendesk.poller import tickets_poller
from integrations.zendesk.tickets import ZendeskHelpdesk
from policy.models import AuthorKind, DomainEvent, Ticket
from policy.ports import NotFound
from policy.tickets import ticket_actions

log = logging.getLogger(__name__)

NAME = mapping.SOURCE
LABEL = "Zendesk"


class Zendesk:
    def __init__(self, helpdesk: ZendeskHelpdesk, *, secret: str | None, clock) -> None:
        self.helpdesk, self.secret, self.clock = helpdesk, secret, clock

    def ours(self, ticket: Ticket) -> bool:
        """The newest message is a note the API user (ZENDESK_EMAIL) wrote: our own update.
        (A reply posted as the approver's agent is theirs, and is reported.)"""
        if not ticket.messages:
            return False
        newest = ticket.messages[-1]
        return newest.author is AuthorKind.INTERNAL and (newest.author_email or "").lower() == self.helpdesk.api.email.lower()

    def decode(self, topic: str, payload: dict) -> DomainEvent | None:
        ticket_id = zw.ticket_id_of(topic, payload)
        if ticket_id is None:
            return None  # not a ticket's event
        actor = zw.actor_of(payload)
        if actor is not None and actor == self.helpdesk.own_id():
            return None  # our own update coming back
        try:
            ticket = self.helpdesk.get_ticket(ticket_id)
        except NotFound:
            log.info("zendesk.ticket_gone", extra={"ticket": ticket_id})
            return None
        return None if self.ours(ticket) else ticket_event(ticket)

    def route(self) -> WebhookRoute:
        return WebhookRoute(
            path=f"/webhooks/{NAME}", source=NAME,
            verify=lambda body, headers: zw.verify(self.secret, body, headers, now=self.clock()),
            topic=lambda headers: None, delivery_id=lambda headers: None, body_ids=zw.body_ids,
            validate=zw.validate, decode=self.decode)

    def ping(self) -> str:
        user = self.helpdesk.own_user()
        if user.get("role") not in mapping.AGENT_ROLES:
            raise RuntimeError(f"ZENDESK_EMAIL signs in as a {user.get('role') or 'anonymous user'}, not an agent "
                               f"(check ZENDESK_EMAIL and ZENDESK_API_TOKEN)")
        return f"reachable as {user.get('email') or self.helpdesk.api.email} ({user.get('role')})"


def connector_for(zendesk: Zendesk) -> Connector:
    poller = tickets_poller(zendesk.helpdesk, clock=zendesk.clock, ours=zendesk.ours)
    return Connector(
        name=NAME, label=LABEL, handles=frozenset({NAME}), capabilities=frozenset({Capability.TICKETS}),
        helpdesk=zendesk.helpdesk, webhooks=(zendesk.route(),) if zendesk.secret else (),
        pollers=(PollSpec(f"{NAME}.tickets", poller.fetch),), actions=ticket_actions(zendesk.helpdesk),
        contribute=tickets_contributor(zendesk.helpdesk), contribute_timeout=4.0,
        ping=zendesk.ping, admin_label="Zendesk",
        reconnect_hint="check ZENDESK_EMAIL / ZENDESK_API_TOKEN (Admin Center → Zendesk API)")


def connector(settings, *, clock, http: httpx.Client | None = None) -> Connector | None:
    """From settings: None unless ZENDESK_SUBDOMAIN is set."""
    if not settings.zendesk_subdomain:
        return None
    base = (str(settings.zendesk_api_url).rstrip("/") if settings.zendesk_api_url
            else default_url(settings.zendesk_subdomain))
    api = ZendeskAPI(base, settings.zendesk_email, settings.zendesk_api_token.get_secret_value(), http=http)
    secret = settings.zendesk_webhook_secret.get_secret_value() if settings.zendesk_webhook_secret else None
    return connector_for(Zendesk(ZendeskHelpdesk(api), secret=secret, clock=clock))
