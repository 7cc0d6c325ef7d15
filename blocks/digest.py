"""The weekly digest: one message, this week beside the week before.

    render_digest(digest) -> {"blocks": [...], "text": "..."}

The data types below are what the renderer takes; `bot.services.digest` fills them from
SQL (`bot.store.digest`). Everything is plain data: counts, `Money` per currency (money is
summed per currency in SQL and never mixed), aware datetimes.

Layout, top to bottom:
  header      "Weekly digest · 16–23 Nov 2026"
  context     the exact period in the store's time zone
  fields      opened · resolved · decision speed · exception rate · adherence ·
              chargeback risk · revenue touched · VIP/high-value orders · open at week end
  chart       cases opened per day as unicode sparklines, both weeks on one scale
  bars        top signals and top return reasons (this week, last week in brackets)
  overrides   decisions that went against the recommendation: order, recommended vs
              decided, who (first 10, then "…and N more")
  oldest      the 5 oldest open cases, linked to their cards
  health      integrations that are failing (and what to do), or "all healthy"
  footnote    how the numbers are counted

Outside text (order names, customer names, error messages, reasons from snapshots) is
escaped; mrkdwn is `verbatim`; every Block Kit limit holds whatever the input.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    Block,
    DividerBlock,
    HeaderBlock,
    PlainTextObject,
    SectionBlock,
)

from blocks.escape import escape_mrkdwn, link, one_line, plain
from blocks.format import ago, kind_label, mention, reason_label, signal_label, whole_money
from blocks.parts import SAMPLE_STORE, SECTION_TEXT, context, fit, md, plural, sample_store_context, section
from policy.models import Action, CaseKind, CaseStatus, Money

MAX_BLOCKS = 50
FIELD_TEXT = 2000
HEADER_TEXT = 150
FALLBACK_CHARS = 3000

MAX_OVERRIDES_SHOWN = 10
MAX_OPEN_SHOWN = 5
MAX_BARS = 6
MAX_HEALTH_SHOWN = 10
BAR_WIDTH = 12
LABEL_WIDTH = 22

OUTCOMES = ("refund", "store_credit", "exchange", "deny", "accept")


# --- the data -----------------------------------------------------------------------------


@dataclass(frozen=True)
class WeekFigures:
    """One week [start, end), counted in SQL. See `bot.services.digest` for definitions."""

    start: datetime
    end: datetime
    opened: int = 0
    opened_by_kind: Mapping[str, int] = field(default_factory=dict)  # CaseKind value -> count
    opened_per_day: tuple[int, ...] = (0,) * 7  # day i = [start + i days, start + i + 1 days), local
    decided: int = 0  # by people
    auto_approved: int = 0
    closed_in_store: int = 0
    decisions_timed: int = 0  # decisions by people with a duration (= decided)
    decision_median_s: float | None = None
    decision_p90_s: float | None = None
    orders: int = 0  # orders seen, placed in the week
    order_value: tuple[Money, ...] = ()
    decisions: int = 0  # decisions by people (adherence denominator)
    followed: int = 0  # … that followed the recommendation
    open_disputes: int = 0  # dispute cases undecided at `end`
    at_risk: tuple[Money, ...] = ()  # their amounts
    disputes_opened: int = 0
    decided_value: tuple[Money, ...] = ()  # amounts of cases decided in the week (people + auto)
    decided_by_outcome: Mapping[str, tuple[Money, ...]] = field(default_factory=dict)  # refund, deny, …
    flagged_orders: int = 0  # order reviews with the VIP or high-value signal
    vip_orders: int = 0
    high_value_orders: int = 0
    flagged_value: tuple[Money, ...] = ()
    signals: tuple[tuple[str, int], ...] = ()  # (signal code, cases opened with it), most first
    reasons: tuple[tuple[str, int], ...] = ()  # (return reason, return requests citing it), most first
    backlog: int = 0  # cases undecided at `end`
    # (owner, count), most first: the system each case's decision is carried out in
    # ("Shopify", "Loop"), for the cases opened and the decisions by people.
    opened_by_owner: tuple[tuple[str, int], ...] = ()
    decisions_by_owner: tuple[tuple[str, int], ...] = ()
    # Tickets (issue 12): first response = ticket created → our reply sent (whole seconds)
    replies_timed: int = 0
    first_response_median_s: float | None = None
    first_response_p90_s: float | None = None
    handled_by: tuple[tuple[str, int], ...] = ()  # (Slack user id, tickets whose reply they sent), most first
    tickets_edited: int = 0  # … sent after editing the draft
    one_touch: int = 0  # … sent unedited and not reopened by `end`
    reopened: int = 0
    csat_rated: int = 0  # satisfaction scores (1–5) that reached us in the week
    csat_satisfied: int = 0  # … of 4 or 5
    csat_sum: int = 0

    @property
    def tickets_handled(self) -> int:
        return sum(n for _, n in self.handled_by)

    @property
    def handled_per_person_day(self) -> float | None:
        """Tickets handled ÷ the people who handled any ÷ the period's days."""
        days = (self.end - self.start).total_seconds() / 86400
        people = len(self.handled_by)
        return self.tickets_handled / people / days if people and days > 0 else None

    @property
    def one_touch_rate(self) -> float | None:
        return self.one_touch / self.tickets_handled if self.tickets_handled else None

    @property
    def edited_rate(self) -> float | None:
        return self.tickets_edited / self.tickets_handled if self.tickets_handled else None

    @property
    def csat_share(self) -> float | None:
        return self.csat_satisfied / self.csat_rated if self.csat_rated else None

    @property
    def csat_average(self) -> float | None:
        return self.csat_sum / self.csat_rated if self.csat_rated else None

    @property
    def has_tickets(self) -> bool:
        return bool(self.opened_by_kind.get(CaseKind.TICKET.value) or self.replies_timed or self.handled_by
                    or self.csat_rated)

    @property
    def resolved(self) -> int:
        return self.decided + self.auto_approved + self.closed_in_store

    @property
    def exception_rate(self) -> float | None:
        return self.opened / self.orders if self.orders else None

    @property
    def adherence(self) -> float | None:
        return self.followed / self.decisions if self.decisions else None

    @property
    def overrides(self) -> int:
        return self.decisions - self.followed


@dataclass(frozen=True)
class Override:
    case_id: int
    kind: CaseKind
    order_name: str | None
    amount: Money
    recommended: str  # Action value
    decided: str  # Action value (the decision's outcome)
    decided_by: str  # Slack user id
    decided_at: datetime


@dataclass(frozen=True)
class OpenCase:
    case_id: int
    kind: CaseKind
    status: CaseStatus
    order_name: str | None
    customer_name: str | None
    amount: Money
    opened_at: datetime
    slack_channel: str | None = None
    slack_ts: str | None = None
    url: str | None = None  # permalink of the card, filled in before rendering


@dataclass(frozen=True)
class HealthItem:
    system: str  # "shopify.orders", "shopify.webhooks", "slack"
    vendor: str  # "Shopify", "Slack"
    what: str  # "order poller", "webhooks", "cards"
    ok: bool  # no failure since the last success
    consecutive_failures: int
    last_error: str | None
    last_error_at: datetime | None
    last_success_at: datetime | None
    needs_reconnect: bool = False  # credentials refused: someone has to reconnect the app
    hint: str | None = None  # what to do, one line
    failed_this_week: bool = False  # failed during the period (maybe recovered since)


@dataclass(frozen=True)
class StalledReturn:
    case_id: int
    stage: str  # ReturnStage value it is stuck in
    days: int
    since: datetime
    order_name: str | None = None
    slack_channel: str | None = None
    slack_ts: str | None = None
    url: str | None = None  # permalink of the card, filled in before rendering


@dataclass(frozen=True)
class ReturnPipeline:
    """The return after approval (bot.services.pipeline computes it)."""

    in_stage: tuple[tuple[str, int], ...] = ()  # (ReturnStage value, returns there now), pipeline order
    cycles: int = 0  # returns processed in the period (request → refund timed)
    cycle_median_s: float | None = None
    cycle_p90_s: float | None = None
    stage_share: tuple[tuple[str, float], ...] = ()  # (stage, share of the summed cycle time)
    refunds_on_receipt: int = 0
    refunds_on_approval: int = 0
    exceptions: tuple[tuple[str, int], ...] = ()  # (follow-up reason, opened in the period), most first
    stalled: tuple[StalledReturn, ...] = ()  # longest-stalled first


@dataclass(frozen=True)
class MomentsWeek:
    """High-value and VIP moments of the week, their follow-ups and the automations that ran
    (bot.store.moments.MomentRepo.week counts them)."""

    by_trigger: tuple[tuple[str, int], ...] = ()  # (trigger, moments), most first
    vip_orders: int = 0  # orders that fired a VIP moment (became VIP, a VIP's order delayed or returned)
    revenue: tuple[Money, ...] = ()  # the orders' totals, each order once
    followups_created: int = 0
    done_on_time: int = 0
    done_late: int = 0
    overdue: int = 0  # open and past due at the end of the week
    auto_approvals: int = 0
    refunds_on_receipt: int = 0
    tags_added: int = 0


@dataclass(frozen=True)
class Digest:
    start: datetime
    end: datetime
    timezone: str  # IANA name of the store time zone (the week's boundaries)
    currency: str  # store currency, for "$0" when nothing was counted
    this_week: WeekFigures
    last_week: WeekFigures
    overrides: tuple[Override, ...] = ()  # this week's, newest first (the count is in this_week)
    oldest_open: tuple[OpenCase, ...] = ()
    health: tuple[HealthItem, ...] = ()
    generated_at: datetime | None = None
    # Set on returnsbot's first digest: it started inside the period, so `start` is when it
    # started and there is no earlier week to compare with.
    started_at: datetime | None = None
    sample_store: bool = False  # counted on the bundled sample store: the digest says so
    pipeline: ReturnPipeline | None = None  # None: no return has a stage yet (section left out)
    moments: MomentsWeek | None = None  # None: no [[moments]] in the policy (section left out)

    @property
    def first(self) -> bool:
        return self.started_at is not None


# --- public -------------------------------------------------------------------------------


def render_digest(d: Digest) -> dict:
    blocks: list[Block] = [
        HeaderBlock(text=PlainTextObject(text=header_text(d), emoji=True)),
        context(period_line(d)),
    ]
    if d.sample_store:
        blocks.append(sample_store_context())
    blocks += [
        SectionBlock(fields=[md(fit(f, FIELD_TEXT)) for f in _fields(d)]),
        section(_chart(d)),
    ]
    bars = _bars_section(d)
    if bars:
        blocks.append(section(bars))
    blocks.append(DividerBlock())
    blocks.append(section(_overrides(d)))
    blocks.append(section(_oldest(d)))
    if d.pipeline is not None:
        blocks.append(section(fit(pipeline_text(d.pipeline, d.generated_at or d.end), SECTION_TEXT)))
    if d.moments is not None:
        blocks.append(section(fit(moments_text(d.moments, d.currency), SECTION_TEXT)))
    if d.this_week.has_tickets or d.last_week.has_tickets:
        blocks.append(section(fit(tickets_text(d), SECTION_TEXT)))
    blocks.append(section(_health(d)))
    blocks.append(context(FOOTNOTE))
    if len(blocks) > MAX_BLOCKS:  # cannot happen: the layout is fixed
        raise AssertionError(f"digest has {len(blocks)} blocks")
    return {"blocks": [b.to_dict() for b in blocks], "text": fallback_text(d)}


FOOTNOTE = (
    "Opened: cases opened in the week · resolved: decided (by people or auto-approved) or closed in the store · "
    "decision speed: case opened → decision by a person · exception rate: cases opened ÷ orders placed · "
    "adherence: decisions by people that followed the recommendation · amounts are case amounts, per currency."
)


def header_text(d: Digest) -> str:
    return plain(f"Weekly digest · {_date_range(d)}", HEADER_TEXT)


def period_line(d: Digest) -> str:
    tz = ZoneInfo(d.timezone)
    fmt = "%a %d %b %Y %H:%M"
    start, end = d.start.astimezone(tz), d.end.astimezone(tz)
    zone = escape_mrkdwn(d.timezone, 60)
    if d.first:
        return (f":calendar: returnsbot's first digest: since returnsbot started on {start.strftime(fmt)} → "
                f"{end.strftime(fmt)} ({zone}); there is no week before to compare with")
    return f":calendar: {start.strftime(fmt)} → {end.strftime(fmt)} ({zone}) · compared with the week before"


def fallback_text(d: Digest) -> str:
    t, p = d.this_week, d.last_week
    parts = [
        f"{plural(t.opened, 'exception')} opened" + ("" if d.first else f" (last week {p.opened})"),
        f"{t.resolved} resolved",
    ]
    if t.decision_median_s is not None:
        parts.append(f"median decision {duration(t.decision_median_s)}")
    if t.adherence is not None:
        parts.append(f"{_pct(t.adherence, 0)} followed the recommendation")
    parts.append(f"{plural(t.open_disputes, 'open dispute')} ({_money(t.at_risk, d.currency)} at risk)")
    failing = [h for h in d.health if not h.ok]
    if failing:
        parts.append(f"{plural(len(failing), 'integration')} failing")
    head = f"Weekly digest {_date_range(d)}" + (" (since returnsbot started)" if d.first else "")
    if d.sample_store:
        head = f"[{SAMPLE_STORE}] {head}"
    return escape_mrkdwn(f"{head}: " + ", ".join(parts) + ".", FALLBACK_CHARS)


# --- formatting ---------------------------------------------------------------------------


def duration(seconds: float) -> str:
    """45 s · 12 min · 1 h 12 min · 2 d 3 h."""
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    m = s // 60
    if m < 60:
        return f"{m} min"
    h, m = divmod(m, 60)
    if h < 24:
        return f"{h} h {m} min" if m else f"{h} h"
    d, h = divmod(h, 24)
    return f"{d} d {h} h" if h else f"{d} d"


def delta(now: int, before: int) -> str:
    """"▲ 5" / "▼ 2" / "= 0" — direction only, no judgement."""
    diff = now - before
    if diff > 0:
        return f"▲ {diff:,}"
    if diff < 0:
        return f"▼ {-diff:,}"
    return "= 0"


SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[int], top: int | None = None) -> str:
    """One character per value, ▁ (zero) to █ (`top`, default the largest value)."""
    top = max(values, default=0) if top is None else top
    if top <= 0:
        return SPARKS[0] * len(values)
    return "".join(SPARKS[0] if v <= 0 else SPARKS[max(1, round(v / top * (len(SPARKS) - 1)))] for v in values)


_EIGHTHS = " ▏▎▍▌▋▊▉"


def bar(value: int, top: int, width: int = BAR_WIDTH) -> str:
    """A horizontal bar in eighths of a character, `width` characters at `top`."""
    if top <= 0 or value <= 0:
        return ""
    eighths = max(1, round(value / top * width * 8))
    full, rest = divmod(eighths, 8)
    return "█" * full + (_EIGHTHS[rest] if rest else "")


def _money(values: Sequence[Money], currency: str) -> str:
    if not values:
        return whole_money(Money.zero(currency))
    return " + ".join(whole_money(m) for m in values)


def _pct(x: float | None, digits: int = 1) -> str:
    return "—" if x is None else f"{x * 100:.{digits}f}%"




def _date_range(d: Digest) -> str:
    tz = ZoneInfo(d.timezone)
    start, end = d.start.astimezone(tz), d.end.astimezone(tz)
    if start.date() == end.date():  # a first digest on the day returnsbot started
        return f"{end:%d %b %Y}"
    if start.year != end.year:
        return f"{start:%d %b %Y} – {end:%d %b %Y}"
    if start.month != end.month:
        return f"{start:%d %b} – {end:%d %b %Y}"
    return f"{start:%d}–{end:%d %b %Y}"










def _lines(lines: Sequence[str], limit: int, more) -> str:
    """Join lines up to `limit` characters; whatever does not fit becomes one `more(n)` line."""
    out: list[str] = []
    used = 0
    for i, line in enumerate(lines):
        reserve = len(more(len(lines))) + 1 if i < len(lines) - 1 else 0
        if used + len(line) + 1 + reserve > limit:
            out.append(more(len(lines) - i))
            break
        out.append(line)
        used += len(line) + 1
    return "\n".join(out)


# --- sections -----------------------------------------------------------------------------


def _fields(d: Digest) -> list[str]:
    t, p, cur = d.this_week, d.last_week, d.currency

    def vs(now: int, before: int, shown: str | None = None) -> str:
        """"  ▲ 5 (last week 5)"; nothing on the first digest (there was no week before)."""
        return "" if d.first else f"  {delta(now, before)} (last week {shown or f'{before:,}'})"

    def before(text: str) -> str:
        return "" if d.first else f"\n{text}"

    speed = (f"median {duration(t.decision_median_s)} · p90 {duration(t.decision_p90_s)}"
             if t.decision_median_s is not None and t.decision_p90_s is not None else "no decisions by people")
    speed_before = (f"median {duration(p.decision_median_s)} · p90 {duration(p.decision_p90_s)}"
                    if p.decision_median_s is not None and p.decision_p90_s is not None else "none")
    by_outcome = [
        f"{_OUTCOME_LABELS[o]} {_money(t.decided_by_outcome[o], cur)}"
        for o in OUTCOMES if t.decided_by_outcome.get(o)
    ]
    kinds = [plural(t.opened_by_kind[k.value], _KIND_SHORT[k]) for k in CaseKind if t.opened_by_kind.get(k.value)]
    # Per owner only when more than one system owns cases (a returns platform beside the store).
    owners = {name for name, _ in (*t.opened_by_owner, *p.opened_by_owner, *t.decisions_by_owner)}
    split = len(owners) > 1
    return [
        f"*Exceptions opened*\n{t.opened:,}{vs(t.opened, p.opened)}"
        + (f"\n{' · '.join(kinds)}" if kinds else ""),
        f"*Resolved*\n{t.resolved:,}{vs(t.resolved, p.resolved)}\n"
        f"{t.decided:,} by people · {t.auto_approved:,} auto-approved · {t.closed_in_store:,} closed in store",
        f"*Decision speed* ({plural(t.decisions_timed, 'decision')})\n{speed}{before(f'last week {speed_before}')}",
        f"*Exception rate*\n{_pct(t.exception_rate)} of {plural(t.orders, 'order')}"
        + (f"\nby owner: {_owners(t.opened_by_owner)}" if split else "")
        + before(f"last week {_pct(p.exception_rate)} of {p.orders:,}"
                 + (f" ({_owners(p.opened_by_owner)})" if split and p.opened_by_owner else "")),
        f"*Policy adherence*\n{_pct(t.adherence, 0)} of {plural(t.decisions, 'decision')} followed the "
        f"recommendation · {plural(t.overrides, 'override')}"
        + (f"\ndecisions by owner: {_owners(t.decisions_by_owner)}" if split and t.decisions_by_owner else "")
        + before(f"last week {_pct(p.adherence, 0)} of {p.decisions:,}"),
        f"*Chargeback risk*\n{plural(t.open_disputes, 'open dispute')} · {_money(t.at_risk, cur)} at risk · "
        f"{t.disputes_opened:,} new" + before(f"last week {p.open_disputes:,} · {_money(p.at_risk, cur)}"),
        f"*Revenue touched*\n{_money(t.decided_value, cur)} decided"
        + (f" ({' · '.join(by_outcome)})" if by_outcome else "")
        + f"\norders placed {_money(t.order_value, cur)}"
        + before(f"last week {_money(p.decided_value, cur)} decided · {_money(p.order_value, cur)} orders"),
        f"*VIP / high-value orders flagged*\n{t.flagged_orders:,} ({t.vip_orders:,} VIP · "
        f"{t.high_value_orders:,} high value) · {_money(t.flagged_value, cur)}"
        + before(f"last week {p.flagged_orders:,}"),
        f"*Open at week end*\n{t.backlog:,}{vs(t.backlog, p.backlog)}",
    ]


def _owners(counts: tuple[tuple[str, int], ...]) -> str:
    """"Shopify 20 · Loop 7" (most first), or "none"."""
    return " · ".join(f"{escape_mrkdwn(name, 40)} {n:,}" for name, n in counts) or "none"


_OUTCOME_LABELS = {
    "refund": "refunds",
    "store_credit": "store credit",
    "exchange": "exchanges",
    "deny": "declined",
    "accept": "reviews",
}

_KIND_SHORT = {
    CaseKind.RETURN_REQUEST: "return",
    CaseKind.HIGH_VALUE_REFUND: "refund",
    CaseKind.DISPUTE: "dispute",
    CaseKind.ORDER_REVIEW: "order review",
    CaseKind.EARLY_FRAUD_WARNING: "fraud warning",
    CaseKind.DELAYED_SHIPMENT: "delayed shipment",
    CaseKind.TICKET: "ticket",
}


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def _chart(d: Digest) -> str:
    t, p = d.this_week, d.last_week
    top = max([*t.opened_per_day, *p.opened_per_day], default=0)
    tz = ZoneInfo(d.timezone)
    first = t.start.astimezone(tz)
    days = [(first.weekday() + i) % 7 for i in range(len(t.opened_per_day))]
    names = "".join("MTWTFSS"[i] for i in days)
    busiest = max(range(len(t.opened_per_day)), key=lambda i: t.opened_per_day[i], default=None)
    peak = ""
    if busiest is not None and t.opened_per_day[busiest] > 0:
        peak = f" · busiest {_DAY_NAMES[days[busiest]]} ({t.opened_per_day[busiest]:,})"
    earlier = "" if d.first else f"`{sparkline(p.opened_per_day, top)}` last week ({p.opened:,})\n"
    return (
        "*Cases opened per day*\n"
        f"`{sparkline(t.opened_per_day, top)}` this week ({t.opened:,}){peak}\n"
        f"{earlier}"
        f"`{names}`"
    )


_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _bar_lines(rows: Sequence[tuple[str, int]], before: Mapping[str, int] | None, label) -> list[str]:
    rows = [r for r in rows if r[1] > 0][:MAX_BARS]
    top = max((n for _, n in rows), default=0)
    out = []
    for key, n in rows:
        name = one_line(label(key))
        name = name if len(name) <= LABEL_WIDTH else name[: LABEL_WIDTH - 1] + "…"
        earlier = "" if before is None else f" ({before.get(key, 0):,})"
        out.append(f"{name:<{LABEL_WIDTH}} {bar(n, top):<{BAR_WIDTH}} {n:>5,}{earlier}")
    return out


def _bars_section(d: Digest) -> str | None:
    t, p = d.this_week, d.last_week
    parts = []
    signals = _bar_lines(t.signals, None if d.first else dict(p.signals), lambda c: _upper_first(signal_label(c)))
    if signals:
        parts.append("*Top signals* (cases opened this week" + ("" if d.first else "; last week in brackets")
                     + ")\n```" + escape_mrkdwn("\n".join(signals), 1200) + "```")
    reasons = _bar_lines(t.reasons, None if d.first else dict(p.reasons), reason_label)
    if reasons:
        parts.append("*Top return reasons* (return requests citing each)\n```"
                     + escape_mrkdwn("\n".join(reasons), 1200) + "```")
    return "\n".join(parts) or None


def _action_label(value: str) -> str:
    try:
        return Action(value).label
    except ValueError:
        return escape_mrkdwn(one_line(value), 40)


def _case_title(order_name: str | None, kind: CaseKind, amount: Money) -> str:
    order = one_line(order_name) if order_name else "no order"
    return f"{order} · {kind_label(kind)} · {amount.format()}"


def _overrides(d: Digest) -> str:
    n = d.this_week.overrides
    if n == 0:
        if d.this_week.decisions:
            return ":white_check_mark: *Overrides*\nEvery decision followed the recommendation."
        return "*Overrides*\nNo decisions by people this week."
    head = f":twisted_rightwards_arrows: *Overrides* ({n:,} of {d.this_week.decisions:,} decisions)"
    lines = [
        f"• *{escape_mrkdwn(_case_title(o.order_name, o.kind, o.amount), 200)}* — recommended "
        f"*{_action_label(o.recommended)}*, decided *{_action_label(o.decided)}* by {mention(o.decided_by)}"
        for o in d.overrides[:MAX_OVERRIDES_SHOWN]
    ]
    hidden = n - len(lines)
    if hidden > 0:
        lines.append(f"…and {hidden:,} more")
    body = _lines(lines, SECTION_TEXT - len(head) - 1, lambda k: f"…and {k:,} more")
    return f"{head}\n{body}"


_OPEN_STATUS = {CaseStatus.OPEN: "waiting", CaseStatus.ESCALATED: "escalated"}


def _oldest(d: Digest) -> str:
    if not d.oldest_open:
        return ":white_check_mark: *Oldest open cases*\nNothing is waiting for a decision."
    now = d.generated_at or d.end
    lines = []
    for c in d.oldest_open[:MAX_OPEN_SHOWN]:
        title = link(c.url, _case_title(c.order_name, c.kind, c.amount), limit=200)
        who = f" · {escape_mrkdwn(one_line(c.customer_name), 80)}" if c.customer_name else ""
        since = ago(c.opened_at, now).removesuffix(" ago")
        lines.append(f"• {title}{who} — open {since}, {_OPEN_STATUS.get(c.status, c.status.value)}")
    return ":hourglass: *Oldest open cases*\n" + "\n".join(lines)


def _health(d: Digest) -> str:
    failing = [h for h in d.health if not h.ok]
    recovered = [h for h in d.health if h.ok and h.failed_this_week]
    if not failing and not recovered:
        if not d.health:
            return ":white_circle: *Integration health*\nNo integration has reported yet."
        names = ", ".join(escape_mrkdwn(h.system, 60) for h in d.health[:MAX_HEALTH_SHOWN])
        return f":large_green_circle: *Integration health*\nAll healthy ({names})."
    now = d.generated_at or d.end
    lines = []
    for h in failing[:MAX_HEALTH_SHOWN]:
        icon = ":red_circle:" if h.needs_reconnect else ":warning:"
        what = f"*{escape_mrkdwn(h.vendor, 40)}* {escape_mrkdwn(h.what, 60)} (`{escape_mrkdwn(h.system, 60)}`)"
        state = f"{plural(h.consecutive_failures, 'failure')} in a row"
        if h.last_success_at is not None:
            state += f", last worked {ago(h.last_success_at, now)}"
        else:
            state += ", never worked"
        line = f"{icon} {what} — {state}"
        if h.hint:
            line += f"\n     → {escape_mrkdwn(h.hint, 200)}"
        if h.last_error:
            line += f"\n     `{escape_mrkdwn(one_line(h.last_error), 300)}`"
        lines.append(line)
    for h in recovered[:MAX_HEALTH_SHOWN]:
        lines.append(f":large_green_circle: *{escape_mrkdwn(h.vendor, 40)}* {escape_mrkdwn(h.what, 60)} "
                     f"(`{escape_mrkdwn(h.system, 60)}`) failed this week, working again")
    head = ":rotating_light: *Integration health*" if failing else ":large_green_circle: *Integration health*"
    body = _lines(lines, SECTION_TEXT - len(head) - 1, lambda k: f"…and {k:,} more")
    return f"{head}\n{body}"


# --- the return pipeline -------------------------------------------------------------------

STAGE_LABELS = {
    "requested": "Requested", "approved": "Approved, no label", "label_sent": "Labelled",
    "in_transit": "In transit", "delivered_back": "Delivered back", "received": "Received",
    "processed": "Refunded / processed",
}
_STALLED = {"approved": "no label", "label_sent": "not moving", "in_transit": "not moving",
            "delivered_back": "not inspected"}
_EXCEPTIONS = {"missing": "items missing", "not_restocked": "not restocked (damaged, used, wrong item)",
               "fewer_received": "fewer items received", "exceeds_refundable": "refund above what is left",
               "exchange_out_of_stock": "exchange out of stock"}
MAX_STALLED_SHOWN = 5


def pipeline_text(p: ReturnPipeline, now: datetime) -> str:
    lines = [":package: *Return pipeline*"]
    if p.in_stage:
        lines.append("Now: " + " · ".join(f"{STAGE_LABELS.get(s, s)} {n}" for s, n in p.in_stage))
    else:
        lines.append("Now: no return between approval and refund.")
    if p.cycles:
        cycle = f"Cycle time request → refund: median {duration(p.cycle_median_s or 0)}, " \
                f"p90 {duration(p.cycle_p90_s or 0)} ({plural(p.cycles, 'return')})"
        if p.stage_share:
            cycle += "; " + ", ".join(f"{STAGE_LABELS.get(s, s).lower()} {round(x * 100)}%" for s, x in p.stage_share)
        lines.append(cycle)
    paid = p.refunds_on_receipt + p.refunds_on_approval
    if paid:
        lines.append(f"Refunds: {p.refunds_on_receipt} on receipt, {p.refunds_on_approval} on approval")
    if p.exceptions:
        lines.append("Exceptions at receipt: " + ", ".join(f"{n} × {_EXCEPTIONS.get(r, r.replace('_', ' '))}"
                                                           for r, n in p.exceptions))
    if p.stalled:
        lines.append(f"Stalled ({len(p.stalled)}):")
        for r in p.stalled[:MAX_STALLED_SHOWN]:
            title = link(r.url, r.order_name or f"case {r.case_id}", limit=80)
            lines.append(f"• {title} — {_STALLED.get(r.stage, r.stage)} for {r.days} d")
        if len(p.stalled) > MAX_STALLED_SHOWN:
            lines.append(f"… and {len(p.stalled) - MAX_STALLED_SHOWN} more")
    return "\n".join(lines)


# --- high-value and VIP moments (issue 13) ---------------------------------------------------

_TRIGGER_WORDS = {"order_over": "high-value orders", "first_order_over": "big first orders",
                  "became_vip": "new VIPs", "vip_order_delayed": "VIP orders delayed",
                  "vip_order_returned": "VIP returns"}


def moments_text(m: MomentsWeek, currency: str) -> str:
    lines = [":star2: *High-value and VIP moments*"]
    if m.by_trigger:
        lines.append(" · ".join(f"{n} {_TRIGGER_WORDS.get(t, t)}" for t, n in m.by_trigger))
    else:
        lines.append("No moments this week.")
    lines.append(f"VIP orders flagged: {m.vip_orders} · revenue touched: {_money(m.revenue, currency)}")
    lines.append(f"Follow-ups: {m.followups_created} created · {m.done_on_time} done on time · "
                 f"{m.done_late} done late · {m.overdue} overdue")
    lines.append(f"Automations that ran: {m.auto_approvals} auto-approval(s) · {m.refunds_on_receipt} refund(s) on "
                 f"receipt · {m.tags_added} tag update(s) · {m.followups_created} follow-up(s) created")
    return "\n".join(lines)


# --- tickets (issue 12) ----------------------------------------------------------------------

NOT_MEASURED = "not measured"
MAX_PEOPLE_SHOWN = 3


def tickets_text(d: Digest) -> str:
    """First response, tickets handled per person per day, one-touch resolution, drafts
    edited, CSAT — "not measured" where nothing stands behind a figure."""
    t, p = d.this_week, d.last_week

    def response(w: WeekFigures) -> str:
        if w.first_response_median_s is None or w.first_response_p90_s is None:
            return NOT_MEASURED
        return (f"median {duration(w.first_response_median_s)} · p90 {duration(w.first_response_p90_s)} "
                f"({_count(w.replies_timed, 'reply', 'replies')})")

    def per_day(w: WeekFigures) -> str:
        rate = w.handled_per_person_day
        if rate is None:
            return NOT_MEASURED
        people = ", ".join(f"{mention(user)} {n:,}" for user, n in w.handled_by[:MAX_PEOPLE_SHOWN])
        more = f", +{len(w.handled_by) - MAX_PEOPLE_SHOWN} more" if len(w.handled_by) > MAX_PEOPLE_SHOWN else ""
        return f"{rate:,.1f} per person per day ({w.tickets_handled:,} by {_count(len(w.handled_by), 'person', 'people')}: {people}{more})"

    def share(x: float | None, of: str = "") -> str:
        return NOT_MEASURED if x is None else f"{_pct(x, 0)} {of}".rstrip()

    def csat(w: WeekFigures) -> str:
        if w.csat_average is None:
            return NOT_MEASURED
        return f"{_pct(w.csat_share, 0)} satisfied (4–5 of 5) · average {w.csat_average:.1f} ({plural(w.csat_rated, 'rating')})"

    def before(text: str) -> str:
        return "" if d.first else f" · last week {text}"

    lines = [
        ":speech_balloon: *Tickets*",
        f"First response (ticket → reply sent): {response(t)}" + before(response(p)),
        f"Handled: {per_day(t)}" + before(NOT_MEASURED if p.handled_per_person_day is None
                                          else f"{p.handled_per_person_day:,.1f}/person/day"),
        f"One touch (sent unedited, not reopened): "
        + share(t.one_touch_rate, f"of {plural(t.tickets_handled, 'ticket')}")
        + (f" · {t.reopened:,} reopened" if t.reopened else "") + before(share(p.one_touch_rate)),
        f"Drafts edited before sending: "
        + (NOT_MEASURED if t.edited_rate is None else f"{t.tickets_edited:,} of {t.tickets_handled:,} ({_pct(t.edited_rate, 0)})")
        + before(share(p.edited_rate)),
        f"CSAT: {csat(t)}" + before(NOT_MEASURED if p.csat_share is None else _pct(p.csat_share, 0)),
    ]
    return "\n".join(lines)


def _count(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"
