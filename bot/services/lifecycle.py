"""The return after approval: stage facts from the connectors become the case's stage, and on
receipt the money the decision named moves exactly once (or a follow-up decision opens).

Exactly once: the refund op's key is the one approval would have used
(returnsbot:<source>:case-<id>:refund_return), and the case moves done→approved with it in
one compare-and-set, so a dispose fact delivered twice or out of order queues it once.
"""

from __future__ import annotations

import logging
from typing import Callable

from bot.clock import Clock
from bot.services.effects import money_ops
from bot.store import CaseRecord, CaseRepo
from bot.store.cases import Decision, TransitionResult
from bot.store.stages import StageRepo
from policy.config import Policy
from policy.exchange_rules import allowed_choices, choice_allowed
from policy.lifecycle import ReturnStage, StageUpdate
from policy.lifecycle_rules import ApprovedLine, AutoRefund, evaluate_receipt
from policy.models import CaseKind, CaseStatus, Money

log = logging.getLogger(__name__)

CHOICES = ("refund", "partial_refund", "store_credit", "no_refund")


class FollowupRefused(ValueError):
    """A follow-up choice that changes nothing (the message is for the person)."""


class LifecycleService:
    exchanges = None  # bot.services.exchanges.ExchangeService, set by the container

    def __init__(self, *, cases: CaseRepo, stages: StageRepo, policy: Policy, clock: Clock,
                 on_case_changed: Callable[[CaseRecord], None] = lambda c: None,
                 on_outbox: Callable[[], None] = lambda: None) -> None:
        self.cases, self.stages, self.policy, self.clock = cases, stages, policy, clock
        self.on_case_changed, self.on_outbox = on_case_changed, on_outbox

    def apply(self, update: StageUpdate, *, reopen: bool = False) -> CaseRecord | None:
        case = self.cases.find(update.source, update.return_id, CaseKind.RETURN_REQUEST)
        if case is None:
            log.info("stage.ignored unknown return source=%s return=%s stage=%s",
                     update.source, update.return_id, update.stage.value)
            return None
        self.stages.record(case.id, update, now=self.clock(), reopen=reopen)
        case = self.cases.get(case.id)
        # Evaluated even for a duplicate: a crash after the stage committed and before the
        # refund was queued is finished by the replay (the key keeps it to one).
        if update.stage is ReturnStage.RECEIVED and update.dispositions:
            case = self._on_receipt(case, update) or case
            if self.exchanges is not None:
                case = self.exchanges.on_receipt(case, update) or case
        self.on_case_changed(case)
        return case

    def _pending(self, case: CaseRecord) -> dict | None:
        for d in reversed(self.cases.decisions(case.id)):
            detail = d.get("detail") or {}
            if "receipt" in detail:
                return None  # already carried out or followed up
            if detail.get("refund_on") == "receipt" and detail.get("pending"):
                return detail["pending"]
        return None

    def _on_receipt(self, case: CaseRecord, update: StageUpdate) -> CaseRecord | None:
        if case.status is not CaseStatus.DONE or case.followup:
            return None
        pending = self._pending(case)
        if pending is None:
            return None
        ctx, _ = self.cases.snapshot(case)
        lines = [ApprovedLine(li.id, li.quantity, li.unit_price, li.title) for li in ctx.return_request.line_items]
        decided = Money.of(pending["amount"], pending["currency"])
        verdict = evaluate_receipt(lines, update.dispositions, decided=decided, refundable=decided,
                                   accepted=self.policy.returns.accepted_dispositions)
        now = self.clock()
        if isinstance(verdict, AutoRefund):
            res = self.cases.transition(
                case.id, expected=CaseStatus.DONE, to=CaseStatus.APPROVED, actor="returnsbot", at=now,
                event="case.refund_on_receipt", detail={"outcome": pending["outcome"]},
                decision=Decision("approve", pending["outcome"], followed_recommendation=True,
                                  detail={"receipt": update.ref}),
                ops=money_ops(case, pending["outcome"], verdict.amount))
            if res.ok:
                self.on_outbox()
            return res.case
        res = self.cases.transition(
            case.id, expected=CaseStatus.DONE, to=CaseStatus.OPEN, actor="returnsbot", at=now,
            event="case.followup_opened", detail={"reason": verdict.reason, "summary": verdict.summary},
            extra={"followup": verdict.as_column(opened_at=now.isoformat())})
        return res.case

    def decide_followup(self, case_id: int, *, choice: str, amount: Money | None, message: str | None,
                        actor: str, version: int, authorise: Callable[[CaseRecord, str], None] | None = None
                        ) -> TransitionResult:
        """Carry out the follow-up choice on the version the person saw. A partial amount
        above what is left to refund (or not positive) is refused with nothing changed."""
        if choice not in CHOICES:
            raise FollowupRefused(f"Unknown choice {choice!r}.")
        case = self.cases.get(case_id)
        if case is None or not case.followup or case.status is not CaseStatus.OPEN:
            raise FollowupRefused("There is no open follow-up on this case.")
        if not choice_allowed(case.followup, choice):
            raise FollowupRefused(f"This follow-up offers {' or '.join(allowed_choices(case.followup.get('reason')))}"
                                  .replace("_", " ") + f", not {choice.replace('_', ' ')}.")
        if authorise is not None:
            authorise(case, actor)  # the case's required tier as it stands (DecideService.authorise)
        fu = case.followup
        refundable = Money.of(fu["refundable"], fu["currency"])
        pending = self._pending(case) or {}
        if choice == "partial_refund":
            if amount is None or amount.amount <= 0:
                raise FollowupRefused("Enter the amount to refund.")
            if amount.currency != refundable.currency:
                raise FollowupRefused(f"The amount must be in {refundable.currency}.")
            if amount > refundable:
                raise FollowupRefused(f"{amount.amount} {amount.currency} is more than the "
                                      f"{refundable.amount} {refundable.currency} left to refund.")
            ops, outcome, money = money_ops(case, "refund", amount), "refund", amount
        elif choice in ("refund", "store_credit"):
            decided = Money.of(pending.get("amount", fu["refundable"]), fu["currency"])
            money = min(decided, refundable, key=lambda m: m.amount)
            ops, outcome = money_ops(case, choice, money), choice
        else:
            ops, outcome, money = [], "no_refund", None
        if self.exchanges is not None:
            ops = self.exchanges.followup_ops(case, ops)
        detail = {"receipt": "followup", "choice": choice, "followup": fu}
        if money is not None:
            detail["amount"], detail["currency"] = str(money.amount), money.currency
        if message:
            detail["customer_message"] = message
        res = self.cases.transition(
            case_id, expected=CaseStatus.OPEN, expected_version=version,
            to=CaseStatus.APPROVED if ops else CaseStatus.DONE, actor=actor, at=self.clock(),
            event="case.followup_decided", detail={"choice": choice},
            decision=Decision("followup", outcome, followed_recommendation=choice == fu.get("recommended"),
                              detail=detail),
            ops=ops, extra={"followup": None})
        if res.ok:
            if ops:
                self.on_outbox()
            self.on_case_changed(res.case)
        return res
