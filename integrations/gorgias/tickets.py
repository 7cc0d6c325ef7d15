"""Gorgias behind the tickets port (policy/tickets.py).

- Markers: a reply or note carries its marker in the message's `external_id` (≤ 255,
  never shown to the customer); before posting, the ticket's messages are searched for it.
- Tags and status: Gorgias has no marker for them, and setting them is idempotent, so the
  check is the state itself: tags and status already as asked → nothing is sent.
- Trashed tickets (`trashed_datetime`) are as good as gone: NotFound, and lists ask
  `trashed=false` (the API's default is to include them).
"""

from __future__ import annotations

import html
from datetime import datetime

from integrations.gorgias import mapping
from integrations.gorgias.client import GorgiasAPI
from integrations.helpdesk import parse_time, write_once
from policy.models import Ticket, TicketStatus
from policy.ports import IntegrationError, NotFound
from policy.tickets import TicketWrite, check_text, marker_for

MAX_TICKETS_OF = 50


class GorgiasHelpdesk:
    name = mapping.SOURCE

    def __init__(self, api: GorgiasAPI, *, ui_url: str | None = None) -> None:
        self.api = api
        self.ui_url = ui_url or api.base_url
        self._own_id: str | None = None

    # --- reads ------------------------------------------------------------------------------

    def _raw(self, ticket_id: str) -> tuple[dict, list[dict]]:
        if not str(ticket_id).isdigit():
            raise NotFound(f"Gorgias ticket {ticket_id!r}: ids are numbers")
        obj = self.api.get(f"/tickets/{ticket_id}")
        if not isinstance(obj, dict) or obj.get("trashed_datetime"):
            raise NotFound(f"Gorgias ticket {ticket_id} is trashed")
        messages = obj.get("messages")
        if not isinstance(messages, list):
            messages = list(self.api.items("/messages", ticket_id=ticket_id, order_by="created_datetime:asc"))
        return obj, messages

    def get_ticket(self, ticket_id: str) -> Ticket:
        obj, messages = self._raw(ticket_id)
        return mapping.ticket(obj, base_url=self.ui_url, messages=messages)

    def recent_tickets(self, since: datetime) -> list[Ticket]:
        found = []
        # Newest first, down to `since`; after a long outage at most the newest MAX_PAGES
        # pages (3,000 changes) are caught up, rather than none.
        for obj in self.api.items("/tickets", trashed="false", order_by="updated_datetime:desc", stop_at_cap=True):
            updated = parse_time(obj.get("updated_datetime"))
            if updated is not None and updated < since:
                break  # newest first: the rest is older
            found.append(mapping.ticket(obj, base_url=self.ui_url, messages=[]))
        return sorted(found, key=lambda t: (t.updated_at, t.id))

    def tickets_of(self, email: str) -> list[Ticket]:
        """The recipe the reference gives: the customer by email, then their tickets."""
        wanted = email.strip().lower()
        out: list[Ticket] = []
        for customer in self.api.get("/customers", email=email.strip(), limit=30).get("data") or ():
            if str(customer.get("email", "")).lower() != wanted:
                continue
            for obj in self.api.items("/tickets", customer_id=customer["id"], trashed="false",
                                      order_by="updated_datetime:desc"):
                out.append(mapping.ticket(obj, base_url=self.ui_url, messages=[]))
                if len(out) >= MAX_TICKETS_OF:
                    break
        return sorted(out, key=lambda t: t.updated_at, reverse=True)

    def find_agent(self, email: str) -> str | None:
        answer = self.api.send("POST", "/search", {"type": "agent", "query": email.strip(), "size": 10})
        items = answer.get("data") if isinstance(answer, dict) else answer  # both shapes are seen
        for user in items or ():
            if isinstance(user, dict) and str(user.get("email", "")).lower() == email.strip().lower():
                return str(user["id"])
        return None

    def own_agent(self) -> str:
        """The API user (GORGIAS_EMAIL): who writes internal notes."""
        if self._own_id is None:
            found = self.find_agent(self.api.email)
            if found is None:
                raise IntegrationError(f"Gorgias has no agent with the email GORGIAS_EMAIL names ({self.api.email})",
                                       retryable=False, system=self.name)
            self._own_id = found
        return self._own_id

    # --- writes -----------------------------------------------------------------------------

    def _find_marker(self, ticket_id: str, marker: str) -> tuple[dict, TicketWrite | None]:
        obj, messages = self._raw(ticket_id)
        for m in messages:
            if isinstance(m, dict) and m.get("external_id") == marker:
                return obj, TicketWrite(ticket_id, f"already on Gorgias ticket {ticket_id}", str(m.get("id")), True)
        return obj, None

    def _post(self, ticket_id: str, text: str, key: str, *, kind: str, body: dict) -> TicketWrite:
        check_text(text)
        marker = marker_for(key)
        seen: dict = {}

        def done():
            seen["ticket"], found = self._find_marker(ticket_id, marker)
            return found

        def write():
            payload = {"via": mapping.VIA, "from_agent": True, "body_text": text,
                       "body_html": html.escape(text).replace("\n", "<br>"), "external_id": marker, **body}
            if payload.get("channel") is None:
                payload["channel"] = seen["ticket"].get("channel") or "email"
            if kind == "reply":
                customer = seen["ticket"].get("customer") or {}
                if customer.get("email"):
                    payload["receiver"] = {"email": customer["email"]}
                    payload["source"] = {"type": payload["channel"], "to": [{"address": customer["email"]}]}
            created = self.api.send("POST", f"/tickets/{ticket_id}/messages", payload) or {}
            return TicketWrite(ticket_id, f"{kind} posted to Gorgias ticket {ticket_id}", str(created.get("id") or ""))

        return write_once(ticket_id, done=done, write=write)

    def post_reply(self, ticket_id: str, *, text: str, agent: str, idempotency_key: str) -> TicketWrite:
        return self._post(ticket_id, text, idempotency_key, kind="reply", body={"sender": {"id": _id(agent)}})

    def add_internal_note(self, ticket_id: str, *, text: str, idempotency_key: str) -> TicketWrite:
        check_text(text)
        return self._post(ticket_id, text, idempotency_key, kind="internal note",
                          body={"channel": mapping.INTERNAL_NOTE, "sender": {"id": _id(self.own_agent())}})

    def set_tags_and_status(self, ticket_id: str, *, tags: tuple[str, ...], status: TicketStatus,
                            idempotency_key: str) -> TicketWrite:
        marker_for(idempotency_key)  # a key is still required: the caller's contract
        wanted = tuple(dict.fromkeys(t.strip() for t in tags if t and t.strip()))
        obj, _ = self._raw(ticket_id)
        current = mapping.ticket(obj, base_url=self.ui_url, messages=[])
        wire = mapping.wire_status(status)
        sent = False
        if obj.get("status") != wire:
            self.api.send("PUT", f"/tickets/{ticket_id}", {"status": wire})
            sent = True
        if set(current.tags) != set(wanted):
            self.api.send("PUT", f"/tickets/{ticket_id}/tags", {"names": list(wanted)})
            sent = True
        return TicketWrite(ticket_id, f"Gorgias ticket {ticket_id} tagged {', '.join(wanted) or '(none)'} and {wire}",
                           repeat=not sent)


def _id(value: str) -> int | str:
    return int(value) if str(value).isdigit() else value
