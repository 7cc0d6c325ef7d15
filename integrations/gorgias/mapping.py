"""Gorgias JSON → the domain (the only place Gorgias's field names live). Lenient: a
field missing or of another type is left out, never a crash (timestamps especially)."""

from __future__ import annotations

import html
import re
from datetime import datetime, timezone

from integrations.helpdesk import parse_time
from policy.models import AuthorKind, Ticket, TicketMessage, TicketStatus
from policy.tickets import is_marker

SOURCE = "gorgias"
INTERNAL_NOTE = "internal-note"  # the channel of an internal note
VIA = "api"
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def html_to_text(text: str) -> str:
    text = re.sub(r"(?i)<br\s*/?>|</p>|</div>", "\n", text)
    return html.unescape(re.sub(r"<[^>]+>", "", text)).strip()


def message(obj: dict) -> TicketMessage:
    sender = obj.get("sender") if isinstance(obj.get("sender"), dict) else {}
    if obj.get("channel") == INTERNAL_NOTE or obj.get("public") is False:
        author = AuthorKind.INTERNAL
    elif obj.get("from_agent"):
        author = AuthorKind.AGENT
    else:
        author = AuthorKind.CUSTOMER
    text = obj.get("body_text") or obj.get("stripped_text")
    if not isinstance(text, str) or not text.strip():
        text = html_to_text(obj["body_html"]) if isinstance(obj.get("body_html"), str) else ""
    external = obj.get("external_id")
    return TicketMessage(
        id=str(obj["id"]), author=author, text=text.strip(),
        created_at=parse_time(obj.get("created_datetime")) or parse_time(obj.get("sent_datetime")) or _EPOCH,
        author_name=_name(sender), author_email=sender.get("email") if isinstance(sender.get("email"), str) else None,
        marker=external if isinstance(external, str) and is_marker(external) else None)


def status(obj: dict) -> TicketStatus:
    if obj.get("status") == "closed":
        return TicketStatus.CLOSED
    return TicketStatus.PENDING if obj.get("snooze_datetime") else TicketStatus.OPEN


def ticket(obj: dict, *, base_url: str, messages: list[dict] | None = None) -> Ticket:
    customer = obj.get("customer") if isinstance(obj.get("customer"), dict) else {}
    raw_messages = messages if messages is not None else obj.get("messages")
    msgs = [message(m) for m in raw_messages or () if isinstance(m, dict) and m.get("id") is not None]
    created = parse_time(obj.get("created_datetime")) or _EPOCH
    survey = obj.get("satisfaction_survey") if isinstance(obj.get("satisfaction_survey"), dict) else {}
    score = survey.get("score")
    return Ticket(
        id=str(obj["id"]), source=SOURCE, subject=str(obj.get("subject") or obj.get("excerpt") or ""),
        status=status(obj), created_at=created,
        updated_at=parse_time(obj.get("updated_datetime")) or parse_time(obj.get("last_message_datetime")) or created,
        requester_name=_name(customer), requester_email=customer.get("email") if isinstance(customer.get("email"), str) else None,
        messages=tuple(sorted(msgs, key=lambda m: m.created_at)),
        tags=tuple(t["name"] for t in obj.get("tags") or () if isinstance(t, dict) and isinstance(t.get("name"), str)),
        channel=obj.get("channel") if isinstance(obj.get("channel"), str) else None,
        url=f"{base_url.rstrip('/')}/app/ticket/{obj['id']}",
        language=obj.get("language") if isinstance(obj.get("language"), str) else None,
        csat=int(score) if isinstance(score, (int, float)) and not isinstance(score, bool) else None,
    )


def _name(person: dict) -> str | None:
    name = person.get("name")
    if isinstance(name, str) and name.strip():
        return name.strip()
    parts = [person.get(k) for k in ("firstname", "lastname") if isinstance(person.get(k), str) and person.get(k)]
    return " ".join(parts) or None


def wire_status(value: TicketStatus) -> str:
    """Gorgias has open and closed only: pending is open (snoozing is a person's call)."""
    return "closed" if value in (TicketStatus.SOLVED, TicketStatus.CLOSED) else "open"
