"""Ticket triage by Claude, with the rules as the fallback.

Claude answers through one forced tool (`record_triage`, a JSON schema with enums), so
the answer is structured or it is nothing: a missing tool call, a value outside the enums,
an unknown key → the rules decide and the classification says why. An order number from
Claude is kept only if the ticket writes it or it is one of the requester's orders (a
model must not invent the order a ticket is about).

Sent: the subject and text (escaped, delimited, card numbers removed) and the candidate
orders' names, dates and item titles. Not sent: the requester's email, amounts, anything
about payments.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.llm.client import Claude, ClaudeUnavailable
from bot.llm.prompts import DATA_RULE, as_data, escape
from policy.models import Order
from policy.triage import (Classification, Intent, Sentiment, Urgency, classify_by_rules, order_numbers_in,
                           pick_order)

log = logging.getLogger(__name__)

TOOL_NAME = "record_triage"
MAX_TOKENS = 300
MAX_TICKET_CHARS = 8000  # a long thread: the start says what it is about

TRIAGE_TOOL = {
    "name": TOOL_NAME,
    "description": "Record the triage of one customer support ticket for an online shop.",
    "input_schema": {
        "type": "object",
        "properties": {
            "intent": {"type": "string", "enum": [i.value for i in Intent],
                       "description": "return: wants to return/exchange/refund an item; delivery: where is my "
                                      "order, tracking, delivery problems; product_question: sizing, stock, "
                                      "materials; wholesale: bulk or reseller enquiry; complaint: unhappy about "
                                      "service or quality and says so; other: anything else."},
            "sentiment": {"type": "string", "enum": [s.value for s in Sentiment]},
            "urgency": {"type": "string", "enum": [u.value for u in Urgency],
                        "description": "high: time-critical (an event, a deadline, legal or chargeback threats, "
                                       "a repeated chase); low: no time pressure."},
            "language": {"type": "string", "pattern": "^[a-z]{2}$",
                         "description": "ISO 639-1 code of the language the customer wrote in."},
            "order_ref": {"type": ["string", "null"],
                          "description": "The order the ticket is about, as written in the ticket (e.g. #1001) "
                                         "or one of the candidate orders; null if none fits."},
        },
        "required": ["intent", "sentiment", "urgency", "language", "order_ref"],
        "additionalProperties": False,
    },
    "strict": True,
}

SYSTEM = (
    "You triage customer support tickets for an online shop. Call the record_triage tool exactly once. "
    + DATA_RULE
)


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    intent: Intent
    sentiment: Sentiment
    urgency: Urgency
    language: str = Field(pattern=r"^[a-z]{2}$")
    order_ref: str | None


def classify(ticket_text: str, *, subject: str = "", requester_email: str | None = None,
             candidates: Sequence[Order] = (), claude: Claude | None) -> Classification:
    """Claude's classification, else the rules' with the reason (never an exception)."""
    def rules(reason: str) -> Classification:
        return classify_by_rules(ticket_text, subject=subject, requester_email=requester_email,
                                 candidates=candidates, reason=reason)

    if claude is None:
        return rules("no ANTHROPIC_API_KEY")
    try:
        answer = claude.create(model=claude.classify_model, max_tokens=MAX_TOKENS, system=SYSTEM,
                               tools=[TRIAGE_TOOL], tool_choice={"type": "tool", "name": TOOL_NAME},
                               messages=[{"role": "user", "content": _message(ticket_text, subject, candidates)}],
                               purpose="classify")
    except ClaudeUnavailable as exc:
        log.warning("llm.classify_fallback", extra={"reason": str(exc)})
        return rules(str(exc))
    raw = answer.tool_input(TOOL_NAME)
    if raw is None:
        return _spent(rules(f"Claude's answer had no {TOOL_NAME} call (stop_reason {answer.stop_reason})"), answer)
    try:
        parsed = _Answer.model_validate(raw)
    except ValidationError as exc:
        where = ", ".join(".".join(map(str, e["loc"])) or "answer" for e in exc.errors())
        return _spent(rules(f"Claude's answer was malformed ({where})"), answer)
    return Classification(intent=parsed.intent, sentiment=parsed.sentiment, urgency=parsed.urgency,
                          language=parsed.language,
                          order_ref=_checked_order(parsed.order_ref, f"{subject}\n{ticket_text}", candidates),
                          by="claude", tokens=answer.tokens)


def _spent(classification: Classification, answer) -> Classification:
    # The rules decided, but the call was made and billed: the caller records it.
    return classification.model_copy(update={"tokens": answer.tokens})


def _message(text: str, subject: str, candidates: Sequence[Order]) -> str:
    orders = "\n".join(
        f"{escape(o.name)} placed {o.created_at.date().isoformat()}: "
        + escape(", ".join(li.title for li in o.line_items) or "no items")
        for o in sorted(candidates, key=lambda o: o.created_at, reverse=True)[:5]
    ) or "none"
    return (f"The requester's recent orders:\n<candidate_orders>\n{orders}\n</candidate_orders>\n\n"
            f"{as_data('ticket_subject', subject)}\n{as_data('customer_message', text[:MAX_TICKET_CHARS])}\n\n"
            "Triage this ticket with the record_triage tool.")


def _checked_order(ref: str | None, text: str, candidates: Sequence[Order]) -> str | None:
    """Claude's order, if the ticket or the candidates have it; else the rules' pick."""
    if ref:
        digits = re.sub(r"\D", "", ref)
        for order in candidates:
            if digits and re.sub(r"\D", "", order.name) == digits:
                return order.name
        if digits and f"#{digits}" in order_numbers_in(text):
            return f"#{digits}"
    return pick_order(text, candidates)
