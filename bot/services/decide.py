"""Decide: a person approves, denies or escalates a case.

Authorise by amount tier → compare-and-set the status (with audit, decision and outbox rows
in the same transaction) → the outbox worker carries it out, the card sync re-renders the
card. A refusal (not authorised, already decided, stale) changes nothing but the audit log.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Callable

from blocks.format import ago
from bot import actors
from bot.clock import Clock
from bot.services.effects import approval_ops, decline_ops
from bot.store import CaseRecord, CaseRepo, OutboxRepo
from bot.store.cases import Decision
from policy.approval import escalation_tier, may_decide
from policy.config import Policy
from policy.models import Action, CaseStatus, Tier, approve_outcome

log = logging.getLogger(__name__)

DECIDABLE = (CaseStatus.OPEN, CaseStatus.ESCALATED)


class DecisionRefused(Exception):
    """A known reason a click did nothing; the message is for the person who clicked."""

    def __init__(self, message: str, *, case: CaseRecord | None = None) -> None:
        super().__init__(message)
        self.case = case


Membership = Callable[[str], set[str]]  # user-group id -> member user ids


class DecideService:
    def __init__(
        self,
        *,
        cases: CaseRepo,
        outbox: OutboxRepo,
        policy: Policy,
        clock: Clock,
        members: Membership = lambda group: set(),
        on_case_changed: Callable[[CaseRecord], None] = lambda case: None,
        on_outbox: Callable[[], None] = lambda: None,
    ) -> None:
        self.cases = cases
        self.outbox = outbox
        self.policy = policy
        self.clock = clock
        self.members = members
        self.on_case_changed = on_case_changed
        self.on_outbox = on_outbox  # wakes the outbox worker

    # --- who may decide ----------------------------------------------------------------

    def tier_for(self, case: CaseRecord) -> Tier:
        tier = self.policy.tiers[min(case.required_tier, len(self.policy.tiers) - 1)]
        if case.status is CaseStatus.ESCALATED:
            return escalation_tier(tier, self.policy)
        return tier

    def groups_of(self, user_id: str) -> set[str]:
        groups = {a for t in self.policy.tiers for a in t.approvers if a.startswith("S")}
        return {g for g in groups if user_id in self.members(g)}

    def authorise(self, case: CaseRecord, user_id: str, *, verb: str) -> None:
        tier = self.tier_for(case)
        if case.requested_by and case.requested_by == user_id and verb == "approve":
            self._refuse(case, user_id, "own_request", "You asked for this one, so someone else has to approve it.")
        if case.status is CaseStatus.ESCALATED and case.escalated_by == user_id:
            self._refuse(case, user_id, "own_escalation", "You escalated this case; the next tier decides it.")
        if not may_decide(user_id, self.groups_of(user_id), tier, self.policy):
            who = ", ".join(_mention(a) for a in tier.approvers) or "nobody yet (set approvers in the policy file)"
            limit = f"up to {tier.up_to:,.2f} {self.policy.store.currency}" if tier.up_to is not None else "above every limit"
            self._refuse(case, user_id, "not_authorised",
                         f"You can't {verb} this case: it needs tier {tier.index + 1} ({limit}). Approvers: {who}.")

    # --- decisions ---------------------------------------------------------------------

    def load(self, case_id: int) -> CaseRecord:
        case = self.cases.get(case_id)
        if case is None:
            raise DecisionRefused("That case no longer exists.")
        return case

    def approve(self, case_id: int, user_id: str) -> CaseRecord:
        case = self._decidable(case_id, user_id)
        self.authorise(case, user_id, verb="approve")
        recommended = Action(case.recommended_action)
        outcome = approve_outcome(case.kind, recommended)
        ops = approval_ops(case, outcome)
        to = CaseStatus.DENIED if outcome is Action.DENY else CaseStatus.APPROVED
        # "Escalate" is followed when the case went up a tier before being decided.
        followed = outcome is recommended or (recommended is Action.ESCALATE and case.status is CaseStatus.ESCALATED)
        decision = Decision("approve", outcome.value, followed_recommendation=followed)
        return self._commit(case, user_id, to=to, event="case.approved", decision=decision, ops=ops)

    def checked(self, case_id: int, user_id: str, *, verb: str) -> CaseRecord:
        """The case, if this user may `verb` it now (before a modal is opened)."""
        case = self._decidable(case_id, user_id)
        if verb != "escalate":
            self.authorise(case, user_id, verb=verb)
        elif case.status is CaseStatus.ESCALATED:
            self._refuse(case, user_id, "already_escalated", "This case is already with the escalation tier.")
        return case

    def deny(self, case_id: int, user_id: str, *, reason: str, internal_note: str | None,
             customer_message: str | None, notify_customer: bool) -> CaseRecord:
        """Decline a return (Shopify ReturnDeclineReason), or dismiss a review."""
        case = self._decidable(case_id, user_id)
        self.authorise(case, user_id, verb="deny")
        ops = decline_ops(case, reason=reason, note=customer_message, notify_customer=notify_customer)
        return self._commit(
            case, user_id, to=CaseStatus.DENIED, event="case.denied",
            decision=Decision("deny", Action.DENY.value,
                              followed_recommendation=case.recommended_action == Action.DENY.value,
                              note=internal_note,
                              detail={"reason": reason, "notify_customer": notify_customer}),
            ops=ops,
        )

    def escalate(self, case_id: int, user_id: str, note: str, *, extra: dict | None = None) -> CaseRecord:
        case = self._decidable(case_id, user_id)
        if case.status is CaseStatus.ESCALATED:
            self._refuse(case, user_id, "already_escalated", "This case is already with the escalation tier.")
        # Anyone who can see the card may ask the next tier to look: no authorisation here.
        channel = self.policy.slack.escalation_channel
        return self._commit(
            case, user_id, to=CaseStatus.ESCALATED, event="case.escalated",
            decision=None, ops=(), detail={"note": note, "channel": channel},
            extra={"escalated_by": user_id, "escalation_note": note, "escalation_channel": channel, **(extra or {})},
            expected=(CaseStatus.OPEN,),
        )

    def retry(self, case_id: int, user_id: str) -> CaseRecord:
        case = self.load(case_id)
        if case.status is not CaseStatus.FAILED:
            self._refuse(case, user_id, "not_failed", f"Nothing to retry: the case is {case.status.value}.")
        self.authorise(case, user_id, verb="retry")
        if self.outbox.retry_failed(case.id, now=self.clock()) == 0:
            self._refuse(case, user_id, "not_failed", "Nothing to retry.")
        res = self.cases.transition(case.id, expected=CaseStatus.FAILED, to=CaseStatus.APPROVED, actor=user_id,
                                    at=self.clock(), event="case.retried")
        self.on_outbox()
        if res.ok:
            self.on_case_changed(res.case)
        return res.case

    # --- internals ---------------------------------------------------------------------

    def _decidable(self, case_id: int, user_id: str) -> CaseRecord:
        case = self.load(case_id)
        if case.status not in DECIDABLE:
            self._refuse(case, user_id, "already_decided", already_decided_text(case, self.clock()))
        return case

    def _commit(self, case, user_id, *, to, event, decision, ops, detail=None, extra=None, expected=DECIDABLE):
        if decision is not None and not ops:
            to = CaseStatus.DONE  # nothing to carry out (an acknowledgement): decided is done
        res = self.cases.transition(case.id, expected=expected, to=to, actor=user_id, at=self.clock(),
                                    event=event, detail=detail, decision=decision, ops=ops, extra=extra)
        if not res.ok:  # someone else decided between our read and our write
            self._refuse(res.case, user_id, "lost_race", already_decided_text(res.case, self.clock()))
        log.info("case.decided case_id=%s user=%s event=%s", case.id, user_id, event)
        if ops:
            self.on_outbox()
        self.on_case_changed(res.case)
        return res.case

    def _refuse(self, case: CaseRecord, user_id: str, code: str, message: str) -> None:
        self.cases.record_refusal(case.id, actor=user_id, at=self.clock(), reason=code)
        log.info("case.refused case_id=%s user=%s reason=%s", case.id, user_id, code)
        raise DecisionRefused(message, case=case)


def _mention(approver: str) -> str:
    return f"<!subteam^{approver}>" if approver.startswith("S") else f"<@{approver}>"


def already_decided_text(case: CaseRecord, now: datetime) -> str:
    if case.status is CaseStatus.ESCALATED:
        return f"Escalated by {actors.display(case.escalated_by)} {ago(case.updated_at, now)}; the escalation tier decides it now."
    if case.status is CaseStatus.CLOSED:
        return "This return was already decided in the store admin."
    verb = {"deny": "denied", "accept": "acknowledged"}.get(case.decided_action or "", "approved")
    by = actors.display(case.decided_by or actors.AUTO_APPROVER)
    when = ago(case.decided_at, now) if case.decided_at else ""
    return f"Already {verb} by {by} {when}.".replace("  ", " ").replace(" .", ".")
