"""Zendesk behind the tickets port (policy/tickets.py).

Every write is one Update Ticket (`PUT /api/v2/tickets/{id}`): a comment (`public: false`
is an internal note), or status and tags. Markers: the write adds its marker tag in that
same update, a safe one (`safe_update` with `updated_stamp` = the `updated_at` we read),
so the marker is there exactly when the write is. Before writing, the ticket's tags are
read; the marker there → done. A 409 (the ticket changed since we read it: a customer's
message, an agent's edit) or a lost answer → read again, look again, write again.
Replacing tags keeps every marker (they are what makes a retry safe).
"""

from __future__ import annotations

from datetime import datetime, timezone

from integrations.helpdesk import write_once
from integrations.zendesk import mapping
from integrations.zendesk.client import ZendeskAPI
from policy.models import Ticket, TicketStatus
from policy.ports import IntegrationError, NotFound
from policy.tickets import TicketWrite, check_text, is_marker, marker_for

MAX_TICKETS_OF = 100


class ZendeskHelpdesk:
    name = mapping.SOURCE

    def __init__(self, api: ZendeskAPI, *, ui_url: str | None = None) -> None:
        self.api = api
        self.ui_url = ui_url or api.base_url
        self._own_id: str | None = None

    # --- reads ------------------------------------------------------------------------------

    def _raw(self, ticket_id: str) -> dict:
        if not str(ticket_id).isdigit():
            raise NotFound(f"Zendesk ticket {ticket_id!r}: ids are numbers")
        return self.api.get(f"/tickets/{ticket_id}")["ticket"]

    def get_ticket(self, ticket_id: str) -> Ticket:
        obj = self._raw(ticket_id)
        comments, side = self.api.cursor_items(f"/tickets/{ticket_id}/comments", "comments", include="users")
        users = mapping.users_by_id(side.get("users", []))
        requester = users.get(str(obj.get("requester_id")))
        if requester is None and obj.get("requester_id") is not None:
            try:
                requester = self.api.get(f"/users/{obj['requester_id']}").get("user")
            except NotFound:
                requester = None
        return mapping.ticket(obj, base_url=self.ui_url, comments=comments, users=users, requester=requester)

    def recent_tickets(self, since: datetime) -> list[Ticket]:
        stamp = since.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        found = [mapping.ticket(r, base_url=self.ui_url) for r in self.api.search(f"type:ticket updated>={stamp}")
                 if r.get("result_type", "ticket") == "ticket"]
        return sorted((t for t in found if t.updated_at >= since.replace(microsecond=0)),
                      key=lambda t: (t.updated_at, t.id))

    def tickets_of(self, email: str) -> list[Ticket]:
        email = _email(email)
        out = []
        for r in self.api.search(f"type:ticket requester:{email}", sort_order="desc"):
            if r.get("result_type", "ticket") == "ticket":
                t = mapping.ticket(r, base_url=self.ui_url)
                out.append(t.model_copy(update={"requester_email": t.requester_email or email}))
            if len(out) >= MAX_TICKETS_OF:
                break
        return sorted(out, key=lambda t: t.updated_at, reverse=True)

    def find_agent(self, email: str) -> str | None:
        email = _email(email)
        users = self.api.get("/users/search", query=f"email:{email}").get("users") or ()
        for user in users:
            if (str(user.get("email", "")).lower() == email.lower()
                    and user.get("role") in mapping.AGENT_ROLES and user.get("active", True)):
                return str(user["id"])
        return None

    def own_user(self) -> dict:
        return self.api.get("/users/me").get("user") or {}

    def own_id(self) -> str | None:
        if self._own_id is None:
            self._own_id = str(self.own_user().get("id") or "") or None
        return self._own_id

    # --- writes -----------------------------------------------------------------------------

    def _update(self, ticket_id: str, key: str, change, summary: str) -> TicketWrite:
        marker = marker_for(key)
        seen: dict = {}

        def done():
            seen["ticket"] = obj = self._raw(ticket_id)
            if marker in (obj.get("tags") or ()):
                return TicketWrite(ticket_id, f"already on Zendesk ticket {ticket_id}", repeat=True)
            return None

        def write():
            obj = seen["ticket"]
            update = change(obj)
            tags = update.pop("tags", None)
            tags = list(obj.get("tags") or ()) if tags is None else tags
            update["tags"] = list(dict.fromkeys([*tags, *(t for t in obj.get("tags") or () if is_marker(t)), marker]))
            update.update({"safe_update": True, "updated_stamp": obj.get("updated_at")})
            answer = self.api.update_ticket(ticket_id, update)
            comment = next((e for e in (answer.get("audit") or {}).get("events") or ()
                            if isinstance(e, dict) and e.get("type") == "Comment"), {})
            return TicketWrite(ticket_id, summary, str(comment.get("id")) if comment.get("id") else None)

        return write_once(ticket_id, done=done, write=write)

    def post_reply(self, ticket_id: str, *, text: str, agent: str, idempotency_key: str) -> TicketWrite:
        check_text(text)
        author = int(agent) if str(agent).isdigit() else agent
        return self._update(ticket_id, idempotency_key,
                            lambda obj: {"comment": {"body": text, "public": True, "author_id": author}},
                            f"reply posted to Zendesk ticket {ticket_id}")

    def add_internal_note(self, ticket_id: str, *, text: str, idempotency_key: str) -> TicketWrite:
        check_text(text)
        return self._update(ticket_id, idempotency_key, lambda obj: {"comment": {"body": text, "public": False}},
                            f"internal note added to Zendesk ticket {ticket_id}")

    def set_tags_and_status(self, ticket_id: str, *, tags: tuple[str, ...], status: TicketStatus,
                            idempotency_key: str) -> TicketWrite:
        wanted = [t.strip().lower().replace(" ", "_") for t in tags if t and t.strip()]  # Zendesk's tag form
        wire = mapping.WIRE_STATUS[TicketStatus(status)]
        return self._update(ticket_id, idempotency_key, lambda obj: {"status": wire, "tags": wanted},
                            f"Zendesk ticket {ticket_id} tagged {', '.join(wanted) or '(none)'} and {wire}")


def _email(text: str) -> str:
    """An address as one search term: anything else could add terms to the query."""
    email = (text or "").strip()
    if "@" not in email or any(c.isspace() or c in '"()<>:' for c in email):
        raise ValueError(f"not an email address: {email!r}")
    return email
