"""The weekly digest: computed in SQL, posted once per period.

    compute(start, end)  -> Digest            pure data: [start, end) beside the week before
    post_now()           -> ts                the last 7 days, posted at once (CLI)
    run_due(holder)      -> posted?           the scheduler's job, every minute and at start-up
    period_for(now)      -> (key, start, end) the most recent scheduled period

Periods. `[digest] day` and `time` in the `[store] timezone` name the scheduled instant; a
period is the week ending at one (7 calendar days in the store's time zone, so 167 or 169
hours across a DST change). Its key is the ISO week of its start, "2026-W47".

Exactly once across replicas. `run_due` claims the period in the `digest_runs` ledger (an
INSERT on its primary key: one replica wins, the others find the row and do nothing),
commits, computes, posts, then marks it posted. A replica that dies after claiming leaves
a `running` row whose lease runs out; the next `run_due` anywhere takes it over. A post
that fails is marked `failed` with the error and retried by a later `run_due` (after 5
minutes, or 30 when Slack refused the message), for at most 24 hours after the first
claim; the next period's digest goes out as usual either way. Only the most recent
period is ever considered, so after downtime spanning several periods exactly one digest
(the latest week) is posted, once. The one duplicate we accept is the one every
`chat.postMessage` has: Slack posted but the answer never reached us (the message carries
the period key in its metadata, to reconcile by hand).

Metrics (all in SQL, see `bot.store.digest`; a week is [start, end)):
- opened: cases with `opened_at` in the week, by kind.
- resolved: decided in the week (`decided_at`; by people or auto-approved) + closed in the
  store admin (status `closed`, closed in the week).
- decision speed: `decided_at − opened_at` of decisions by people (auto-approvals left
  out: they would pull the median to zero); median and p90 as `percentile_cont`, whole
  seconds. A card is posted as the case opens, so this is card → decision.
- exception rate: cases opened ÷ orders seen (`orders_seen.placed_at`) in the week.
- adherence: decisions by people in the week with `followed_recommendation`, ÷ all of
  them; the overrides are listed (order, recommended, decided, who).
- chargeback risk: dispute cases undecided at the week's end and the sum of their
  amounts, per currency; plus disputes opened in the week.
- revenue touched: amounts of the cases decided in the week, per currency and outcome
  (refunds, store credit, exchanges, declined, reviews acknowledged); orders placed (value).
- VIP / high-value orders flagged: order-review cases opened in the week with the
  `vip_customer` or `high_value` signal.
- top signals: cases opened in the week carrying each signal; top return reasons: return
  requests opened in the week citing each reason (from the case snapshot).
- open at week end: cases undecided at `end` (reconstructed from timestamps).
- oldest open cases: the 5 oldest cases waiting now (opened before `end`), linked to their
  cards with `chat.getPermalink` (exact message link; the channel via `app_redirect` if
  that call fails, so a Slack hiccup never costs the digest).
- return pipeline (issue 9; `bot.services.pipeline`, left out until returns have stages):
  returns in each stage now (`cases.stage`, GROUP BY); cycle time request → first
  `processed` of the returns processed in the week (their `return_stages` only), median,
  p90 and each stage's share; refunds decided in the week by the decision's `refund_on`
  (receipt vs approval); follow-ups opened in the week by `followup.reason`; returns
  stalled now by the `[returns]` stall rules (`bot.services.stalls`), linked to their cards.
- tickets (issue 12; the section is left out when neither week has a ticket): first
  response = ticket created (`cases.ticket_created_at`) → our first reply sent (its
  `ticket_post_reply` job done), median and p90, for replies sent in the week; tickets
  handled = send decisions by people on ticket cases in the week (a reopened ticket sent
  again counts again), per person, and per person per day (÷ the people who sent any,
  ÷ the period's days); drafts edited = sends with the decision's `edited`; one touch =
  sent unedited and not reopened (`case.ticket_reopened`) by the week's end; CSAT = the
  helpdesk's scores (1–5) that reached us in the week (`cases.csat_at`): the share of 4–5
  and the average. A figure with nothing behind it reads "not measured", never 0.
- integration health: every `integration_health` row, as things stand now: a row is
  failing when it has consecutive failures and no success since its last error (a later
  success fixed it, whatever its counter says). Credentials refused means "reconnect"
  (named system + what to do) — unless another part of the same system succeeded after
  that error (one token serves them all), or the system is Slack itself: a digest that
  reaches you came through Slack with that token.

The first digest. A period that ended before returnsbot started is never posted (the
first `serve` used to post a "weekly digest" of a week before the bot existed). The first
one posted covers only [start, end), says "since returnsbot started on …" and compares
with nothing. The start is `DigestStore.started_at`: the earliest case, or the
scheduler's first run.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from datetime import date, datetime, time, timedelta, timezone
from urllib.parse import quote

from blocks.digest import (Digest, HealthItem, MomentsWeek, OpenCase, Override, ReturnPipeline, WeekFigures,
                           render_digest)
from bot.services import pipeline
from bot.services.stalls import StallRules, stalled
from bot.settings import SettingsError
from bot.store.digest import DigestStore, WeekRows, money
from integrations.slack.gateway import SlackError
from policy.models import CaseKind, CaseStatus, Money

log = logging.getLogger(__name__)

__all__ = ["Digest", "DigestNotConfigured", "DigestService"]

LEASE = timedelta(minutes=30)  # longer than a post can take, Slack rate limits included
RETRY_AFTER = timedelta(minutes=5)  # Slack unreachable, database hiccup
RETRY_AFTER_REFUSED = timedelta(minutes=30)  # Slack said no (not_in_channel …): someone must act
RETRY_WINDOW = timedelta(hours=24)  # after the first claim, give the period up
MAX_OVERRIDES = 10
MAX_OPEN = 5
METADATA_EVENT = "returnsbot_digest"
HEALTH_SYSTEM = "slack.digest"
SLACK = "slack"  # the vendor (integration_health prefix) that delivers the digest


class DigestNotConfigured(SettingsError):
    """Slack or `[slack] digest_channel` is missing: there is nowhere to post."""


class DigestService:
    def __init__(self, *, engine, ops, policy, clock, gateway, sample_store: bool = False,
                 vendors: dict[str, tuple[str, str | None]] | None = None) -> None:
        self.engine, self.ops, self.policy, self.clock, self.gateway = engine, ops, policy, clock, gateway
        self.store = DigestStore(engine)
        self.sample_store = sample_store  # figures from the bundled sample store: the digest says so
        # health-row prefix → (the system's name, how to reconnect it), from the registry
        self.vendors = vendors or {}
        self._started: datetime | None = None  # once known it never changes: cached

    def started_at(self) -> datetime | None:
        """When returnsbot started (see `DigestStore.started_at`); None before anything."""
        if self._started is None:
            self._started = self.store.started_at()
        return self._started

    # --- periods ---------------------------------------------------------------------------

    @property
    def _tz(self):
        return self.policy.store.tz

    def _local(self, day: date, at: time) -> datetime:
        return datetime.combine(day, at, tzinfo=self._tz).astimezone(timezone.utc)

    def period_for(self, now: datetime) -> tuple[str, datetime, datetime]:
        """The most recent scheduled period at `now`: (key, start, end), aware UTC."""
        hour, minute = self.policy.digest.hour_minute
        at = time(hour, minute)
        local = now.astimezone(self._tz)
        day = local.date() - timedelta(days=(local.weekday() - self.policy.digest.weekday) % 7)
        if self._local(day, at) > now:
            day -= timedelta(days=7)
        start_day = day - timedelta(days=7)
        year, week, _ = start_day.isocalendar()
        return f"{year}-W{week:02d}", self._local(start_day, at), self._local(day, at)

    def _week_before(self, end: datetime) -> datetime:
        """7 calendar days before `end`, same wall-clock time, in the store's time zone."""
        local = end.astimezone(self._tz)
        return self._local(local.date() - timedelta(days=7), local.timetz().replace(tzinfo=None))

    def _days(self, start: datetime, end: datetime) -> list[datetime]:
        """8 edges of 7 days from `start` (local calendar days), the last one `end`."""
        local = start.astimezone(self._tz)
        wall = local.timetz().replace(tzinfo=None)
        edges = [min(self._local(local.date() + timedelta(days=i), wall), end) for i in range(7)]
        return edges + [end]

    # --- computing -------------------------------------------------------------------------

    def compute(self, period_start: datetime, period_end: datetime, *, delivered_via: str | None = None) -> Digest:
        """This period [start, end) and the one before it (the 7 days before `start` for a
        week, else as long as this one); counted in SQL, as things stood at `end`.

        A period returnsbot started in begins at its start instead (`Digest.started_at`).
        `delivered_via`: the vendor that will carry the digest ("slack"): reaching anyone
        proves its credentials work."""
        start, end = _aware(period_start), _aware(period_end)
        if end <= start:
            raise ValueError("period_end must be after period_start")
        started = self.started_at()
        first = started is not None and start < started < end
        if first:
            start = started
        week = timedelta(days=7)
        is_week = abs((end - start) - week) <= timedelta(hours=2) and self._week_before(end) == start
        prev_start = self._week_before(start) if is_week else start - (end - start)
        edges = self._days(prev_start, start)[:-1] + self._days(start, end)
        this, last = self.store.weeks(prev_start=prev_start, start=start, end=end, day_edges=edges)
        overrides = [
            Override(
                case_id=r["id"], kind=CaseKind(r["kind"]), order_name=r["order_name"],
                amount=Money.from_minor(r["amount_minor"], r["currency"]),
                recommended=r["recommended_action"], decided=r["outcome"] or r["action"],
                decided_by=r["decided_by"], decided_at=r["decided_at"],
            )
            for r in self.store.overrides(start=start, end=end, limit=MAX_OVERRIDES)
        ]
        oldest = [
            OpenCase(
                case_id=r["id"], kind=CaseKind(r["kind"]), status=CaseStatus(r["status"]),
                order_name=r["order_name"], customer_name=r["customer_name"],
                amount=Money.from_minor(r["amount_minor"], r["currency"]), opened_at=r["opened_at"],
                slack_channel=r["slack_channel"], slack_ts=r["slack_ts"],
            )
            for r in self.store.oldest_open(before=end, limit=MAX_OPEN)
        ]
        health = health_items(self.store.health(), start, end, delivered_via=delivered_via, vendors=self.vendors)
        return Digest(
            start=start, end=end, timezone=self.policy.store.timezone, currency=self.policy.shop_currency,
            this_week=_figures(this, start, end, self._owner), last_week=_figures(last, prev_start, start, self._owner),
            overrides=tuple(overrides), oldest_open=tuple(oldest), health=tuple(health),
            generated_at=self.clock(), started_at=started if first else None, sample_store=self.sample_store,
            pipeline=self._pipeline(start, end),
            moments=self._moments(start, end, this.auto_approved),
        )

    def _moments(self, start: datetime, end: datetime, auto_approved: int) -> MomentsWeek | None:
        """The moments section; None (left out) when the policy has no [[moments]] and none fired."""
        from bot.services.moments import VIP_TRIGGERS
        from bot.store.moments import MomentRepo

        w = MomentRepo(self.engine).week(start, end, vip_triggers=VIP_TRIGGERS)
        if not self.policy.moments and not w["by_trigger"]:
            return None
        return MomentsWeek(
            by_trigger=tuple(sorted(w["by_trigger"].items(), key=lambda kv: (-kv[1], kv[0]))),
            vip_orders=w["vip_orders"], revenue=money(w["revenue"]), followups_created=w["followups_created"],
            done_on_time=w["done_on_time"], done_late=w["done_late"], overdue=w["overdue"],
            auto_approvals=auto_approved, refunds_on_receipt=w["refunds_on_receipt"], tags_added=w["tags_added"])

    def _owner(self, system: str) -> str:
        """How people call the system a case is decided in ("Shopify", "Loop")."""
        return self.vendors.get(system, (system.replace("_", " ").title(), None))[0]

    def _pipeline(self, start: datetime, end: datetime) -> ReturnPipeline | None:
        """The return pipeline section; None until returns have stages (core's 0007)."""
        rules = StallRules.from_policy(self.policy)
        now = self.clock()
        shortest = min(rules.label_within_days, rules.stalled_after_days, rules.inspect_within_days)
        rows = self.store.pipeline_rows(start=start, end=end, stalled_before=now - timedelta(days=shortest))
        if rows is None:
            return None
        by_id = {r["id"]: r for r in rows.stalled}
        steps = stalled([(r["id"], r["stage"], r["stage_at"]) for r in rows.stalled], now, rules)
        return pipeline.build(in_stage=rows.in_stage, histories=rows.histories, requested_at=rows.requested_at,
                              refund_on=rows.refund_on, followup_reasons=rows.followup_reasons,
                              stalled=pipeline.stalled_entries(steps, by_id))

    def render(self, digest: Digest) -> dict:
        """{blocks, text}, with the oldest open cases linked to their cards."""
        linked = replace(digest, oldest_open=tuple(self._linked(c) for c in digest.oldest_open))
        if digest.pipeline is not None and digest.pipeline.stalled:
            linked = replace(linked, pipeline=replace(
                digest.pipeline, stalled=tuple(self._linked(r) for r in digest.pipeline.stalled)))
        return render_digest(linked)

    def _linked(self, case: OpenCase) -> OpenCase:
        if not (case.slack_channel and case.slack_ts) or self.gateway is None:
            return case
        try:
            url = self.gateway.get_permalink(case.slack_channel, case.slack_ts)
        except Exception as exc:  # the digest matters more than the link
            log.warning("digest.permalink_failed case_id=%s error=%s", case.case_id, exc)
            url = f"https://slack.com/app_redirect?channel={quote(case.slack_channel)}"
        return replace(case, url=url)

    # --- posting ---------------------------------------------------------------------------

    def _channel(self) -> str:
        if self.gateway is None:
            raise DigestNotConfigured(
                "the digest needs Slack: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET")
        channel = self.policy.slack.digest_channel
        if not channel:
            raise DigestNotConfigured(
                "the digest needs a channel: set digest_channel in the [slack] table of the policy file")
        return channel

    def _post(self, digest: Digest, channel: str, period: str) -> str:
        payload = self.render(digest)
        return self.gateway.post_message(
            channel, blocks=payload["blocks"], text=payload["text"],
            metadata={"event_type": METADATA_EVENT, "event_payload": {"period": period}},
        )

    def post_now(self) -> str:
        """Post the digest of the last 7 days, ending now, to digest_channel; the ts.
        Outside the ledger: the scheduled digest still goes out as planned."""
        channel = self._channel()
        end = self.clock()
        digest = self.compute(self._week_before(end), end, delivered_via=SLACK)
        ts = self._post(digest, channel, "manual")
        log.info("digest.posted period=manual channel=%s ts=%s", channel, ts)
        return ts

    def run_due(self, holder: str) -> bool:
        """Post the most recent scheduled period if nobody has; True if this call posted.
        Never raises (it runs in the scheduler): failures are logged and recorded."""
        try:
            channel = self._channel()
        except DigestNotConfigured:
            return False
        try:
            now = self.clock()
            if self.started_at() is None:
                self.store.mark_started(holder=holder, now=now)
                self._started = None  # read it back: another replica may have been first
            period, start, end = self.period_for(now)
            started = self.started_at()
            if started is None or started >= end:
                return False  # that week ended before returnsbot started: nothing to report
            if not self.store.claim(period, holder=holder, now=now, lease=LEASE, retry_window=RETRY_WINDOW):
                return False
        except Exception:
            log.exception("digest.claim_failed holder=%s", holder)
            return False
        log.info("digest.claimed period=%s holder=%s", period, holder)
        try:
            ts = self._post(self.compute(start, end, delivered_via=SLACK), channel, period)
        except Exception as exc:
            delay = RETRY_AFTER_REFUSED if isinstance(exc, SlackError) else RETRY_AFTER
            error = f"{type(exc).__name__}: {exc}"
            log.warning("digest.failed period=%s holder=%s retry_in=%s error=%s", period, holder, delay, error)
            try:
                self.store.mark_failed(period, holder=holder, error=error, retry_at=self.clock() + delay)
                self._health(error)
            except Exception:
                log.exception("digest.mark_failed_failed period=%s", period)  # the lease runs out instead
            return False
        try:
            self.store.mark_posted(period, at=self.clock(), channel=channel, ts=ts)
            self._health(None)
        except Exception:  # posted all the same; the lease runs out and a re-claim would repost
            log.exception("digest.mark_posted_failed period=%s ts=%s", period, ts)
        log.info("digest.posted period=%s channel=%s ts=%s holder=%s", period, channel, ts, holder)
        return True

    def _health(self, error: str | None) -> None:
        """The digest's own line in integration health (`slack.digest`)."""
        if self.ops is None:
            return
        if error is None:
            self.ops.record_success(HEALTH_SYSTEM, at=self.clock())
        else:
            self.ops.record_failure(HEALTH_SYSTEM, at=self.clock(), error=error)


# --- mapping -------------------------------------------------------------------------------


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("digest periods are aware datetimes")
    return value.astimezone(timezone.utc)


def _figures(w: WeekRows, start: datetime, end: datetime, owner=lambda system: system) -> WeekFigures:
    ranked = lambda counts: tuple(sorted(((k, n) for k, n in counts.items() if n), key=lambda kv: (-kv[1], kv[0])))

    def by_owner(counts: dict[str, int]) -> tuple[tuple[str, int], ...]:
        labelled: dict[str, int] = {}
        for system, n in counts.items():  # two names of one system (the sample store's) add up
            labelled[owner(system)] = labelled.get(owner(system), 0) + n
        return ranked(labelled)

    return WeekFigures(
        start=start, end=end, opened=w.opened, opened_by_kind=dict(w.by_kind), opened_per_day=tuple(w.per_day),
        decided=w.decided, auto_approved=w.auto_approved, closed_in_store=w.closed_in_store,
        decisions_timed=w.decisions_timed, decision_median_s=w.median, decision_p90_s=w.p90,
        orders=w.orders, order_value=money(w.order_value), decisions=w.decisions, followed=w.followed,
        open_disputes=w.open_disputes, at_risk=money(w.at_risk), disputes_opened=w.disputes_opened,
        decided_value=money(w.decided_value),
        decided_by_outcome={k: money(v) for k, v in w.by_outcome.items() if money(v)},
        flagged_orders=w.flagged, vip_orders=w.vip, high_value_orders=w.high_value,
        flagged_value=money(w.flagged_value), signals=ranked(w.signals), reasons=ranked(w.reasons),
        backlog=w.backlog, opened_by_owner=by_owner(w.opened_by_owner), decisions_by_owner=by_owner(w.decisions_by_owner),
        replies_timed=w.replies_timed, first_response_median_s=w.first_response_median,
        first_response_p90_s=w.first_response_p90, handled_by=ranked(w.handled_by), tickets_edited=w.edited,
        one_touch=w.one_touch, reopened=w.reopened, csat_rated=w.rated, csat_satisfied=w.satisfied,
        csat_sum=w.csat_sum,
    )


# Slack is the bot's own front door, not a connector; every connected system's name and
# reconnect hint come from its connector (DigestService.vendors).
_SLACK = ("Slack", "reinstall the Slack app or update SLACK_BOT_TOKEN")
_PARTS = {"webhooks": "webhooks", "returns": "return poller", "orders": "order poller", "digest": "digest",
          "disputes": "dispute poller", "refunds": "refund poller"}
_AUTH = re.compile(
    r"rejected the access token|http 401|http 403|invalid_auth|not_authed|token_revoked|token_expired|"
    r"account_inactive|unauthori[sz]ed|invalid api key|access denied", re.IGNORECASE)


def health_items(rows: list[dict], start: datetime, end: datetime, *, delivered_via: str | None = None,
                 vendors: dict[str, tuple[str, str | None]] | None = None) -> list[HealthItem]:
    """Integration health as it stands now (see the module docstring)."""
    latest_success: dict[str, datetime] = {}
    for row in rows:
        prefix = row["system"].partition(".")[0]
        if row["last_success_at"] is not None:
            seen = latest_success.get(prefix)
            latest_success[prefix] = max(seen, row["last_success_at"]) if seen else row["last_success_at"]
    known = {"slack": _SLACK, **(vendors or {})}
    return [_health_item(r, start, end, vendor_success=latest_success.get(r["system"].partition(".")[0]),
                         delivered_via=delivered_via, vendors=known) for r in rows]


def _health_item(row: dict, start: datetime, end: datetime, *, vendor_success: datetime | None = None,
                 delivered_via: str | None = None, vendors: dict[str, tuple[str, str | None]]) -> HealthItem:
    system = row["system"]
    prefix, _, part = system.partition(".")
    vendor, how = vendors.get(prefix, (prefix.replace("_", " ").title() or system, None))
    what = _PARTS.get(part, part.replace("_", " ") if part else ("messages" if prefix == "slack" else "API"))
    error = row["last_error"] or ""
    failures = row["consecutive_failures"] or 0
    error_at, success_at = row["last_error_at"], row["last_success_at"]
    # Failing: failures counted and nothing worked since the last error (a counter can be
    # stale; the timestamps say what happened last).
    broken = failures > 0 and not (success_at is not None and (error_at is None or success_at >= error_at))
    credentials = bool(_AUTH.search(error))
    if broken and credentials:
        # One token serves every part of a system: a later success anywhere means it works,
        # and a digest delivered through a system proves its token as it arrives.
        fixed_elsewhere = vendor_success is not None and error_at is not None and vendor_success > error_at
        if fixed_elsewhere or prefix == delivered_via:
            broken = False
    reconnect = broken and credentials
    hint = None
    if broken:
        if reconnect:
            hint = f"reconnect {vendor}: it refused returnsbot's credentials ({how or 'update its token'})"
        elif "missing_scope" in error:
            hint = f"add the missing scope to the {vendor} app and reinstall it"
        elif "not_in_channel" in error:
            hint = "invite returnsbot to the channel (/invite @returnsbot)"
        elif "channel_not_found" in error:
            hint = "check the channel ids in the [slack] table of the policy file"
    return HealthItem(
        system=system, vendor=vendor, what=what, ok=not broken, consecutive_failures=failures if broken else 0,
        last_error=row["last_error"], last_error_at=error_at, last_success_at=success_at,
        needs_reconnect=reconnect, hint=hint,
        failed_this_week=error_at is not None and start <= error_at < end,
    )
