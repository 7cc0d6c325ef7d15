"""/order: find an order (number, #number, email, gid) and assemble what a person needs.

    OrderLookup.lookup("#1034", permalink=gateway.get_permalink) -> blocks.order.OrderAnswer

What the person typed is parsed in ONE place, `parse_query`: `1001`, `#1001`, an email
(Slack's `<mailto:a@b|a@b>` wrapping removed), `gid://shopify/Order/…`, or a Shopify admin
order URL. Anything else is a usage line, never a store search.

One match → `OrderContextView`: the order from `store.find_orders`, then — in parallel, as
they are independent store reads — the customer, their history over
`policy.risk.lookback_days`, the order's returns and its disputes; refunds come with the
order. Risk signals are the policy's own (`policy.detect.detect` on an ORDER_REVIEW
context), the cases on the order come from the database with links to their cards, and the
playbook entries match the case (else an order review with the detected signals). A part
that cannot be read (the store times out on history, say) is left out and named on the
card; only the order itself is required.

Several matches (an email with many orders) → `OrderChoicesView`, newest first, at most
`MAX_CHOICES`. No match, empty or malformed text, or the store unreachable → `UsageView`.

Who may ask (`LookupAccess`, for `/order` and `/playbook` alike): the policy's
`[access] lookup` — Slack users, members of user groups, anyone asking from a listed
channel — else the approvers of every tier. Checked after the ack (a user group's members
may take a Slack call); every lookup, allowed or refused, is an audit_log row with no
case (`lookup.order` / `lookup.playbook`; actor: the user; detail: what they typed, the
channel, whether it was allowed — nothing the answer showed).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any, Callable

from sqlalchemy import insert

from blocks.format import mention
from blocks.stages import StagesView
from blocks.views import PlatformView
from bot.services.platform_state import platform_state
from bot.schema import audit_log
from blocks.order import (
    MAX_CASES_SHOWN,
    MAX_CHOICES,
    CaseLink,
    OrderAnswer,
    OrderChoicesView,
    OrderContextView,
    Problem,
    UsageView,
)
from policy.detect import detect
from policy.models import CaseContext, CaseKind, CaseStatus, Order
from policy.ports import IntegrationError, NotFound
from policy.recommend import risk_score

log = logging.getLogger(__name__)

Permalink = Callable[[str, str], str]

MAX_TEXT = 300  # longer than any order reference: refused before any parsing
_NUMBER = re.compile(r"#?\s?([0-9]{1,20})", re.ASCII)
_EMAIL = re.compile(r"[^\s@<>|\"',;:()\[\]\\]+@[^\s@<>|\"',;:()\[\]\\]+\.[^\s@<>|\"',;:()\[\]\\]+")
_GID = re.compile(r"gid://shopify/Order/([0-9]{1,20})", re.ASCII)
_ADMIN_URL = re.compile(
    r"https://(?:admin\.shopify\.com/store/[A-Za-z0-9][A-Za-z0-9-]*|[A-Za-z0-9][A-Za-z0-9-]*\.myshopify\.com/admin)"
    r"/orders/([0-9]{1,20})/?(?:[?#].*)?",
    re.ASCII,
)
# Slack wraps links and emails it recognised: <mailto:a@b.com|a@b.com>, <https://…|label>, <https://…>.
_SLACK_LINK = re.compile(r"<([^<>|]+)(?:\|[^<>]*)?>")
_HELP = {"help", "-h", "--help", "?"}


class QueryKind(StrEnum):
    NUMBER = "number"
    EMAIL = "email"
    GID = "gid"


@dataclass(frozen=True)
class OrderQuery:
    kind: QueryKind
    value: str  # "1001", "ada@example.com", "gid://shopify/Order/5001"

    @property
    def store_query(self) -> str:
        """What `StoreSource.find_orders` takes."""
        return f"#{self.value}" if self.kind is QueryKind.NUMBER else self.value

    @property
    def display(self) -> str:
        return self.store_query


class BadQuery(ValueError):
    def __init__(self, problem: Problem, text: str) -> None:
        super().__init__(f"{problem.value}: {text!r}")
        self.problem = problem
        self.text = text


def parse_query(text: str | None) -> OrderQuery:
    """The one place `/order` text (and a pick-list button value) is understood.

    Raises `BadQuery` (EMPTY for no text or "help", MALFORMED for anything else)."""
    raw = (text or "").strip()
    if not raw or raw.casefold() in _HELP:
        raise BadQuery(Problem.EMPTY, raw)
    if len(raw) > MAX_TEXT:
        raise BadQuery(Problem.MALFORMED, raw)
    q = raw
    wrapped = _SLACK_LINK.fullmatch(q)
    if wrapped:
        q = wrapped.group(1).strip()
        if q.casefold().startswith("mailto:"):
            q = q[len("mailto:"):]
    if m := _NUMBER.fullmatch(q):
        return OrderQuery(QueryKind.NUMBER, m.group(1))
    if m := _GID.fullmatch(q):
        return OrderQuery(QueryKind.GID, q)
    if m := _ADMIN_URL.fullmatch(q):
        return OrderQuery(QueryKind.GID, f"gid://shopify/Order/{m.group(1)}")
    if len(q) <= 254 and _EMAIL.fullmatch(q):
        return OrderQuery(QueryKind.EMAIL, q)
    raise BadQuery(Problem.MALFORMED, raw)


def _narrow(query: OrderQuery, orders: list[Order]) -> list[Order]:
    """Keep what the query names exactly (a store's search may be looser), newest first."""
    if query.kind is QueryKind.GID:
        orders = [o for o in orders if o.id == query.value]
    elif query.kind is QueryKind.NUMBER:
        exact = [o for o in orders if o.number == query.value]
        orders = exact or orders
    return sorted(orders, key=lambda o: (o.created_at, o.id), reverse=True)


class _Missing:
    """A side read that failed (as opposed to one that found nothing)."""


MISSING = _Missing()


Members = Callable[[str], set[str]]  # user-group id -> its members' user ids
MAX_AUDITED_QUERY = 300  # characters of what was typed kept in the audit row


class LookupAccess:
    """Who may use /order and /playbook, and the audit row each use leaves."""

    EVENTS = {"/order": "lookup.order", "/playbook": "lookup.playbook", "/followups": "lookup.followups"}

    def __init__(self, *, policy, engine, clock) -> None:
        self.policy, self.engine, self.clock = policy, engine, clock

    def may(self, user: str | None, channel: str | None, members: Members) -> bool:
        """Listed by id, asking from a listed channel, or in a listed user group."""
        if not user:
            return False
        allowed = self.policy.lookup_access
        if user in allowed or (channel and channel in allowed):
            return True
        for group in (a for a in allowed if a.startswith("S")):
            try:
                if user in members(group):
                    return True
            except Exception:  # Slack could not say: not allowed, for now
                log.warning("lookup.members_failed group=%s", group, exc_info=True)
        return False

    def refusal(self, command: str) -> str:
        """The private one-liner for someone who may not ask: who can."""
        allowed = self.policy.lookup_access
        if not allowed:
            return (f"Nobody can use {command} yet: name the people, user groups or channels in "
                    "`[access] lookup` in the policy file (by default, the approvers of each tier).")
        who = ", ".join(_who(a) for a in allowed[:10]) + (f" and {len(allowed) - 10} more" if len(allowed) > 10 else "")
        source = "`[access] lookup`" if self.policy.access.lookup is not None else "the approval tiers"
        return f"Only {who} can use {command} (set in {source} of the policy file); ask one of them."

    def check(self, command: str, *, user: str | None, channel: str | None, query: str,
              members: Members) -> str | None:
        """None when `user` may run `command` here, else the refusal line; audited either way."""
        allowed = self.may(user, channel, members)
        self.audit(self.EVENTS[command], user=user, channel=channel, query=query, allowed=allowed)
        if not allowed:
            log.info("lookup.refused command=%s user=%s channel=%s", command, user, channel)
        return None if allowed else self.refusal(command)

    def audit(self, event: str, *, user: str | None, channel: str | None, query: str, allowed: bool) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(audit_log).values(
                case_id=None, at=self.clock(), actor=(user or "unknown")[:64], event=event,
                from_status=None, to_status=None,
                detail={"query": (query or "")[:MAX_AUDITED_QUERY], "channel": channel, "allowed": allowed},
            ))


def _who(slack_id: str) -> str:
    return f"people in <#{slack_id}>" if slack_id[:1] in "CG" else mention(slack_id)


class OrderLookup:
    def __init__(self, *, store, cases, playbook, policy, clock, sample_store: bool = False,
                 stage_history=lambda case_id: [], contributors=(), jobs=None) -> None:
        # Other connected systems (payment processors…): what they add to a case's context
        # they add to the answer too, each within its timeout.
        self.contributors = tuple(contributors)
        self.store, self.cases, self.playbook, self.policy, self.clock = store, cases, playbook, policy, clock
        self.stage_history = stage_history  # StageRepo.history (core): the stages /order shows
        self.jobs = jobs  # JobRepo: whether a returns platform is processing a case's return
        self.sample_store = sample_store  # the bundled sample store: every answer says so
        self.access = LookupAccess(policy=policy, engine=cases.engine, clock=clock)  # /order and /playbook
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    # --- public ---------------------------------------------------------------------------

    def lookup(self, text: str | None, *, permalink: Permalink | None = None) -> OrderAnswer:
        """The answer to `/order <text>`; `permalink(channel, ts)` links case cards."""
        started = time.monotonic()
        answer = self._answer(text, permalink)
        log.info("order.lookup result=%s ms=%d", type(answer).__name__ if not isinstance(answer, UsageView)
                 else f"usage:{answer.problem.value}", (time.monotonic() - started) * 1000)
        return answer

    def context_for(self, order: Order, *, permalink: Permalink | None = None) -> OrderContextView:
        """Everything around one order (see the module docstring)."""
        now = self.clock()
        lookback = self.policy.risk.lookback_days
        cid = order.customer_id
        reads: dict[str, Callable[[], Any]] = {
            "returns": lambda: self.store.get_order_returns(order.id),
            "disputes": lambda: self.store.order_disputes(order.id),
        }
        if cid:
            reads["the customer"] = lambda: self.store.get_customer(cid)
            reads["customer history"] = lambda: self.store.get_customer_history(cid, now - timedelta(days=lookback))
        pending = {name: self._submit(fn) for name, fn in reads.items()}
        # Our own database and Slack while the store answers.
        cases, case_links = self._cases(order, permalink)
        got = {name: self._result(name, order, f) for name, f in pending.items()}
        unavailable = [name for name, value in got.items() if value is MISSING]

        customer = _value(got.get("the customer"))
        history = _value(got.get("customer history")) if customer is not None else None
        returns = tuple(_value(got["returns"]) or ())
        disputes = tuple(_value(got["disputes"]) or ())
        ctx = CaseContext(
            kind=CaseKind.ORDER_REVIEW,
            now=now,
            order=order,
            customer=customer,
            history=history,
            # Not `payments=(order.risk,)` as bot.services.context does: detect already reads
            # order.risk, and the same assessment twice reads "(and 1 more)" on the signal.
            shipments=order.shipments,
            open_disputes=tuple(d for d in disputes if d.is_open),
        )
        if self.contributors:
            from bot.services.context import contribute

            ctx = contribute(ctx, self.contributors)
            unavailable += list(ctx.unavailable)
        signals = detect(ctx, self.policy)
        if cases is MISSING:
            unavailable.append("cases")
        playbook = self._playbook(cases if cases is not MISSING else [], signals, unavailable)
        admin_url = getattr(self.store, "admin_url", None)
        return OrderContextView(
            order=order,
            now=now,
            customer=customer,
            history=history,
            lookback_days=lookback,
            returns=tuple(sorted(returns, key=lambda r: r.requested_at, reverse=True)),
            disputes=tuple(sorted(disputes, key=lambda d: (not d.is_open, -d.initiated_at.timestamp()))),
            signals=signals,
            risk_score=risk_score(signals),
            cases=case_links,
            playbook=playbook,
            order_url=admin_url(order.id) if callable(admin_url) else None,
            unavailable=tuple(unavailable),
            sample_store=self.sample_store,
            payments=_payments_view(ctx),
            shipments=ctx.shipments,  # the store's parcels with the carrier's truth folded in
        )

    # --- steps ----------------------------------------------------------------------------

    def _answer(self, text: str | None, permalink: Permalink | None) -> OrderAnswer:
        try:
            query = parse_query(text)
        except BadQuery as bad:
            return UsageView(bad.problem, bad.text, sample_store=self.sample_store)
        try:
            found = self.store.find_orders(query.store_query, limit=MAX_CHOICES)
        except NotFound:
            found = []
        except IntegrationError as exc:
            log.warning("order.lookup_unavailable query_kind=%s error=%s", query.kind.value, exc)
            return UsageView(Problem.UNAVAILABLE, query.display, sample_store=self.sample_store)
        orders = _narrow(query, list(found))
        if not orders:
            return UsageView(Problem.NOT_FOUND, query.display, sample_store=self.sample_store)
        if len(orders) > 1:
            return OrderChoicesView(query=query.display, orders=tuple(orders[:MAX_CHOICES]), now=self.clock(),
                                    maybe_more=len(found) >= MAX_CHOICES, sample_store=self.sample_store)
        return self.context_for(orders[0], permalink=permalink)

    def _cases(self, order: Order, permalink: Permalink | None):
        try:
            cases = self.cases.for_order(order.id, limit=MAX_CASES_SHOWN + 2)
        except Exception:
            log.warning("order.lookup_part_failed part=cases order=%s", order.id, exc_info=True)
            return MISSING, ()
        links = []
        for i, case in enumerate(cases):
            url = None
            if permalink and case.slack_channel and case.slack_ts and i < MAX_CASES_SHOWN:
                try:
                    url = permalink(case.slack_channel, case.slack_ts)
                except Exception:  # a missing link must not cost the person the answer
                    log.warning("order.permalink_failed case_id=%s", case.id, exc_info=True)
            links.append(CaseLink(case_id=case.id, kind=case.kind, status=case.status, amount=case.amount,
                                  opened_at=case.opened_at, card_url=url, escalation_url=case.escalation_url,
                                  auto_approved=case.auto_approved, stages=self._stages(case),
                                  platform=self._platform(case) if i < MAX_CASES_SHOWN else None))
        return cases, tuple(links)

    def _platform(self, case) -> PlatformView | None:
        """A return a returns platform (Loop) owns: its state there and a link to it, as the
        case's card has them (the snapshot's platform, the case's state)."""
        if case.kind is not CaseKind.RETURN_REQUEST or not case.external_status:
            return None  # the store's own return (or not a return)
        try:
            ctx, _ = self.cases.snapshot(case)
            if ctx.platform is None:
                return None
            state = platform_state(case, self.jobs)
        except Exception:  # the platform's line must not cost the person the answer
            log.warning("order.platform_failed case_id=%s", case.id, exc_info=True)
            return None
        p = ctx.platform
        return PlatformView(label=p.label, state=state, admin_url=p.admin_url, status_page_url=p.status_page_url)

    def _stages(self, case) -> StagesView | None:
        if case.stage is None:
            return None
        try:
            history = tuple(self.stage_history(case.id))
        except Exception:  # the stages must not cost the person the answer
            log.warning("order.stages_failed case_id=%s", case.id, exc_info=True)
            history = ()
        return StagesView(stage=case.stage, stage_at=case.stage_at, history=history,
                          followup_open=case.followup is not None and case.status is CaseStatus.OPEN,
                          tz=self.policy.store.timezone)

    def _playbook(self, cases, signals, unavailable: list[str]) -> tuple:
        live = [c for c in cases if c.status in (CaseStatus.OPEN, CaseStatus.ESCALATED)]
        case = (live or cases or [None])[0]
        if case is not None:
            kind, codes = case.kind, tuple(case.signal_codes)
        else:
            kind, codes = CaseKind.ORDER_REVIEW, tuple(s.code.value for s in signals)
        try:
            return tuple(self.playbook.for_case(kind, codes, limit=3))
        except Exception:
            log.warning("order.lookup_part_failed part=playbook", exc_info=True)
            unavailable.append("the playbook")
            return ()

    # --- parallel store reads -------------------------------------------------------------

    def _submit(self, fn: Callable[[], Any]) -> Future:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="order-lookup")
        return self._pool.submit(fn)

    @staticmethod
    def _result(name: str, order: Order, future: Future) -> Any:
        try:
            return future.result()
        except NotFound:
            return None  # guest, deleted customer: nothing to show, not a failure
        except Exception:
            log.warning("order.lookup_part_failed part=%s order=%s", name, order.id, exc_info=True)
            return MISSING

    def close(self) -> None:
        with self._pool_lock:
            if self._pool is not None:
                self._pool.shutdown(wait=False)
                self._pool = None


def _value(v: Any) -> Any:
    return None if v is MISSING else v


def _payments_view(ctx: CaseContext):
    """What payment systems said (the case card's payments section, shared)."""
    from blocks.views import PaymentsView

    view = PaymentsView(links=ctx.payment_links, risks=tuple(p for p in ctx.payments if p.source != "shopify"),
                        other_warnings=ctx.fraud_warnings,
                        disputes=tuple(d for d in ctx.open_disputes if d.source != "shopify"),
                        holder=ctx.money_held_by)
    return None if view.empty else view
