"""Zendesk JSON → the domain (the only place Zendesk's field names live). Lenient:
missing fields are left out, ids may be numbers or (in webhook events) strings."""

from __future__ import annotations

from datetime import datetime, timezone

from integrations.helpdesk import parse_time
from policy.models import AuthorKind, Ticket, TicketMessage, TicketStatus
from policy.tickets import is_marker

SOURCE = "zendesk"
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
STATUSES = {"new": TicketStatus.OPEN, "open": TicketStatus.OPEN, "pending": TicketStatus.PENDING,
            "hold": TicketStatus.PENDING, "solved": TicketStatus.SOLVED, "closed": TicketStatus.CLOSED}
# A closed ticket can't be updated and Zendesk closes solved ones itself: we ask "solved".
WIRE_STATUS = {TicketStatus.OPEN: "open", TicketStatus.PENDING: "pending", TicketStatus.SOLVED: "solved",
               TicketStatus.CLOSED: "solved"}
CSAT = {"good": 5, "bad": 1}  # Zendesk's two-point rating on our 1–5 scale
AGENT_ROLES = ("agent", "admin")


def message(obj: dict, *, requester_id: object, users: dict[str, dict]) -> TicketMessage:
    author_id = str(obj.get("author_id"))
    user = users.get(author_id, {})
    if obj.get("public") is False:
        author = AuthorKind.INTERNAL
    elif author_id == str(requester_id) or user.get("role") == "end-user":
        author = AuthorKind.CUSTOMER
    else:
        author = AuthorKind.AGENT
    text = obj.get("plain_body") or obj.get("body") or ""
    return TicketMessage(id=str(obj["id"]), author=author, text=str(text).strip(),
                         created_at=parse_time(obj.get("created_at")) or _EPOCH,
                         author_name=user.get("name") if isinstance(user.get("name"), str) else None,
                         author_email=user.get("email") if isinstance(user.get("email"), str) else None)


def ticket(obj: dict, *, base_url: str, comments: list[dict] = (), users: dict[str, dict] | None = None,
           requester: dict | None = None) -> Ticket:
    users = users or {}
    requester = requester or users.get(str(obj.get("requester_id"))) or {}
    msgs = [message(c, requester_id=obj.get("requester_id"), users=users) for c in comments
            if isinstance(c, dict) and c.get("id") is not None]
    created = parse_time(obj.get("created_at")) or _EPOCH
    rating = obj.get("satisfaction_rating") if isinstance(obj.get("satisfaction_rating"), dict) else {}
    via = obj.get("via") if isinstance(obj.get("via"), dict) else {}
    locale = requester.get("locale")
    return Ticket(
        id=str(obj["id"]), source=SOURCE, subject=str(obj.get("subject") or obj.get("raw_subject") or ""),
        status=STATUSES.get(str(obj.get("status", "")).lower(), TicketStatus.OPEN), created_at=created,
        updated_at=parse_time(obj.get("updated_at")) or created,
        requester_name=requester.get("name") if isinstance(requester.get("name"), str) else None,
        requester_email=requester.get("email") if isinstance(requester.get("email"), str) else None,
        messages=tuple(sorted(msgs, key=lambda m: m.created_at)),
        tags=tuple(t for t in obj.get("tags") or () if isinstance(t, str) and not is_marker(t)),  # markers: ours
        channel=via.get("channel") if isinstance(via.get("channel"), str) else None,
        url=f"{base_url.rstrip('/')}/agent/tickets/{obj['id']}",
        language=locale.split("-")[0].lower() if isinstance(locale, str) and locale else None,
        csat=CSAT.get(str(rating.get("score", "")).lower()),
    )


def users_by_id(records: list) -> dict[str, dict]:
    return {str(u["id"]): u for u in records or () if isinstance(u, dict) and u.get("id") is not None}
