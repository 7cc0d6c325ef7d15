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

The store action a return intent's decision names runs first, in the same ordered queue
(bot/services/ticket_returns.py: the return opened in the store and its refund or store
credit, or a returnless refund on the order), so a step that fails holds the reply back. A return case the ticket joined carries out its own decision
(DecideService) and then these three; the helpdesk is the ticket's, never the case's source.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from bot.services.ticket_reopen import reply_round
from bot.store import CaseRecord, CaseRepo, OutboxOp
from bot.services.ticket_returns import store_step
from policy.config import Policy, TicketSettings
from policy.ticket_case import review_of
from policy.tickets import Helpdesk, TicketOperation, check_text

TAG = "returnsbot"


class NoAgent(ValueError):
    """No helpdesk agent to send the reply as."""


def _key(case: CaseRecord, helpdesk: str, operation: str, round_: int = 0) -> str:
    """Per case, per reply round (bot/services/ticket_reopen.py), per operation: the first
    round keeps the key it always had."""
    at = f"round-{round_}:" if round_ else ""
    return f"returnsbot:{helpdesk}:case-{case.id}:{at}{operation}"


@dataclass
class TicketSender:
    cases: CaseRepo
    helpdesk_for: Callable[[str], Helpdesk | None]  # a case's source → its helpdesk
    # A Slack user → (their email, or None and why not): SlackGateway.email_of (users.info),
    # so the card can say why the default agent sent it (a missing scope, no email given).
    email_lookup: Callable[[str], tuple[str | None, str | None]] = lambda user_id: (None, None)
    default_agent_email: str | None = None
    settings: TicketSettings = field(default_factory=TicketSettings)  # [tickets]
    policy: Policy | None = None  # `[returns] refund_on` for a ticket's own return

    def agent(self, case: CaseRecord, user_id: str, helpdesk_name: str | None = None) -> tuple[str, str]:
        """(agent id, how it was chosen, for the card and the note)."""
        helpdesk_name = helpdesk_name or case.source
        helpdesk = self.helpdesk_for(helpdesk_name)
        if helpdesk is None:
            raise NoAgent(f"No helpdesk connected for {helpdesk_name}: nothing can be sent.")
        email, unknown = self.email_lookup(user_id)
        agent = helpdesk.find_agent(email) if email else None
        if agent is not None:
            return agent, f"as {email}, the approver's agent"
        default = self.default_agent_email
        agent = helpdesk.find_agent(default) if default else None
        why = (f"{email} is no agent in the helpdesk" if email
               else unknown or "the approver's email is unknown to the bot")
        if agent is not None:
            return agent, f"as the default agent {default} ({why})"
        raise NoAgent(f"No helpdesk agent to send as: {why}, and RETURNSBOT_HELPDESK_AGENT_EMAIL is "
                      + ("not an agent." if default else "not set."))

    def ops(self, case: CaseRecord, user_id: str, *, text: str | None = None,
            decided: str | None = None) -> tuple[list[OutboxOp], dict[str, Any]]:
        """The operations and the decision detail; raises ValueError (NoAgent, no draft,
        empty text) before anything is queued. A TICKET case's own return decision runs in
        the store first; for a return case the ticket joined, `decided` words the decision
        the case carries out itself (DecideService) for the note."""
        ctx, assessment = self.cases.snapshot(case)
        ticket, review = ctx.tickets[0], review_of(ctx)
        round_ = reply_round(self.cases, case.id)
        given = text is not None
        if text is None:
            if review is None or review.draft is None:
                raise ValueError("This ticket has no draft to send: edit the reply first.")
            text = review.draft.text
        reply = check_text(text).strip()
        agent, how = self.agent(case, user_id, ticket.source)
        action = assessment.recommendation.action
        note = [f"Approved in Slack by {user_id}: reply sent {how}."]
        edited = given and (review is None or review.draft is None or reply != review.draft.text.strip())
        if edited:
            note.append("The reply was edited before sending.")
        step = store_step(case, ctx, assessment, self.policy)
        if step.note:
            note.append(step.note)
        if decided:
            note.append(f"Decision: {decided}.")
        tags = [t for t in ticket.tags if t != TAG] + [TAG, *self.settings.tags]
        if review is not None:
            tags.append(f"intent-{review.classification.intent.value}")
        helpdesk = ticket.source
        ops = [
            *step.ops,
            OutboxOp(TicketOperation.POST_REPLY, {"ticket_id": ticket.id, "text": reply, "agent": agent},
                     _key(case, helpdesk, TicketOperation.POST_REPLY, round_), system=helpdesk),
            OutboxOp(TicketOperation.ADD_NOTE, {"ticket_id": ticket.id, "text": " ".join(note)},
                     _key(case, helpdesk, TicketOperation.ADD_NOTE, round_), system=helpdesk),
            OutboxOp(TicketOperation.SET_TAGS_STATUS,
                     {"ticket_id": ticket.id, "tags": list(dict.fromkeys(tags)),
                      "status": self.settings.status_after_send.value},
                     _key(case, helpdesk, TicketOperation.SET_TAGS_STATUS, round_), system=helpdesk),
        ]
        detail = {"sent_as": how, "agent": agent, "edited": edited, "decision": action.value}
        if step.ops:
            detail["store"] = [op.operation for op in step.ops]
        detail.update(step.detail)  # money pending receipt (the lifecycle reads it), a returnless refund
        return ops, detail

    def message_ops(self, case: CaseRecord, user_id: str, *, source: str, ticket_id: str, text: str,
                    note: str) -> tuple[list[OutboxOp], dict[str, Any]]:
        """A return case's decision told on the customer's open ticket (one it did not
        join): the message, public, and a note; the ticket's tags and status are left as the
        team has them (the ticket may be about more). Raises ValueError (NoAgent, empty
        text) before anything is queued."""
        reply = check_text(text).strip()
        agent, how = self.agent(case, user_id, source)
        ops = [
            OutboxOp(TicketOperation.POST_REPLY, {"ticket_id": ticket_id, "text": reply, "agent": agent},
                     _key(case, source, TicketOperation.POST_REPLY), system=source),
            OutboxOp(TicketOperation.ADD_NOTE, {"ticket_id": ticket_id, "text": f"{note} Message sent {how}."},
                     _key(case, source, TicketOperation.ADD_NOTE), system=source),
        ]
        return ops, {"ticket": ticket_id, "sent_as": how, "agent": agent}


def helpdesk_lookup(connectors) -> Callable[[str], Helpdesk | None]:
    """A case's source (the connector's name or a name it handles) → its helpdesk."""
    def find(source: str) -> Helpdesk | None:
        for c in connectors:
            if c.helpdesk is not None and (c.name == source or source in c.handles):
                return c.helpdesk
        return None

    return find

