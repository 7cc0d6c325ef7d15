"""Stored state → `blocks.views.CaseView`: the card is always rendered from what the
database says happened, never from what a handler believes it just did."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Callable

from sqlalchemy import select

from blocks.format import tier_label
from blocks.stages import StagesView
from blocks.views import (
    ParcelClosedView,
    CaseView,
    FollowupView,
    CustomerView,
    DecisionView,
    EscalationView,
    ItemView,
    ShippingView,
)
from bot import actors
from bot.schema import audit_log, decisions
from bot.store import CaseRecord, CaseRepo, OutboxRepo
from bot.store.snapshots import SnapshotUnreadable
from bot.services.shipping import CLOSE_EVENT
from policy.config import Policy
from policy.lifecycle import ReturnStage, StageUpdate
from policy.models import (
    Action,
    CaseContext,
    CaseKind,
    CaseStatus,
    DeclineReason,
    Money,
    Recommendation,
    Signal,
    SignalCode,
    Tier,
)

log = logging.getLogger(__name__)

PARCEL_CLOSE_EVENTS = frozenset(CLOSE_EVENT.values())


def _followup_open(case: CaseRecord) -> bool:
    return case.followup is not None and case.status is CaseStatus.OPEN


def _money(value, currency) -> Money | None:
    try:
        return Money.of(value, currency) if value is not None and currency else None
    except (TypeError, ValueError, ArithmeticError):
        return None


def followup_view(followup: dict | None) -> FollowupView | None:
    """The case's `followup` column (core's contract) as the card shows it; None when unreadable."""
    if not followup:
        return None
    currency = followup.get("currency")
    return FollowupView(
        reason=str(followup.get("reason") or ""),
        summary=str(followup.get("summary") or "an exception at receipt"),
        recommended=str(followup.get("recommended") or "refund"),
        suggested_amount=_money(followup.get("suggested_amount"), currency),
        refundable=_money(followup.get("refundable"), currency),
    )

AdminUrl = Callable[..., str]


class CaseViews:
    def __init__(self, *, cases: CaseRepo, outbox: OutboxRepo, policy: Policy, clock,
                 tier_for: Callable[[CaseRecord], Tier], admin_url: AdminUrl | None = None,
                 playbook_for: Callable[..., tuple] = lambda kind, signal_codes, limit=3, **kw: (),
                 sample_store: bool = False, admin_label: str | None = None,
                 stage_history: Callable[[int], list[StageUpdate]] = lambda case_id: [],
                 system_of: Callable[[str], tuple[str, bool]] = lambda system: (system.capitalize(), True)) -> None:
        self.cases = cases
        self.outbox = outbox
        self.policy = policy
        self.clock = clock
        self.tier_for = tier_for
        self.admin_url = admin_url
        self.playbook_for = playbook_for  # entries for cards of this kind and signals
        self.sample_store = sample_store  # cases from the bundled sample store: every card says so
        self.admin_label = admin_label or "the store admin"  # "Shopify admin": the connector says
        self.stage_history = stage_history  # StageRepo.history: the return's stages, oldest first
        self.system_of = system_of  # a case's source → (its label, whether it accepts disputes by API)

    def for_id(self, case_id: int) -> CaseView:
        case = self.cases.get(case_id)
        if case is None:
            raise LookupError(f"no case {case_id}")
        return self.build(case)

    def build(self, case: CaseRecord, *, escalation_card: bool = False) -> CaseView:
        try:
            ctx, assessment = self.cases.snapshot(case)
        except SnapshotUnreadable as exc:
            log.warning("card.snapshot_unreadable case_id=%s error=%s", case.id, exc)
            return self._view(case, escalation_card, **self._from_columns(case))
        return self._view(
            case, escalation_card,
            recommendation=assessment.recommendation,
            order_url=self._url(ctx.order.id) if ctx.order is not None else None,
            return_name=ctx.return_request.name if ctx.return_request else None,
            return_url=self._url(ctx.return_request.id, order_id=ctx.order.id) if ctx.return_request else None,
            customer=self._customer(ctx, assessment.signals),
            items=self._items(ctx),
            shipments=tuple(
                ShippingView(status=s.status, carrier=s.carrier, tracking_number=s.tracking_number,
                             tracking_url=s.tracking_url, delivered_at=s.delivered_at,
                             carrier_status=s.carrier_status, estimated_delivery_at=s.estimated_delivery_at,
                             last_scan=s.last_scan, last_scan_at=s.last_scan_at, exception=s.exception)
                for s in ctx.shipments
            ),
            signals=assessment.signals,
            unavailable=ctx.unavailable,
            charged=ctx.charged,
            payments=self._payments(ctx),
            closed_reason=self._closed_reason(case),
            dispute=self._dispute(case, ctx),
            platform=self._platform(case, ctx),
            ticket=self._ticket(case, ctx, assessment),
            open_ticket=self._open_ticket(ctx),
        )

    def _platform(self, case: CaseRecord, ctx: CaseContext):
        """The owning platform as it holds the return now (the case's `external_status`); a
        case handed over to it (the store reported the return first) says so too."""
        from blocks.views import PlatformView

        if ctx.platform is not None:
            p = ctx.platform
            return PlatformView(label=p.label, state=case.external_status or p.state, admin_url=p.admin_url,
                                status_page_url=p.status_page_url)
        if case.owner:
            return PlatformView(label=self.system_of(case.owner)[0], state=case.external_status or "open")
        return None

    def _open_ticket(self, ctx: CaseContext):
        from blocks.views import OpenTicketView
        from policy.ticket_case import replies_of

        replies = replies_of(ctx)
        if replies is None:
            return None
        return OpenTicketView(subject=replies.subject, helpdesk=self.system_of(replies.source)[0], url=replies.url,
                              approve_text=replies.approve.text if replies.approve else None,
                              deny_text=replies.deny.text if replies.deny else None)

    def _ticket(self, case: CaseRecord, ctx: CaseContext, assessment=None):
        if not ctx.tickets or (case.kind is not CaseKind.TICKET and not ctx.ticket_review):
            return None  # a ticket case, or a return case a ticket joined (bot.services.ticket_returns)
        from blocks.views import TicketView
        from policy.ticket_case import review_of

        review, ticket = review_of(ctx), ctx.tickets[0]
        if review is None:
            return None
        c, p, d = review.classification, review.priority, review.draft
        said = ticket.customer_messages
        sent_as = next((x.get("detail", {}).get("sent_as") for x in reversed(self.cases.decisions(case.id))
                        if isinstance(x.get("detail"), dict)), None) if case.decided_at else None
        from bot.services.ticket_note import note_state
        from bot.services.ticket_reopen import REOPENED

        reopened = case.status in (CaseStatus.OPEN, CaseStatus.ESCALATED) and any(
            row.get("event") == REOPENED for row in self.cases.audit(case.id))
        return TicketView(
            subject=ticket.subject, helpdesk=self.system_of(ticket.source)[0], message=said[-1].text if said else "",
            intent=c.intent.value, sentiment=c.sentiment.value, urgency=c.urgency.value, language=c.language,
            classified_by=c.by, fallback_reason=c.fallback_reason, priority=p.level.value, priority_score=p.score,
            reply_due_at=p.reply_due_at, priority_reasons=p.reasons, requester=ticket.requester_name or
            ticket.requester_email, url=ticket.url, order_found_by=review.order_found_by,
            asks_return_of=tuple(li.title for li in ctx.return_request.line_items) if ctx.return_request else (),
            draft=d.text if d else None, drafted_by=d.by if d else None, draft_problems=d.problems if d else (),
            sent_as=sent_as, no_order=review.no_order, context_note=note_state(self.outbox.jobs, case.id),
            reopened=reopened, store_plan=self._store_plan(case, ctx, assessment))

    def _store_plan(self, case: CaseRecord, ctx: CaseContext, assessment) -> str | None:
        if assessment is None or case.kind is not CaseKind.TICKET:
            return None
        from bot.services.ticket_returns import store_plan

        return store_plan(case, ctx, assessment, self.policy)

    def _dispute(self, case: CaseRecord, ctx: CaseContext):
        if case.kind is not CaseKind.DISPUTE or ctx.dispute is None:
            return None
        from blocks.views import DisputeView
        from policy.disputes import build_packet

        label, accepts = self.system_of(case.source)
        return DisputeView(packet=build_packet(ctx, self.policy), system=label,
                           network_reason_code=ctx.dispute.network_reason_code, assignee=case.assignee,
                           external_status=case.external_status, accept_by_api=accepts)

    @staticmethod
    def _payments(ctx):
        from blocks.views import PaymentsView

        view = PaymentsView(warning=ctx.fraud_warning, links=ctx.payment_links,
                            risks=tuple(p for p in ctx.payments if p.source != "shopify"),
                            other_warnings=ctx.fraud_warnings,
                            disputes=tuple(d for d in ctx.open_disputes if d.source != "shopify"),
                            holder=ctx.money_held_by)
        return None if view.empty else view

    def _closed_reason(self, case: CaseRecord) -> str | None:
        """A fraud warning that stopped being actionable, or a dispute answered in the payment
        system, closes its case: the card says why."""
        if case.status is not CaseStatus.CLOSED or case.kind not in (CaseKind.EARLY_FRAUD_WARNING, CaseKind.DISPUTE):
            return None
        if case.kind is CaseKind.DISPUTE:
            status = (case.external_status or "").lower().replace("_", " ")
            return f"the dispute was answered in {self.system_of(case.source)[0]} outside returnsbot ({status})"
        for row in reversed(self.cases.audit(case.id)):
            if row.get("event") == "case.fraud_warning_resolved":
                detail = row.get("detail") or {}
                if isinstance(detail, str):
                    import json

                    detail = json.loads(detail)
                return f"the fraud warning is no longer actionable: {detail.get('reason', 'no reason given')}"
        return None

    def _view(self, case: CaseRecord, escalation_card: bool, **from_snapshot) -> CaseView:
        """What every card shows from the case's columns and state, plus `from_snapshot`."""
        tier = self.tier_for(case)
        rows = self.outbox.for_case(case.id)
        failed = [r for r in rows if r.status == "failed"]
        return CaseView(
            case_id=case.id,
            version=case.version,
            kind=case.kind,
            status=case.status,
            order_name=case.order_name or ("no order" if case.kind is CaseKind.TICKET else ""),
            amount=case.amount,
            tier_label=self._tier_label(self.policy.tiers[min(case.required_tier, len(self.policy.tiers) - 1)]),
            now=self.clock(),
            approvers=tier.approvers,
            sample_store=self.sample_store,
            admin_label=self.admin_label,
            **from_snapshot,
            decision=self._decision(case),
            results=tuple(r.result_summary for r in rows if r.status == "done" and r.result_summary),
            error=failed[-1].last_error if failed and case.status is CaseStatus.FAILED else None,
            auto_approved=case.auto_approved,
            escalation=self._escalation(case),
            escalation_card=escalation_card,
            next_tier_label=self._tier_label(self._next_tier(case)),
            # A use is counted when an entry first reaches a card, not on every re-render.
            playbook=tuple(self.playbook_for(case.kind, case.signal_codes, limit=3,
                                             count_use=case.slack_ts is None and not escalation_card)),
            stages=self._stages(case),
            followup=followup_view(case.followup),
            parcel_closed=self._parcel_closed(case),
        )

    def _parcel_closed(self, case: CaseRecord) -> ParcelClosedView | None:
        """How a delayed-shipment case closed itself (its audit row says), else None."""
        if case.kind is not CaseKind.DELAYED_SHIPMENT or case.status is not CaseStatus.CLOSED:
            return None
        for row in reversed(self.cases.audit(case.id)):
            if row["event"] in PARCEL_CLOSE_EVENTS:
                detail = row.get("detail") or {}
                try:
                    at = datetime.fromisoformat(detail["at"]) if detail.get("at") else None
                except ValueError:
                    at = None
                return ParcelClosedView(progress=str(detail.get("progress") or "moving"),
                                        at=at if at is None or at.tzinfo else None,
                                        last_scan=detail.get("last_scan"))
        return None

    def _stages(self, case: CaseRecord) -> StagesView | None:
        history = tuple(self.stage_history(case.id)) if case.stage is not None else ()
        if case.stage is None and not history:
            return None
        pending, outcome = self._pending(case)
        return StagesView(stage=case.stage, stage_at=case.stage_at, history=history, pending=pending,
                          pending_outcome=outcome, followup_open=_followup_open(case),
                          tz=self.policy.store.timezone)

    def _pending(self, case: CaseRecord) -> tuple[Money | None, str]:
        """The refund or credit the approval left to run on receipt (decision detail `pending`)."""
        if case.stage not in (ReturnStage.DELIVERED_BACK, ReturnStage.RECEIVED):
            return None, "refund"
        with self.cases.engine.connect() as conn:
            detail = conn.execute(
                select(decisions.c.detail).where(decisions.c.case_id == case.id)
                .order_by(decisions.c.id.desc()).limit(1)
            ).scalar()
        pending = (detail or {}).get("pending") if (detail or {}).get("refund_on") == "receipt" else None
        try:
            return Money.of(pending["amount"], pending["currency"]), pending.get("outcome") or "refund"
        except (TypeError, KeyError, ValueError, ArithmeticError):
            return None, "refund"

    def _from_columns(self, case: CaseRecord) -> dict:
        """A degraded view's details: only what the case row itself records."""
        signals = tuple(
            Signal(code=SignalCode(code), weight=0, explanation="")
            for code in case.signal_codes if code in SignalCode._value2member_map_
        )
        try:
            action = Action(case.recommended_action)
        except ValueError:
            action = Action.ESCALATE
        recommendation = Recommendation(
            action=action, risk_score=min(max(case.risk_score, 0), 100), amount=case.amount, reasons=(),
            tier=self.policy.tiers[min(case.required_tier, len(self.policy.tiers) - 1)],
        )
        customer = CustomerView(name=case.customer_name) if case.customer_name else None
        return dict(recommendation=recommendation, signals=signals, customer=customer,
                    order_url=self._url(case.order_id) if case.order_id else None, details_unavailable=True)

    # --- pieces ---------------------------------------------------------------------------

    def _tier_label(self, tier: Tier) -> str:
        previous = self.policy.tiers[tier.index - 1].up_to if tier.index > 0 else None
        return tier_label(tier, self.policy.shop_currency, previous)

    def _next_tier(self, case: CaseRecord) -> Tier:
        tiers = self.policy.tiers
        return tiers[min(case.required_tier + 1, len(tiers) - 1)]

    def _url(self, gid: str, **kw) -> str | None:
        return self.admin_url(gid, **kw) if self.admin_url else None

    @staticmethod
    def _customer(ctx: CaseContext, signals) -> CustomerView | None:
        c = ctx.customer
        if c is None:
            return None
        return CustomerView(
            name=c.display_name,
            email=c.email,
            orders_count=c.orders_count,
            lifetime_spend=c.lifetime_spend,
            returns_last_year=len(ctx.history.returns) if ctx.history else None,
            tags=c.tags,
            vip=any(s.code is SignalCode.VIP_CUSTOMER for s in signals),
        )

    @staticmethod
    def _items(ctx: CaseContext) -> tuple[ItemView, ...]:
        if ctx.return_request is not None:
            return tuple(
                ItemView(title=li.title, quantity=li.quantity, amount=li.amount, sku=li.sku, reason=li.reason,
                         reason_note=li.reason_note, customer_note=li.customer_note)
                for li in ctx.return_request.line_items
            )
        return tuple(
            ItemView(title=li.title, quantity=li.quantity, amount=li.unit_price * li.quantity, sku=li.sku)
            for li in (ctx.order.line_items if ctx.order is not None else ())
        )

    def _decision(self, case: CaseRecord) -> DecisionView | None:
        if case.decided_at is None or case.decided_action is None:
            return None
        with self.cases.engine.connect() as conn:
            row = conn.execute(
                select(decisions.c.note, decisions.c.detail).where(decisions.c.case_id == case.id)
                .order_by(decisions.c.id.desc()).limit(1)
            ).first()
        reason = (row.detail or {}).get("reason") if row else None
        by = case.decided_by if actors.is_person(case.decided_by) else None
        return DecisionView(
            action=Action(case.decided_action),
            at=case.decided_at,
            by=by,
            note=row.note if row else None,
            decline_reason=DeclineReason.parse(reason),
        )

    def _escalation(self, case: CaseRecord) -> EscalationView | None:
        if not case.escalated_by:
            return None
        with self.cases.engine.connect() as conn:
            at: datetime | None = conn.execute(
                select(audit_log.c.at).where(audit_log.c.case_id == case.id, audit_log.c.event == "case.escalated")
                .order_by(audit_log.c.id.desc()).limit(1)
            ).scalar()
        return EscalationView(
            by=actors.name(case.escalated_by),  # the SLA timer reads as such, not as an id
            at=at or case.updated_at,
            note=case.escalation_note,
            tier_label=self._tier_label(self._next_tier(case)),
            card_url=case.escalation_url,
        )
