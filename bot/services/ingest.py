"""Ingest: a domain event becomes (at most) one case, explained and stored.

dedupe by natural key → assemble context from the source → assess (policy) → store the
case with its snapshot → auto-approve the clean ones through the outbox.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

from bot.actors import AUTO_APPROVER, EXTERNAL
from bot.clock import Clock
from bot.policy_fingerprint import fingerprint
from bot.services.context import CASE_KIND_FOR_EVENT, assemble, contribute, money_holder_unknown
from bot.services.effects import approval_detail, approval_ops, approved_stage, refund_on_for_case
from bot.store.stages import record_in
from bot.store import CaseRecord, CaseRepo, NewCase, OutboxRepo
from bot.store.cases import Decision
from policy.approval import channel_for
from policy.assess import assess, needs_case
from policy.config import Policy
from policy.models import (Action, CaseKind, CaseStatus, Dispute, DisputeStatus, DomainEvent, EventKind,
                           ReturnPlatform)
from policy.ports import IntegrationError, StoreSource

log = logging.getLogger(__name__)



class Outcome(StrEnum):
    CREATED = "created"
    DUPLICATE = "duplicate"  # the case exists already: nothing done
    NO_CASE = "no_case"  # nothing to decide (clean order, small refund)
    CLOSED = "closed"  # decided outside returnsbot (Shopify admin)
    IGNORED = "ignored"


@dataclass(frozen=True)
class IngestResult:
    outcome: Outcome
    case: CaseRecord | None = None


class IngestService:
    def __init__(
        self,
        *,
        cases: CaseRepo,
        outbox: OutboxRepo,
        source: StoreSource,
        policy: Policy,
        clock: Clock,
        on_case_changed=None,
        contributors=(),
        lifecycle=None,
    ) -> None:
        self.lifecycle = lifecycle  # bot.services.lifecycle.LifecycleService: RETURN_STAGE events
        self.shipping = None  # bot.services.shipping.ShippingService: SHIPMENT_TRACKED events
        self.platform = None  # bot.services.platform_returns.PlatformReturns: a returns platform's returns
        self.tickets = None  # bot.services.tickets.TicketIntake: TICKET_RECEIVED events
        self.moments = None  # bot.services.moments.MomentService: [[moments]] on new orders and returns
        self.cases = cases
        self.outbox = outbox
        self.source = source
        self.policy = policy
        self.clock = clock
        self.contributors = tuple(contributors)  # other connected systems adding to the context
        # Called with each new or changed case (the Slack card renderer, in the next layer).
        self.on_case_changed = on_case_changed or (lambda case: None)

    def ingest(self, event: DomainEvent) -> IngestResult:
        if event.kind is EventKind.RETURN_STAGE:
            if self.lifecycle is None or event.stage is None:
                return IngestResult(Outcome.IGNORED)
            case = self.lifecycle.apply(event.stage)
            return IngestResult(Outcome.IGNORED if case is None else Outcome.DUPLICATE, case)
        if event.kind is EventKind.SHIPMENT_TRACKED:
            if self.shipping is None:
                return IngestResult(Outcome.IGNORED)
            report = self.shipping.apply(event)
            if report.opened:
                return IngestResult(Outcome.CREATED, report.opened[0])
            if report.closed:
                return IngestResult(Outcome.CLOSED, report.closed[0])
            if report.known:
                return IngestResult(Outcome.DUPLICATE, report.known[0])
            return IngestResult(Outcome.IGNORED)
        if event.kind in (EventKind.RETURN_APPROVED, EventKind.RETURN_DECLINED):
            return self._decided_elsewhere(event)
        if event.kind is EventKind.FRAUD_WARNING_RESOLVED:
            return self._warning_resolved(event)
        if event.kind is EventKind.DISPUTE_UPDATED:
            return self._dispute_moved(event)
        if event.kind is EventKind.TICKET_RECEIVED:
            if self.tickets is None:
                return IngestResult(Outcome.IGNORED)
            done = self.tickets.ingest(event)
            outcome = {"created": Outcome.CREATED, "updated": Outcome.DUPLICATE, "joined": Outcome.DUPLICATE,
                       "reopened": Outcome.DUPLICATE}.get(done.outcome, Outcome.IGNORED)
            return IngestResult(outcome, done.case)
        if event.kind is EventKind.RETURN_ACTION_FAILED:
            if self.platform is None:
                return IngestResult(Outcome.IGNORED)
            case = self.platform.failed(event)
            return IngestResult(Outcome.IGNORED if case is None else Outcome.DUPLICATE, case)
        kind = CASE_KIND_FOR_EVENT.get(event.kind)
        if kind is None:
            return IngestResult(Outcome.IGNORED)
        existing = self.cases.find(event.source, event.resource_id, kind)
        if existing is not None:
            return IngestResult(Outcome.DUPLICATE, self._platform_update(existing, event))
        if kind is CaseKind.HIGH_VALUE_REFUND and self.outbox.created_external_id(event.resource_id):
            return IngestResult(Outcome.IGNORED)  # our own refund, reported back to us
        if kind is CaseKind.RETURN_REQUEST and self.outbox.created_external_id(event.resource_id):
            # A return we opened for a ticket (open_return), reported back: its case is the
            # ticket's (bot.services.opened_returns), found above once adopted.
            return IngestResult(Outcome.IGNORED)

        now = self.clock()
        ctx = contribute(assemble(event, self.source, now=now, lookback_days=self.policy.risk.lookback_days),
                         self.contributors)
        silent = money_holder_unknown(ctx, self.contributors, self.source)
        if silent is not None:
            # A card that refunds through the store while the money is elsewhere would record
            # a refund nobody paid: the job retries until the payment system answers.
            raise IntegrationError(f"{silent} did not answer and order {ctx.order.name}'s payment was taken outside "
                                   f"the store: who holds the money is unknown, so no case yet", retryable=True,
                                   system=silent)
        if kind is CaseKind.ORDER_REVIEW:
            self.cases.record_order(event.source, ctx.order)
        assessment = assess(ctx, self.policy)
        if self.moments is not None and kind in (CaseKind.ORDER_REVIEW, CaseKind.RETURN_REQUEST):
            # Before the case: a retry after a crash finds the moment recorded (its key), never twice.
            # Keyed by the store that owns the order: Loop's and Shopify's report of one return are one moment.
            self.moments.consider(ctx, getattr(self.source, "name", event.source))
        if not needs_case(kind, assessment.signals, assessment.recommendation,
                          in_review=ctx.platform is not None and ctx.platform.in_review):
            return IngestResult(Outcome.NO_CASE)
        if self.tickets is not None and kind is CaseKind.RETURN_REQUEST:  # the customer's open ticket gets the replies
            from bot.services.ticket_returns import with_open_ticket_replies

            ctx = with_open_ticket_replies(self.tickets, ctx, assessment)
        case, created = self.cases.open(
            NewCase(
                source=event.source,
                external_id=event.resource_id,
                context=ctx,
                assessment=assessment,
                channel=channel_for(kind, self.policy),
                opened_at=now,
                policy_fingerprint=fingerprint(self.policy),
            )
        )
        if not created:  # another system's report of the same return: one case
            return IngestResult(Outcome.DUPLICATE, self._platform_update(case, event))
        log.info(
            "case.opened case_id=%s kind=%s order=%s action=%s risk=%s",
            case.id, kind.value, case.order_name, case.recommended_action, case.risk_score,
        )
        if assessment.recommendation.auto_approve:
            case = self._auto_approve(case)
        self.on_case_changed(case)
        return IngestResult(Outcome.CREATED, case)

    def _platform_update(self, case: CaseRecord, event: DomainEvent) -> CaseRecord:
        """A returns platform reported a return we have a case for: how it holds it now, and
        whatever that makes due (bot.services.platform_returns)."""
        if self.platform is None or "platform" not in event.detail:
            return case
        return self.platform.update(case, ReturnPlatform.model_validate_json(event.detail["platform"]),
                                    event.resource_id)

    def _auto_approve(self, case: CaseRecord) -> CaseRecord:
        outcome = Action(case.recommended_action)
        refund_on = refund_on_for_case(case, self.policy, cases=self.cases)
        now = self.clock()
        stage = approved_stage(case, actor=AUTO_APPROVER, at=now)
        within = None
        if case.kind is CaseKind.RETURN_REQUEST and outcome is not Action.DENY:
            within = lambda conn: record_in(conn, self.cases.engine, case.id, stage, now=now, bump=False)  # noqa: E731
        result = self.cases.transition(
            case.id,
            expected=CaseStatus.OPEN,
            to=CaseStatus.APPROVED,
            actor=AUTO_APPROVER,
            at=now,
            event="case.auto_approved",
            detail={"outcome": outcome.value},
            decision=Decision(action="approve", outcome=outcome.value, followed_recommendation=True,
                              detail=approval_detail(case, outcome, refund_on=refund_on)),
            ops=approval_ops(case, outcome, refund_on=refund_on),
            extra={"auto_approved": True},
            within=within,
        )
        log.info("case.auto_approved case_id=%s outcome=%s", case.id, outcome.value)
        return result.case

    def _warning_resolved(self, event: DomainEvent) -> IngestResult:
        """A fraud warning no longer actionable (refunded, disputed): an undecided case
        closes with the reason on its card; a decided one keeps its decision."""
        case = self.cases.find(event.source, event.resource_id, CaseKind.EARLY_FRAUD_WARNING)
        if case is None:
            return IngestResult(Outcome.IGNORED)
        result = self.cases.transition(
            case.id, expected=(CaseStatus.OPEN, CaseStatus.ESCALATED), to=CaseStatus.CLOSED, actor=EXTERNAL,
            at=self.clock(), event="case.fraud_warning_resolved", detail=dict(event.detail),
        )
        if not result.ok:
            return IngestResult(Outcome.DUPLICATE, result.case)
        self.on_case_changed(result.case)
        return IngestResult(Outcome.CLOSED, result.case)

    def _dispute_moved(self, event: DomainEvent) -> IngestResult:
        """A dispute's status changed. Before anyone here decided, an answer given in the
        payment system (evidence submitted, the loss accepted) or the dispute closing
        closes the case; after our decision the card shows where it went (won, lost)."""
        case = self.cases.find(event.source, event.resource_id, CaseKind.DISPUTE)
        if case is None:
            return IngestResult(Outcome.IGNORED)  # no longer needing a response when first heard of
        dispute = (Dispute.model_validate_json(event.detail["dispute"]) if "dispute" in event.detail
                   else self.source.get_dispute(event.resource_id))
        status = dispute.status.value
        for _ in range(3):  # a click may bump the version between our read and our write
            if case.external_status == status:
                return IngestResult(Outcome.DUPLICATE, case)
            undecided = case.status in (CaseStatus.OPEN, CaseStatus.ESCALATED)
            if undecided and dispute.status is DisputeStatus.NEEDS_RESPONSE:
                return IngestResult(Outcome.DUPLICATE, case)
            to = CaseStatus.CLOSED if undecided else case.status
            result = self.cases.transition(
                case.id, expected=case.status, expected_version=case.version, to=to, actor=EXTERNAL,
                at=self.clock(), event="case.dispute_answered_elsewhere" if undecided else "case.dispute_status",
                detail={"status": status}, extra={"external_status": status})
            if result.ok:
                self.on_case_changed(result.case)
                return IngestResult(Outcome.CLOSED if undecided else Outcome.DUPLICATE, result.case)
            case = result.case
        return IngestResult(Outcome.DUPLICATE, case)

    def _decided_elsewhere(self, event: DomainEvent) -> IngestResult:
        """Approved or declined in Shopify admin: close our open case so nobody acts twice."""
        case = self.cases.find(event.source, event.resource_id, CaseKind.RETURN_REQUEST)
        if case is None:
            return IngestResult(Outcome.IGNORED)
        verb = "approved" if event.kind is EventKind.RETURN_APPROVED else "declined"
        result = self.cases.transition(
            case.id,
            expected=(CaseStatus.OPEN, CaseStatus.ESCALATED),
            to=CaseStatus.CLOSED,
            actor=EXTERNAL,
            at=self.clock(),
            event=f"case.{verb}_in_store",
            detail={k: v for k, v in event.detail.items()},
        )
        if not result.ok:
            return IngestResult(Outcome.DUPLICATE, result.case)  # we decided it, or already closed
        self.on_case_changed(result.case)
        return IngestResult(Outcome.CLOSED, result.case)
