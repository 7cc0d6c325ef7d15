"""The return after approval: stage facts from the connectors become the case's stage, and on
receipt the money the decision named moves exactly once (or a follow-up decision opens).

Exactly once: the refund op's key is the one approval would have used
(returnsbot:<source>:case-<id>:refund_return), and the case moves done→approved with it in
one compare-and-set, so a dispose fact delivered twice or out of order queues it once.

What is left to refund is the store's figure at the moment the money is decided (at receipt,
and again when a follow-up is decided): a refund made in the store admin meanwhile counts.
The store unreachable is an error the job retries; the figure is never guessed.

A receipt that arrives before the approval's actions finished (the case not yet done) is
kept as a stage and evaluated when they finish: `queue_receipt_within` queues it again as an
ingest job in the transaction that makes the case done, so it runs exactly as a new one would.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Callable

from bot.clock import Clock
from bot.jobs.kinds import Kind
from bot.services.effects import money_ops
from bot.store import CaseRecord, CaseRepo
from bot.store.cases import Decision, TransitionResult
from bot.store.jobs import NewJob, enqueue
from bot.store.stages import StageRepo, latest_in
from policy.config import Policy
from policy.exchange_rules import ALL_CHOICES, allowed_choices, choice_allowed
from policy.lifecycle import ReturnStage, StageUpdate
from policy.lifecycle_rules import ApprovedLine, AutoRefund, evaluate_receipt, left_to_refund, merge_dispositions
from policy.models import CaseKind, CaseStatus, DomainEvent, EventKind, Money
from policy.ports import IntegrationError, NotFound, StoreSource

log = logging.getLogger(__name__)

CHOICES = ALL_CHOICES  # the one list: policy.exchange_rules


class FollowupRefused(ValueError):
    """A follow-up choice that changes nothing (the message is for the person)."""


class LifecycleService:
    exchanges = None  # bot.services.exchanges.ExchangeService, set by the container
    platform = None  # bot.services.platform_returns.PlatformReturns, set by the container

    def __init__(self, *, cases: CaseRepo, stages: StageRepo, source: StoreSource, policy: Policy, clock: Clock,
                 on_case_changed: Callable[[CaseRecord], None] = lambda c: None,
                 on_outbox: Callable[[], None] = lambda: None) -> None:
        self.cases, self.stages, self.policy, self.clock = cases, stages, policy, clock
        self.source = source  # the primary store: what is left to refund on the order now
        self.on_case_changed, self.on_outbox = on_case_changed, on_outbox

    def apply(self, update: StageUpdate) -> CaseRecord | None:
        case = self.cases.find(update.source, update.return_id, CaseKind.RETURN_REQUEST)
        if case is None:
            log.info("stage.ignored unknown return source=%s return=%s stage=%s",
                     update.source, update.return_id, update.stage.value)
            return None
        self.stages.record(case.id, update, now=self.clock())
        case = self.cases.get(case.id)
        # Evaluated even for a duplicate: a crash after the stage committed and before the
        # refund was queued is finished by the replay (the key keeps it to one).
        if update.stage is ReturnStage.RECEIVED and update.dispositions:
            case = self._on_receipt(case, update) or case
            if self.exchanges is not None:
                case = self.exchanges.on_receipt(case, update) or case
        if self.platform is not None:  # a returns platform's approval waiting for the items
            case = self.platform.on_stage(case, update)
        self.on_case_changed(case)
        return case

    # --- a receipt that came before the approval was carried out -------------------------

    def queue_receipt_within(self, conn, case_id: int, *, now) -> int | None:
        """Inside the transaction that makes the case done: queue its latest received stage
        (with dispositions) as an ingest job, so it is evaluated exactly as a new one would
        be. Keyed by the stage's ref: a case done twice (approve, then the refund) queues it
        once, and then the decision already made leaves it alone."""
        update = latest_in(conn, case_id, ReturnStage.RECEIVED)
        if update is None or not update.dispositions:
            return None
        event = DomainEvent(source=update.source, kind=EventKind.RETURN_STAGE, resource_id=update.return_id,
                            occurred_at=update.at, stage=update)
        return enqueue(conn, NewJob(
            kind=Kind.INGEST, system=update.source, operation="receipt_after_approval",
            payload={"event": event.model_dump(mode="json")},
            idempotency_key=f"returnsbot:{update.source}:case-{case_id}:receipt:{update.ref}"), now=now)

    # --- receipt ----------------------------------------------------------------------------

    def _pending(self, case: CaseRecord) -> dict | None:
        for d in reversed(self.cases.decisions(case.id)):
            detail = d.get("detail") or {}
            if "receipt" in detail:
                return None  # already carried out or followed up
            if detail.get("refund_on") == "receipt" and detail.get("pending"):
                return detail["pending"]
        return None

    def _left_to_refund(self, order_id: str) -> Money:
        """The store's `received - refunded` for the order, now. Raises what the store raises
        (a retryable IntegrationError when it is unreachable: the job retries)."""
        return left_to_refund(self.source.get_order(order_id))

    def _on_receipt(self, case: CaseRecord, update: StageUpdate) -> CaseRecord | None:
        if case.status is not CaseStatus.DONE or case.followup:
            return None  # not yet carried out (queue_receipt_within brings it back), or decided
        pending = self._pending(case)
        if pending is None:
            return None
        ctx, _ = self.cases.snapshot(case)
        lines = [ApprovedLine(li.id, li.quantity, li.unit_price, li.title) for li in ctx.return_request.line_items]
        decided = Money.of(pending["amount"], pending["currency"])
        received = [u for u in self.stages.history(case.id) if u.stage is ReturnStage.RECEIVED] or [update]
        disposed = merge_dispositions(u.dispositions for u in received)
        refundable = self._left_to_refund(ctx.return_request.order_id)
        verdict = evaluate_receipt(lines, disposed, decided=decided, refundable=refundable,
                                   accepted=self.policy.returns.accepted_dispositions)
        now = self.clock()
        if (not isinstance(verdict, AutoRefund) and verdict.reason == "fewer_received"
                and now - min(u.at for u in received) < self._inspect_window):
            # Some items inspected, nothing wrong with them, the rest not yet: a warehouse that
            # scans item by item. Wait for the rest; `overdue_receipts` opens the follow-up
            # once the inspection window has passed without them.
            log.info("receipt.partial case=%s waiting for the rest", case.id)
            return None
        if isinstance(verdict, AutoRefund):
            res = self.cases.transition(
                case.id, expected=CaseStatus.DONE, to=CaseStatus.APPROVED, actor="returnsbot", at=now,
                event="case.refund_on_receipt", detail={"outcome": pending["outcome"]},
                decision=Decision("approve", pending["outcome"], followed_recommendation=True,
                                  detail={"receipt": update.ref, "refundable": str(refundable.amount)}),
                ops=money_ops(case, pending["outcome"], verdict.amount))
            if res.ok:
                self.on_outbox()
            return res.case
        res = self.cases.transition(
            case.id, expected=CaseStatus.DONE, to=CaseStatus.OPEN, actor="returnsbot", at=now,
            event="case.followup_opened", detail={"reason": verdict.reason, "summary": verdict.summary},
            extra={"followup": verdict.as_column(opened_at=now.isoformat())})
        return res.case

    @property
    def _inspect_window(self) -> timedelta:
        return timedelta(days=self.policy.returns.inspect_within_days)

    def overdue_receipts(self) -> int:
        """Periodic: returns partly inspected and waiting for the rest past `[returns]
        inspect_within_days` get the "fewer received" follow-up. Returns how many opened."""
        opened = 0
        now = self.clock()
        for case_id, _ in self.stages.in_stage(ReturnStage.RECEIVED, before=now - self._inspect_window):
            case = self.cases.get(case_id)
            latest = self.stages.latest(case_id, ReturnStage.RECEIVED)
            if case is None or latest is None or case.status is not CaseStatus.DONE or case.followup:
                continue
            try:
                after = self._on_receipt(case, latest)
            except Exception:  # one case's store error must not stop the others
                log.exception("receipt.overdue_failed case=%s", case_id)
                continue
            if after is not None and after.followup:
                opened += 1
                self.on_case_changed(after)
        return opened

    # --- the follow-up decision --------------------------------------------------------------

    def decide_followup(self, case_id: int, *, choice: str, amount: Money | None, message: str | None,
                        actor: str, version: int, authorise: Callable[[CaseRecord, str], None] | None = None
                        ) -> TransitionResult:
        """Carry out the follow-up choice on the version the person saw. What is left to
        refund is asked of the store now; a partial amount above it (or not positive), or a
        refund with nothing left, is refused with nothing changed."""
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
        pending = self._pending(case) or {}
        refundable = self._fresh_refundable(case) if choice != "no_refund" else None
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
            if money.amount <= 0:
                raise FollowupRefused(f"Nothing is left to refund on this order ({refundable.amount} "
                                      f"{refundable.currency}).")
            ops, outcome = money_ops(case, choice, money), choice
        else:
            ops, outcome, money = [], "no_refund", None
        if self.exchanges is not None:
            ops = self.exchanges.followup_ops(case, ops)
        detail = {"receipt": "followup", "choice": choice, "followup": fu}
        if refundable is not None:
            detail["refundable"] = str(refundable.amount)
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

    def _fresh_refundable(self, case: CaseRecord) -> Money:
        try:
            ctx, _ = self.cases.snapshot(case)
            return self._left_to_refund(ctx.return_request.order_id)
        except (IntegrationError, NotFound) as exc:
            # Nothing decided on a guess: the person tries again once the store answers.
            raise FollowupRefused("The store could not say what is left to refund on this order, so nothing "
                                  f"changed. Try again in a minute. ({exc})") from exc
