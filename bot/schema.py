"""Database tables (SQLAlchemy 2 Core metadata; Alembic migrations mirror it).

Money is stored as integer minor units plus a currency: exact on SQLite and PostgreSQL
alike, and summable in SQL for digests. Times are timezone-aware UTC (`UtcDateTime`).
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)


class UtcDateTime(TypeDecorator):
    """Aware UTC in and out. SQLite has no time zones, so we normalise on the way in and
    re-attach UTC on the way out; naive values are refused rather than guessed."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):  # type: ignore[override]
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused; store aware UTC")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):  # type: ignore[override]
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


cases = Table(
    "cases",
    metadata,
    Column("id", Integer, primary_key=True),
    # natural key: the same event twice is the same case
    Column("source", String(32), nullable=False),
    Column("external_id", String(255), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("version", Integer, nullable=False, default=1),
    Column("order_id", String(255)),
    Column("order_name", String(64)),
    Column("customer_id", String(255)),
    Column("customer_name", String(255)),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("risk_score", Integer, nullable=False),
    Column("recommended_action", String(16), nullable=False),
    Column("required_tier", Integer, nullable=False),
    Column("auto_approved", Boolean, nullable=False, default=False),
    Column("signal_codes", String(512), nullable=False, default=""),  # comma list, for filters
    Column("channel", String(32)),
    Column("slack_channel", String(32)),  # where the card is
    Column("slack_ts", String(32)),
    # Cards are re-rendered from state: card_version is the case version last shown in
    # Slack. Every change that bumps the version queues a card job (see bot/store/jobs.py)
    # in the same transaction; the job posts or updates the card.
    Column("card_version", Integer, nullable=False, default=0),
    Column("card_error", Text),
    Column("escalation_channel", String(32)),  # the second card, for the higher tier
    Column("escalation_ts", String(32)),
    Column("escalation_url", String(512)),  # permalink of the escalation card
    Column("escalated_by", String(64)),
    Column("escalation_note", Text),
    Column("requested_by", String(64)),  # who asked for this refund, where known: can't approve it
    Column("snapshot_id", Integer),  # current context + assessment
    Column("opened_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("decided_at", UtcDateTime),
    Column("decided_by", String(64)),
    Column("decided_action", String(16)),
    UniqueConstraint("source", "external_id", "kind", name="uq_cases_natural_key"),
)
Index("ix_cases_status_opened", cases.c.status, cases.c.opened_at)
Index("ix_cases_opened_at", cases.c.opened_at)
Index("ix_cases_decided_at", cases.c.decided_at)
Index("ix_cases_order_id", cases.c.order_id)
Index("ix_cases_customer_id", cases.c.customer_id)

case_snapshots = Table(
    "case_snapshots",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("taken_at", UtcDateTime, nullable=False),
    Column("context", JSON, nullable=False),  # CaseContext, model_dump(mode="json")
    Column("assessment", JSON, nullable=False),  # Assessment: signals + recommendation
)

decisions = Table(
    "decisions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("snapshot_id", Integer, ForeignKey("case_snapshots.id"), nullable=False),
    Column("action", String(16), nullable=False),  # approve | deny | escalate | close
    Column("outcome", String(16)),  # refund | store_credit | exchange | deny | accept …
    Column("decided_by", String(64), nullable=False),
    Column("decided_at", UtcDateTime, nullable=False),
    Column("followed_recommendation", Boolean, nullable=False),
    Column("note", Text),
    Column("detail", JSON, nullable=False, default=dict),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id", ondelete="CASCADE"), index=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("event", String(64), nullable=False),  # case.opened, case.decided, case.refused …
    Column("from_status", String(16)),
    Column("to_status", String(16)),
    Column("detail", JSON, nullable=False, default=dict),
)

webhook_receipts = Table(
    "webhook_receipts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source", String(32), nullable=False),
    Column("delivery_id", String(255), nullable=False),
    Column("topic", String(64), nullable=False),
    # raw JSON as received, processed after the 200 by an inbox job; NULL once pruned
    # after RETURNSBOT_RETENTION_DAYS (customer data is kept no longer than needed)
    Column("body", Text),
    Column("status", String(16), nullable=False),  # pending | done | ignored | failed
    Column("received_at", UtcDateTime, nullable=False),
    Column("processed_at", UtcDateTime),
    Column("error", Text),
    UniqueConstraint("source", "delivery_id", name="uq_webhook_receipts_delivery"),
)
Index("ix_webhook_receipts_status", webhook_receipts.c.status, webhook_receipts.c.received_at)

poller_cursors = Table(
    "poller_cursors",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("cursor", String(255)),
    Column("updated_at", UtcDateTime, nullable=False),
)

integration_health = Table(
    "integration_health",
    metadata,
    Column("system", String(64), primary_key=True),  # "shopify.webhooks", "shopify.poller" …
    Column("last_success_at", UtcDateTime),
    Column("last_error_at", UtcDateTime),
    Column("last_error", Text),
    Column("consecutive_failures", Integer, nullable=False, default=0),
)

# --- order lookup, playbook, digests, reminders (migration 0002) --------------------------

cases.append_column(Column("reminded_at", UtcDateTime))  # SLA: the one reminder in the thread
cases.append_column(Column("sla_escalated_at", UtcDateTime))  # SLA: announced to escalation
# The return's distinct reasons (comma list), copied from the snapshot when the case opens:
# the digest counts them in SQL instead of unpacking every snapshot's JSON.
cases.append_column(Column("return_reasons", String(256), nullable=False, server_default=""))
# Thread replies find their case by the card's address.
Index("ix_cases_card", cases.c.slack_channel, cases.c.slack_ts)

# --- connectors (migration 0004) ----------------------------------------------------------
# Beside the natural key (source, external id, kind): the same return or order reported by
# two systems (Shopify and Loop) is one case. NULLs don't collide, so cases without one
# (disputes, refunds) are unaffected.
cases.append_column(Column("correlation_key", String(512)))
Index("uq_cases_correlation", cases.c.kind, cases.c.correlation_key, unique=True)
Index("ix_cases_escalation_card", cases.c.escalation_channel, cases.c.escalation_ts)

orders_seen = Table(
    "orders_seen",
    metadata,
    # Every new order we hear of (webhook or poller), case or not: the digest's exception
    # rate is cases / orders, and revenue is counted from here.
    Column("source", String(32), primary_key=True),
    Column("order_id", String(255), primary_key=True),
    Column("order_name", String(64)),
    Column("placed_at", UtcDateTime, nullable=False, index=True),
    Column("total_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
)

slack_events = Table(
    "slack_events",
    metadata,
    # Events API deliveries seen, by event_id: Slack retries a delivery it thinks failed.
    Column("event_id", String(64), primary_key=True),
    Column("received_at", UtcDateTime, nullable=False, index=True),
)

case_notes = Table(
    "case_notes",
    metadata,
    # Human replies in a card's thread.
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("channel", String(32), nullable=False),
    Column("ts", String(32), nullable=False),  # the reply's own ts
    Column("thread_ts", String(32), nullable=False),
    Column("author", String(64), nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("edited_at", UtcDateTime),
    Column("deleted_at", UtcDateTime),
    UniqueConstraint("channel", "ts", name="uq_case_notes_message"),
)

playbook_entries = Table(
    "playbook_entries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("note_id", Integer, ForeignKey("case_notes.id", ondelete="SET NULL"), unique=True),
    Column("case_id", Integer, ForeignKey("cases.id", ondelete="SET NULL"), index=True),
    Column("kind", String(32), nullable=False, index=True),  # CaseKind it applies to
    Column("signal_codes", String(512), nullable=False, default=""),  # comma list, from its case
    Column("text", Text, nullable=False),
    Column("author", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("promoted_by", String(64)),
    Column("retired_at", UtcDateTime),
    Column("retired_by", String(64)),
    Column("uses", Integer, nullable=False, default=0),  # times shown on a card or found
    Column("last_used_at", UtcDateTime),
)

playbook_proposals = Table(
    "playbook_proposals",
    metadata,
    # Claude's "When …, do …, because …" from a decided case's thread notes, posted in the
    # card's thread with Save / Ignore. One per decision (the decision row's id, unique).
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("decision_id", Integer, ForeignKey("decisions.id", ondelete="CASCADE"), nullable=False, unique=True),
    Column("text", Text, nullable=False),
    Column("last_note_id", Integer, nullable=False),  # the newest note it was made from
    Column("status", String(16), nullable=False),  # proposed | saved | ignored
    Column("channel", String(32)),  # where it was posted (the card's thread), once posted
    Column("ts", String(32)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("answered_by", String(64)),  # who saved or ignored it
    Column("answered_at", UtcDateTime),
    Column("entry_id", Integer, ForeignKey("playbook_entries.id", ondelete="SET NULL")),
)

digest_runs = Table(
    "digest_runs",
    metadata,
    # The period ledger: one row per digest period ("2026-W47"), claimed by one scheduler;
    # a second replica finds the row and does nothing. A run that died is re-claimable
    # after its lease.
    Column("period", String(16), primary_key=True),
    Column("holder", String(128), nullable=False),
    Column("status", String(16), nullable=False),  # running | posted | failed
    Column("started_at", UtcDateTime, nullable=False),
    Column("claimed_until", UtcDateTime, nullable=False),
    Column("posted_at", UtcDateTime),
    Column("channel", String(32)),
    Column("ts", String(32)),
    Column("error", Text),
)


# --- the job runner (migration 0003) -----------------------------------------------------

jobs = Table(
    "jobs",
    metadata,
    # Every piece of background work: webhook deliveries (inbox), decided side effects
    # (action: the outbox), card syncs, clicks persisted before their ack, poll runs and the
    # events they found, periodic jobs. One claim/lease/retry/dead-letter discipline for all.
    Column("id", Integer, primary_key=True),
    Column("kind", String(16), nullable=False),  # see bot.jobs.kinds.Kind
    Column("system", String(32), nullable=False),  # whose health a failure counts against
    Column("operation", String(64), nullable=False),  # approve_return, sync_card, returns …
    Column("case_id", Integer, ForeignKey("cases.id", ondelete="CASCADE"), index=True),
    # Jobs sharing an order_key run one at a time in id order (approve before refund);
    # a job whose predecessor is not finished is skipped by the claim, never waited on.
    Column("order_key", String(128)),
    Column("seq", Integer, nullable=False, default=0),  # position within its decision
    Column("payload", JSON, nullable=False),
    Column("idempotency_key", String(255), unique=True),  # dedupes enqueues; sent to vendors
    Column("status", String(16), nullable=False),  # pending | running | done | dead | skipped
    Column("attempts", Integer, nullable=False, default=0),  # since the budget last started
    Column("token", Integer, nullable=False, default=0),  # fencing: bumped on every claim
    Column("holder", String(128)),
    Column("claimed_until", UtcDateTime),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("budget_started_at", UtcDateTime),  # first failure of the current run of failures
    Column("last_error", Text),
    Column("dead_reason", Text),
    Column("result_summary", Text),
    Column("result_external_id", String(255), index=True),  # e.g. the refund we created
    Column("correlation_id", String(32)),  # follows a click into its background work
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime),
)
Index("ix_jobs_due", jobs.c.status, jobs.c.next_attempt_at)
Index("ix_jobs_order", jobs.c.order_key, jobs.c.id)
Index("ix_jobs_kind_status", jobs.c.kind, jobs.c.status)


# --- Shopify tokens from the authorization-code install (migration 0005) ----------------

shopify_tokens = Table(
    "shopify_tokens",
    metadata,
    # One row per installed shop. Tokens are Fernet ciphertext (RETURNSBOT_ENCRYPTION_KEY),
    # never plain text; `generation` is the compare-and-set version every write bumps, and
    # the refresh claim lets one replica at a time use the rotating refresh token.
    Column("shop", String(255), primary_key=True),
    Column("access_token", Text, nullable=False),
    Column("scope", Text, nullable=False, default=""),
    Column("issued_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime),  # NULL: a token that does not expire
    Column("refresh_token", Text),
    Column("refresh_expires_at", UtcDateTime),
    Column("generation", Integer, nullable=False, default=1),
    Column("refresh_holder", String(128)),
    Column("refresh_claimed_until", UtcDateTime),
    Column("updated_at", UtcDateTime, nullable=False),
)


# --- the shop's own facts (migration 0006) -------------------------------------------------

shop_facts = Table(
    "shop_facts",
    metadata,
    # What the primary store said about itself the last time it answered: a restart while
    # it is unreachable still compares money in the shop's currency and counts days in its
    # time zone. One row per store connector ("shopify", "sample").
    Column("system", String(32), primary_key=True),
    Column("currency", String(3), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("name", String(255)),
    Column("fetched_at", UtcDateTime, nullable=False),
)


# --- the return after approval: its stages (migration 0007) --------------------------------

return_stages = Table(
    "return_stages",
    metadata,
    # Every stage fact a connector reported for a case's return, deduped by (source, stage,
    # ref): a webhook delivered twice, or its poller catch-up, is one row. `current` marks the
    # rows that became the case's stage (forward moves only); `posted_at` is set once the
    # thread line for it is posted.
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
    Column("stage", String(16), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("source", String(32), nullable=False),
    Column("ref", String(255), nullable=False),
    Column("detail", JSON, nullable=False),  # the StageUpdate, model_dump(mode="json")
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("current", Boolean, nullable=False, default=False),
    Column("posted_at", UtcDateTime),
    UniqueConstraint("case_id", "source", "stage", "ref", name="uq_return_stages_fact"),
)
Index("ix_return_stages_case", return_stages.c.case_id, return_stages.c.id)
# The case's stage now (the latest current row), when it got there, and the open follow-up
# decision after an exception at receipt.
cases.append_column(Column("stage", String(16)))
cases.append_column(Column("stage_at", UtcDateTime))
cases.append_column(Column("followup", JSON))
# The digest's stage counts and the stalled-returns list read cases by (stage, stage_at).
Index("ix_cases_stage_at", cases.c.stage, cases.c.stage_at)


# --- stalled returns (migration 0008) ----------------------------------------------------

return_stall_reminders = Table(
    "return_stall_reminders",
    metadata,
    # The ledger of stalled-return steps: one row per (case, stage, step) claimed before the
    # step is carried out, so with several replicas a stalled return is reminded once,
    # alerted once and expired once. `step`: remind | alert | expire.
    Column("case_id", Integer, ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True),
    Column("stage", String(16), primary_key=True),
    Column("step", String(16), primary_key=True),
    Column("stage_at", UtcDateTime, nullable=False),  # the stage's time the step was due from
    Column("claimed_at", UtcDateTime, nullable=False),
)



# --- disputes (migration 0009) ------------------------------------------------------------
# Who a case is assigned to (a dispute's Assign), the vendor object's own status in our
# terms when it moves after the decision (a dispute won or lost), and when it is due (a
# dispute's evidence deadline: the reminders before it read cases by it).
cases.append_column(Column("assignee", String(64)))
cases.append_column(Column("external_status", String(32)))
cases.append_column(Column("due_at", UtcDateTime))
Index("ix_cases_due_at", cases.c.due_at)

# --- who holds the money (migration 0010) --------------------------------------------------
# From the context when the case opens: a payment taken directly by a processor and only
# recorded in the store (policy.payments.MoneyHolder). A refund goes back through that
# system by that payment id; NULL: the store holds the money.
cases.append_column(Column("money_system", String(32)))
cases.append_column(Column("money_payment_id", String(255)))

# --- clicks as they arrive (migration 0011) ----------------------------------------------

click_intents = Table(
    "click_intents",
    metadata,
    # A click committed before its ack: the payload only (`Click.to_payload()`), one index.
    # It is the cheapest durable write on the ack path (a `jobs` row maintains six indexes
    # and a foreign key); the clicks lane moves intents into `click` jobs in one
    # transaction each batch (bot.jobs.click_intake), and the job runs from there.
    Column("id", Integer, primary_key=True),
    Column("payload", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),  # when the click arrived
)


# --- returns platforms (migration 0012) ---------------------------------------------------
# The system that owns a return's decision when it is not the case's source: a Loop return
# whose Shopify return reached us first. Decisions are carried out there, on `owner_ref`.
cases.append_column(Column("owner", String(32)))
cases.append_column(Column("owner_ref", String(255)))
Index("ix_cases_owner", cases.c.owner, cases.c.owner_ref)


# --- tickets joined to another case (migration 0015) -----------------------------------------
# A `return` ticket about an order whose return already has an undecided case joins that
# case (bot.services.ticket_returns): the ticket's later messages find it here.
case_tickets = Table(
    "case_tickets",
    metadata,
    Column("source", String(32), primary_key=True),  # the helpdesk
    Column("ticket_id", String(255), primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
    Column("joined_at", UtcDateTime, nullable=False),
)
Index("ix_case_tickets_case_id", case_tickets.c.case_id)

# --- high-value and VIP moments, and their follow-up tasks (migration 0014) ---------------
# A moment is one rule of `[[moments]]` firing for one order: the natural key makes a
# webhook replayed, or a job retried, the same moment (its tags, alert and task queued once,
# in the transaction that records it). `detail`: what the alert card shows (who, what they
# bought, lifetime value, history), as the context said when it fired.
moments = Table(
    "moments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source", String(32), nullable=False),
    Column("order_id", String(255), nullable=False),
    Column("rule", String(40), nullable=False),
    Column("trigger", String(32), nullable=False),
    Column("order_name", String(64)),
    Column("customer_id", String(255)),
    Column("customer_name", String(255)),
    Column("amount_minor", BigInteger, nullable=False),  # the order's total: revenue touched
    Column("currency", String(3), nullable=False),
    Column("owner", String(32), nullable=False),  # the rule's owner: a channel, or a person (DM)
    Column("why", String(512), nullable=False),
    Column("detail", JSON, nullable=False),
    Column("slack_channel", String(32)),  # where the alert is (a DM's channel id for a person)
    Column("slack_ts", String(32)),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("source", "order_id", "rule", name="uq_moments_natural_key"),
)
Index("ix_moments_created_at", moments.c.created_at)

follow_tasks = Table(
    "follow_tasks",
    metadata,
    # A moment's follow-up: one per moment. `due_at` moves when snoozed; `first_due_at` is
    # what "done on time" is measured against. Reminders are claimed (set where still null,
    # cleared by a snooze) so several replicas remind once. `version`: compare-and-set.
    Column("id", Integer, primary_key=True),
    Column("moment_id", Integer, ForeignKey("moments.id", ondelete="CASCADE"), nullable=False, unique=True),
    Column("text", String(300), nullable=False),
    Column("owner", String(32)),  # a Slack user id; NULL: whoever in the channel takes it
    Column("status", String(16), nullable=False),  # open | done
    Column("version", Integer, nullable=False, default=1),
    Column("first_due_at", UtcDateTime, nullable=False),
    Column("due_at", UtcDateTime, nullable=False),
    Column("dm_after_hours", Integer, nullable=False),  # the owner's DM: this long after due
    Column("thread_reminded_at", UtcDateTime),
    Column("dm_reminded_at", UtcDateTime),
    Column("done_at", UtcDateTime),
    Column("done_by", String(32)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)
Index("ix_follow_tasks_status_due", follow_tasks.c.status, follow_tasks.c.due_at)
Index("ix_follow_tasks_owner", follow_tasks.c.owner, follow_tasks.c.status)

# --- which policy assessed a snapshot (migration 0016) ---------------------------------------
# bot.policy_fingerprint of the effective policy and policy code at ingest; NULL: unknown.
# The simulator reads the stored verdict when the running policy's fingerprint is the same.
case_snapshots.append_column(Column("policy_fingerprint", String(64)))
