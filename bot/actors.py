"""Who did something: a Slack user id, or one of returnsbot's own actors.

Audit rows, decisions and cases record an actor string. returnsbot's own actors share a
prefix, so SQL can tell people from automation (`AUTOMATED_LIKE`) and renderers can name
them instead of showing an id.
"""

from __future__ import annotations

from blocks.format import mention

PREFIX = "returnsbot:"
AUTO_APPROVER = PREFIX + "auto-approve"  # the policy approved a clean case
EXTERNAL = PREFIX + "external"  # decided in the store admin, reported back by webhook
EXECUTOR = PREFIX + "executor"  # the outbox worker carrying a decision out
SLA = PREFIX + "sla"  # the SLA timer escalating a case nobody decided
CARRIER = PREFIX + "carrier"  # a delayed-shipment case closed by the parcel's own progress
MESSAGE_DELETED = PREFIX + "message-deleted"  # retired a playbook entry whose reply was deleted

AUTOMATED_LIKE = PREFIX + "%"  # SQL LIKE pattern for every actor above

_NAMES = {AUTO_APPROVER: "policy", EXTERNAL: "the store admin", SLA: "the SLA timer", CARRIER: "the carrier"}


def is_person(actor: str | None) -> bool:
    return bool(actor) and not actor.startswith(PREFIX)


def name(actor: str) -> str:
    """A Slack id for a person (renderers turn it into a mention), else what we call it."""
    return actor if is_person(actor) else _NAMES.get(actor, "returnsbot")


def display(actor: str | None) -> str:
    """mrkdwn for a message: a mention for a person, a name for returnsbot's own actors."""
    return mention(actor) if is_person(actor) else _NAMES.get(actor or "", "returnsbot")
