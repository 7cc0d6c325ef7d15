"""Approve & send on a ticket case: what goes to the helpdesk, as outbox operations.

In order, each keyed by the case and its reply round (so a second click, a retried job or an edited resend can
never post a second reply — the outbox refuses a known key, and the helpdesk adapter finds
the key's marker on the ticket before writing):

1. ticket_post_reply — the draft (or the edited text), public, as the approver's helpdesk
   agent (the agent whose email is the approver's Slack email), else the default agent
   (RETURNSBOT_HELPDESK_AGENT_EMAIL); the card and the note say which.
2. ticket_add_note — "Approved in Slack by …", the decision and what was not done.
3. ticket_set_tags_status — the ticket's tags plus ours and `[tickets] tags`, and the
   status `[tickets] status_after_send` names (solved by default).

The store action a return intent's decision names (a refund, a store credit) is NOT run
from a ticket: the case's return is derived from the ticket (policy/ticket_case.py), and
the store's refund is keyed on a store return that does not exist. The note says so; a
person carries it out in the store (docs/DECISIONS.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from bot.services.ticket_reopen import reply_round
from bot.store import CaseRecord, CaseRepo, OutboxOp
from policy.config import TicketSettings
from policy.models import Action
from policy.ticket_case import review_of
from policy.tickets import Helpdesk, TicketOperation, check_text

TAG = "returnsbot"
MONEY_ACTIONS = (Action.REFUND, Action.STORE_CREDIT, Action.EXCHANGE)


class NoAgent(ValueError):
    """No helpdesk agent to send the reply as."""


def _key(case: CaseRecord, operation: str, round_: int = 0) -> str:
    """Per case, per reply round (bot/services/ticket_reopen.py), per operation: the first
    round keeps the key it always had."""
    at = f"round-{round_}:" if round_ else ""
    return f"returnsbot:{case.source}:case-{case.id}:{at}{operation}"


@dataclass
class TicketSender:
    cases: CaseRepo
    helpdesk_for: Callable[[str], Helpdesk | None]  # a case's source → its helpdesk
    user_email: Callable[[str], str | None] = lambda user_id: None  # Slack users.info, when allowed
    default_agent_email: str | None = None
    settings: TicketSettings = field(default_factory=TicketSettings)  # [tickets]

    def agent(self, case: CaseRecord, user_id: str) -> tuple[str, str]:
        """(agent id, how it was chosen, for the card and the note)."""
        helpdesk = self.helpdesk_for(case.source)
        if helpdesk is None:
            raise NoAgent(f"No helpdesk connected for {case.source}: nothing can be sent.")
        email = self.user_email(user_id)
        agent = helpdesk.find_agent(email) if email else None
        if agent is not None:
            return agent, f"as {email}, the approver's agent"
        default = self.default_agent_email
        agent = helpdesk.find_agent(default) if default else None
        if agent is not None:
            why = f"{email} is no agent in the helpdesk" if email else "the approver's email is unknown to the bot"
            return agent, f"as the default agent {default} ({why})"
        raise NoAgent("No helpdesk agent to send as: the approver's Slack email matches no agent and "
                      "RETURNSBOT_HELPDESK_AGENT_EMAIL is " + ("not an agent." if default else "not set."))

    def ops(self, case: CaseRecord, user_id: str, *, text: str | None = None) -> tuple[list[OutboxOp], dict[str, Any]]:
        """The operations and the decision detail; raises ValueError (NoAgent, no draft,
        empty text) before anything is queued."""
        ctx, assessment = self.cases.snapshot(case)
        ticket, review = ctx.tickets[0], review_of(ctx)
        round_ = reply_round(self.cases, case.id)
        given = text is not None
        if text is None:
            if review is None or review.draft is None:
                raise ValueError("This ticket has no draft to send: edit the reply first.")
            text = review.draft.text
        reply = check_text(text).strip()
        agent, how = self.agent(case, user_id)
        action = assessment.recommendation.action
        note = [f"Approved in Slack by {user_id}: reply sent {how}."]
        edited = given and (review is None or review.draft is None or reply != review.draft.text.strip())
        if edited:
            note.append("The reply was edited before sending.")
        if action in MONEY_ACTIONS and ctx.return_request is not None:
            note.append(f"Decision: {action.label} of {assessment.recommendation.amount.format()} — not carried out "
                        "from the ticket: do it in the store.")
        tags = [t for t in ticket.tags if t != TAG] + [TAG, *self.settings.tags]
        if review is not None:
            tags.append(f"intent-{review.classification.intent.value}")
        ops = [
            OutboxOp(TicketOperation.POST_REPLY, {"ticket_id": ticket.id, "text": reply, "agent": agent},
                     _key(case, TicketOperation.POST_REPLY, round_)),
            OutboxOp(TicketOperation.ADD_NOTE, {"ticket_id": ticket.id, "text": " ".join(note)},
                     _key(case, TicketOperation.ADD_NOTE, round_)),
            OutboxOp(TicketOperation.SET_TAGS_STATUS,
                     {"ticket_id": ticket.id, "tags": list(dict.fromkeys(tags)),
                      "status": self.settings.status_after_send.value},
                     _key(case, TicketOperation.SET_TAGS_STATUS, round_)),
        ]
        return ops, {"sent_as": how, "agent": agent, "edited": edited,
                     "decision": action.value}


def helpdesk_lookup(connectors) -> Callable[[str], Helpdesk | None]:
    """A case's source (the connector's name or a name it handles) → its helpdesk."""
    def find(source: str) -> Helpdesk | None:
        for c in connectors:
            if c.helpdesk is not None and (c.name == source or source in c.handles):
                return c.helpdesk
        return None

    return find

