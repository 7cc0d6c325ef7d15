"""Privacy requests: what we hold about a customer, and redacting it.

A customer's personal data lives in several places: the case row (`customer_name`, the
customer id), every snapshot of its context (names, emails, tracking numbers, addresses,
the customer's own notes on the return), the decision notes and audit details people
wrote, the thread replies kept as case notes and the playbook entries (and Claude's
proposals) made from them, the jobs' payloads and results ("store credit issued to Ada
Lovelace"), `/order` lookups in the audit log ("ada@example.com"), and the raw webhook
bodies.

Redacting keeps the audit trail and takes the person out of it:

* the customer id becomes a pseudonym, `redacted:<keyed hash>` (HMAC-SHA256 under a key
  from settings, so it cannot be reversed by hashing every id), the same for every case
  of that customer, so "the same redacted customer" stays visible;
* values under personal keys (`display_name`, `email`, `phone`, `customer_note`,
  `reason_note`, `note`, `tracking_number`, addresses …) become `[redacted]`;
* every other text — case notes, decision notes, audit details, job results — has the
  customer's name (whole and, within their own cases, each part), emails and phones
  replaced by `[redacted]`;
* raw webhook bodies that mention the customer are dropped once processed (a pending one
  is redacted in place so its ids can still be processed);
* amounts, dates, order names, signals, decisions and who decided stay.

A changed case gets a new version, a `case.redacted` audit row and a card job, so its
Slack card is re-rendered without the person. Every request is an audit row of its own
(no case, pseudonymous ids, counts). Running a redaction again changes nothing.

Not reachable from here: messages people posted in Slack threads (Slack keeps them), and
what Shopify and Slack themselves hold. The request's log line says which cases' threads
to look at.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterable

from sqlalchemy import Engine, Text, and_, cast, false, insert, or_, select, true, update

from bot.schema import (audit_log, case_notes, case_snapshots, cases, decisions, jobs, playbook_entries,
                        playbook_proposals, webhook_receipts)

log = logging.getLogger(__name__)

REDACTED = "[redacted]"
PSEUDONYM_PREFIX = "redacted:"
ACTOR = "shopify:compliance"

# Keys whose values are personal wherever they appear (our snapshots and Shopify's REST
# webhook bodies). Under one of these, every string is redacted, numbers nulled.
PERSONAL_KEYS = frozenset({
    "display_name", "first_name", "last_name", "email", "contact_email", "phone", "customer_note",
    "reason_note", "note", "note_attributes", "tracking_number", "tracking_numbers", "tracking_url",
    "tracking_urls", "address", "address1", "address2", "city", "zip", "province", "company",
    "shipping_address", "billing_address", "default_address", "addresses", "latitude", "longitude",
    "browser_ip", "client_details", "customer_locale", "landing_site", "referring_site",
    # A ticket's requester and message authors (CaseContext.tickets).
    "requester_email", "requester_name", "author_email", "author_name",
})
_MIN_NAME_PART = 3  # shorter name parts ("Al", "Li") would eat ordinary words
_LIKE_BATCH = 20  # terms per LIKE prefilter query


@dataclass(frozen=True)
class Subject:
    """Whose data: customer ids, emails, phones and order ids as returnsbot stores them."""

    customer_ids: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    order_ids: tuple[str, ...] = ()


@dataclass
class Report:
    """What a request found or changed, for the audit row and the log line."""

    cases: list[int] = field(default_factory=list)  # every case the request concerns
    changed: list[int] = field(default_factory=list)  # cases redacted by this run
    order_names: list[str] = field(default_factory=list)
    notes: int = 0
    webhook_bodies: int = 0
    other_rows: int = 0  # lookups, playbook entries, jobs outside the cases

    def detail(self) -> dict[str, Any]:
        return {"cases": self.cases, "changed": self.changed, "orders": self.order_names, "notes": self.notes,
                "webhook_bodies": self.webhook_bodies, "other_rows": self.other_rows}


class Redactor:
    def __init__(self, engine: Engine, *, key: bytes, clock: Callable[[], datetime]) -> None:
        if not key:
            raise ValueError("a pseudonym key is required")
        self.engine = engine
        self._key = hmac.new(key, b"returnsbot customer pseudonym v1", hashlib.sha256).digest()
        self.clock = clock

    # --- pseudonyms -------------------------------------------------------------------------

    def pseudonym(self, identifier: str) -> str:
        """A stable, keyed, one-way stand-in for a customer id (or `email:<address>`)."""
        if identifier.startswith(PSEUDONYM_PREFIX):
            return identifier
        return PSEUDONYM_PREFIX + hmac.new(self._key, identifier.encode("utf-8"), hashlib.sha256).hexdigest()[:24]

    def subject_pseudonym(self, subject: Subject) -> str:
        if subject.customer_ids:
            return self.pseudonym(subject.customer_ids[0])
        if subject.emails:
            return self.pseudonym("email:" + subject.emails[0].casefold())
        if subject.phones:
            return self.pseudonym("phone:" + subject.phones[0])
        return self.pseudonym("orders:" + ",".join(sorted(subject.order_ids)))

    # --- requests ---------------------------------------------------------------------------

    def data_request(self, subject: Subject, *, shop: str, ref: str | None = None) -> Report:
        """Record a request for a customer's data and say what we hold: an audit row and a
        log line naming the cases, for an operator to send the merchant (Shopify's rule:
        within 30 days). Nothing is changed."""
        report = Report()
        with self.engine.connect() as conn:
            found = self._cases_of(conn, subject)
            report.cases = sorted(found)
            report.order_names = sorted({r.order_name for r in found.values() if r.order_name})
            if found:
                report.notes = len(conn.execute(select(case_notes.c.id).where(
                    case_notes.c.case_id.in_(found), case_notes.c.deleted_at.is_(None))).all())
            report.webhook_bodies = len(self._receipts_of(conn, subject))
        who = self.subject_pseudonym(subject)
        self._record("compliance.customers_data_request", who, shop, ref, report)
        log.warning("compliance.data_request shop=%s customer=%s request=%s cases=%s orders=%s notes=%s "
                    "webhook_bodies=%s: send the merchant what returnsbot holds on this customer (these cases' "
                    "cards, notes and threads) within 30 days", shop, who, ref or "-",
                    ",".join(f"#{c}" for c in report.cases) or "none", ",".join(report.order_names) or "none",
                    report.notes, report.webhook_bodies)
        return report

    def redact_customer(self, subject: Subject, *, shop: str, ref: str | None = None) -> Report:
        report = Report()
        with self.engine.connect() as conn:
            found = self._cases_of(conn, subject)
        ids = {cid: self.pseudonym(cid) for cid in subject.customer_ids}
        everywhere: set[str] = {*subject.emails, *subject.phones}  # scrubbed outside their cases too
        for case_id in sorted(found):
            changed, terms = self._redact_case(case_id, subject, ids, report)
            everywhere |= {t for t in terms if " " in t or "@" in t}  # whole names and emails, not parts
            if changed:
                report.changed.append(case_id)
        report.cases = sorted(found)
        report.order_names = sorted({r.order_name for r in found.values() if r.order_name})
        scrub = Scrubber(everywhere, ids)
        with self.engine.begin() as conn:
            receipts = self._receipts_of(conn, subject)
            report.webhook_bodies = self._redact_receipts(conn, receipts, scrub)
            report.other_rows = self._scrub_outside_cases(conn, scrub, set(found))
        who = self.subject_pseudonym(subject)
        self._record("compliance.customers_redact", who, shop, ref, report)
        log.info("compliance.customers_redact shop=%s customer=%s cases=%s changed=%s webhook_bodies=%s other=%s",
                 shop, who, len(report.cases), len(report.changed), report.webhook_bodies, report.other_rows)
        return report

    def redact_shop(self, *, shop: str, ref: str | None = None) -> Report:
        """Everyone's personal data (Shopify sends shop/redact 48 hours after an uninstall)."""
        report = Report()
        with self.engine.connect() as conn:
            all_cases = [r.id for r in conn.execute(select(cases.c.id).order_by(cases.c.id))]
        everywhere: set[str] = set()
        ids: dict[str, str] = {}
        for case_id in all_cases:
            changed, terms = self._redact_case(case_id, Subject(), ids, report, any_customer=True)
            everywhere |= {t for t in terms if " " in t or "@" in t}
            if changed:
                report.changed.append(case_id)
        report.cases = all_cases
        scrub = Scrubber(everywhere, ids)
        with self.engine.begin() as conn:
            rows = conn.execute(select(webhook_receipts.c.id, webhook_receipts.c.status, webhook_receipts.c.body)
                                .where(webhook_receipts.c.body.is_not(None))).all()
            report.webhook_bodies = self._redact_receipts(conn, rows, scrub)
            # Every note and playbook entry again, with everyone's names: a case processed
            # early may quote a customer of a case processed later.
            report.other_rows = self._scrub_outside_cases(conn, scrub, set(), lookups_entirely=True)
        self._record("compliance.shop_redact", None, shop, ref, report)
        log.info("compliance.shop_redact shop=%s cases=%s changed=%s webhook_bodies=%s other=%s", shop,
                 len(report.cases), len(report.changed), report.webhook_bodies, report.other_rows)
        return report

    # --- finding ----------------------------------------------------------------------------

    def _cases_of(self, conn, subject: Subject) -> dict[int, Any]:
        """The subject's cases: by customer id (or its pseudonym, when already redacted), by
        order, and by email in the snapshot (a guest checkout has no customer id)."""
        c = cases.c
        ids = {*subject.customer_ids, *(self.pseudonym(i) for i in subject.customer_ids)}
        conditions = []
        if ids:
            conditions.append(c.customer_id.in_(ids))
        if subject.order_ids:
            conditions.append(c.order_id.in_(subject.order_ids))
        found: dict[int, Any] = {}
        if conditions:
            for row in conn.execute(select(c.id, c.order_name).where(or_(*conditions))):
                found[row.id] = row
        emails = {e.casefold() for e in subject.emails}
        if emails:
            for batch in _batches(sorted(emails)):
                query = (select(case_snapshots.c.case_id, case_snapshots.c.context, c.order_name)
                         .join(cases, cases.c.id == case_snapshots.c.case_id)
                         .where(_mentions_any(cast(case_snapshots.c.context, Text), batch)))
                for row in conn.execute(query):
                    if row.case_id not in found and emails & _emails_in(row.context):
                        found[row.case_id] = _Row(row.case_id, row.order_name)
        return found

    def _receipts_of(self, conn, subject: Subject) -> list[Any]:
        """Webhook bodies still held that mention the subject (a LIKE prefilter, then the
        JSON itself decides)."""
        numbers = {i.rsplit("/", 1)[-1] for i in subject.customer_ids} | {o.rsplit("/", 1)[-1]
                                                                           for o in subject.order_ids}
        terms = sorted(numbers | {e.casefold() for e in subject.emails})
        if not terms:
            return []
        body = webhook_receipts.c.body
        seen: dict[int, Any] = {}
        for batch in _batches(terms):
            rows = conn.execute(select(webhook_receipts.c.id, webhook_receipts.c.status, body).where(
                body.is_not(None), _mentions_any(body, batch))).all()
            for row in rows:
                if row.id not in seen and _mentions(row.body, subject):
                    seen[row.id] = row
        return list(seen.values())

    # --- changing ---------------------------------------------------------------------------

    def _redact_case(self, case_id: int, subject: Subject, ids: dict[str, str], report: Report, *,
                     any_customer: bool = False) -> tuple[bool, set[str]]:
        """One case, in one transaction. Returns whether anything changed, and the
        personal strings found (for scrubbing elsewhere)."""
        from bot.store.cases import _queue_card  # the one place a card job for a version is made

        now = self.clock()
        with self.engine.begin() as conn:
            row = conn.execute(select(cases).where(cases.c.id == case_id)).first()
            if row is None:
                return False, set()
            snaps = conn.execute(select(case_snapshots).where(case_snapshots.c.case_id == case_id)).all()
            terms = {*subject.emails, *subject.phones}
            if row.customer_name and row.customer_name != REDACTED:
                terms.add(row.customer_name)
            for snap in snaps:
                terms |= _personal_strings(snap.context)
            case_ids = dict(ids)
            for customer in {row.customer_id, *(_customer_ids_in(s.context) for s in snaps)} - {None}:
                if not customer.startswith(PSEUDONYM_PREFIX) and (any_customer or customer in ids
                                                                   or not subject.customer_ids):
                    case_ids[customer] = self.pseudonym(customer)
            if any_customer:
                ids.update(case_ids)
            scrub = Scrubber(terms, case_ids, name_parts=True)
            changed = False

            values: dict[str, Any] = {}
            if row.customer_id and row.customer_id in case_ids:
                values["customer_id"] = case_ids[row.customer_id]
            if row.customer_name and row.customer_name != REDACTED:
                values["customer_name"] = REDACTED
            for column in ("escalation_note", "card_error"):
                new = scrub.text(row._mapping[column])
                if new != row._mapping[column]:
                    values[column] = new
            for snap in snaps:
                context, assessment = scrub.personal(snap.context), scrub.json(snap.assessment)
                if context != snap.context or assessment != snap.assessment:
                    conn.execute(update(case_snapshots).where(case_snapshots.c.id == snap.id)
                                 .values(context=context, assessment=assessment))
                    changed = True
            changed |= _rewrite(conn, decisions, decisions.c.case_id == case_id, scrub, text=("note",), js=("detail",))
            changed |= _rewrite(conn, audit_log, audit_log.c.case_id == case_id, scrub, js=("detail",))
            notes = _rewrite_count(conn, case_notes, case_notes.c.case_id == case_id, scrub, text=("text",))
            report.notes += notes.total
            changed |= notes.changed > 0
            changed |= _rewrite(conn, playbook_entries, playbook_entries.c.case_id == case_id, scrub, text=("text",))
            changed |= _rewrite(conn, playbook_proposals, playbook_proposals.c.case_id == case_id, scrub,
                                text=("text",))
            changed |= _rewrite(conn, jobs, jobs.c.case_id == case_id, scrub, js=("payload",),
                                text=("result_summary", "last_error", "dead_reason"))
            if values or changed:
                conn.execute(update(cases).where(cases.c.id == case_id)
                             .values(**values, version=cases.c.version + 1, updated_at=now))
                pseudonym = values.get("customer_id") or row.customer_id
                conn.execute(insert(audit_log).values(
                    case_id=case_id, at=now, actor=ACTOR, event="case.redacted", from_status=row.status,
                    to_status=row.status, detail={"customer": pseudonym}))
                _queue_card(conn, conn.execute(select(cases).where(cases.c.id == case_id)).one(), now=now)
                return True, terms
        return False, terms

    def _redact_receipts(self, conn, rows: Iterable[Any], scrub: Scrubber) -> int:
        """Processed bodies are dropped (pruning would drop them anyway); a pending one is
        redacted in place, so the inbox can still read its ids."""
        n = 0
        for row in rows:
            if row.status != "pending":
                conn.execute(update(webhook_receipts).where(webhook_receipts.c.id == row.id).values(body=None))
                n += 1
                continue
            try:
                body = json.loads(row.body)
            except ValueError:
                new = None
            else:
                new = json.dumps(scrub.personal(body), separators=(",", ":"))
            if new != row.body:
                conn.execute(update(webhook_receipts).where(webhook_receipts.c.id == row.id).values(body=new))
                n += 1
        return n

    def _scrub_outside_cases(self, conn, scrub: Scrubber, case_ids: set[int], *,
                             lookups_entirely: bool = False) -> int:
        """Rows that may quote the person although they belong to no case of theirs:
        `/order` lookups, other cases' notes and playbook entries, jobs without a case."""
        n = 0
        if lookups_entirely:  # the whole shop: a lookup's query is someone's name or email
            for row in conn.execute(select(audit_log.c.id, audit_log.c.detail).where(
                    audit_log.c.case_id.is_(None), audit_log.c.event.like("lookup.%"))).all():
                detail = dict(row.detail or {})
                if detail.get("query") not in (None, REDACTED):
                    detail["query"] = REDACTED
                    conn.execute(update(audit_log).where(audit_log.c.id == row.id).values(detail=detail))
                    n += 1
        if not scrub.active:
            return n
        others = case_notes.c.case_id.not_in(case_ids) if case_ids else true()
        entries = (or_(playbook_entries.c.case_id.is_(None), playbook_entries.c.case_id.not_in(case_ids))
                   if case_ids else true())
        for batch in _batches(scrub.terms):
            n += _rewrite_count(conn, audit_log, and_(audit_log.c.case_id.is_(None),
                                                      _mentions_any(cast(audit_log.c.detail, Text), batch)),
                                scrub, js=("detail",)).changed
            n += _rewrite_count(conn, case_notes, and_(others, _mentions_any(case_notes.c.text, batch)), scrub,
                                text=("text",)).changed
            n += _rewrite_count(conn, playbook_entries, and_(entries, _mentions_any(playbook_entries.c.text, batch)),
                                scrub, text=("text",)).changed
            n += _rewrite_count(conn, jobs, and_(jobs.c.case_id.is_(None), or_(
                _mentions_any(cast(jobs.c.payload, Text), batch), _mentions_any(jobs.c.result_summary, batch),
                _mentions_any(jobs.c.last_error, batch), _mentions_any(jobs.c.dead_reason, batch))), scrub,
                js=("payload",), text=("result_summary", "last_error", "dead_reason")).changed
        return n

    def _record(self, event: str, who: str | None, shop: str, ref: str | None, report: Report) -> None:
        detail = {"shop": shop, **report.detail()}
        if who is not None:
            detail["customer"] = who
        if ref is not None:
            detail["request"] = ref
        with self.engine.begin() as conn:
            conn.execute(insert(audit_log).values(case_id=None, at=self.clock(), actor=ACTOR, event=event,
                                                  detail=detail))


# --- scrubbing ------------------------------------------------------------------------------


class Scrubber:
    """Replaces a person's strings (names, emails, phones) and ids in text and JSON."""

    def __init__(self, terms: Iterable[str], ids: dict[str, str] | None = None, *, name_parts: bool = False) -> None:
        self.ids = dict(ids or {})
        words: set[str] = set()
        phrases: set[str] = set()
        for term in terms:
            term = term.strip()
            if not term or term == REDACTED:
                continue
            phrases.add(term)
            if name_parts and "@" not in term and not any(ch.isdigit() for ch in term):
                words |= {p for p in re.split(r"[\s,]+", term) if len(p) >= _MIN_NAME_PART}
        patterns = [re.escape(p) for p in sorted(phrases, key=len, reverse=True)]
        patterns += [rf"(?<!\w){re.escape(w)}(?!\w)" for w in sorted(words, key=len, reverse=True)]
        patterns += [re.escape(i) for i in sorted(self.ids, key=len, reverse=True)]
        self._re = re.compile("|".join(patterns), re.IGNORECASE) if patterns else None
        self.terms = sorted(phrases | words | set(self.ids))  # what a LIKE prefilter looks for

    @property
    def active(self) -> bool:
        return self._re is not None

    def text(self, value: Any) -> Any:
        if not isinstance(value, str) or self._re is None:
            return value
        return self._re.sub(lambda m: self.ids.get(m.group(0), REDACTED), value)

    def json(self, value: Any) -> Any:
        """Every string scrubbed; structure kept."""
        if isinstance(value, dict):
            return {k: self.json(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.json(v) for v in value]
        if isinstance(value, str):
            return self.ids.get(value) or self.text(value)
        return value

    def personal(self, value: Any, *, inside: bool = False) -> Any:
        """As `json`, and values under personal keys redacted whatever they say."""
        if isinstance(value, dict):
            return {k: self.personal(v, inside=inside or k in PERSONAL_KEYS) for k, v in value.items()}
        if isinstance(value, list):
            return [self.personal(v, inside=inside) for v in value]
        if inside:
            if isinstance(value, str):
                return REDACTED
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return None
            return value
        return self.json(value)


@dataclass(frozen=True)
class _Row:
    id: int
    order_name: str | None


@dataclass(frozen=True)
class _Counted:
    total: int
    changed: int


def _rewrite(conn, table, where, scrub: Scrubber, *, text: tuple[str, ...] = (), js: tuple[str, ...] = ()) -> bool:
    return _rewrite_count(conn, table, where, scrub, text=text, js=js).changed > 0


def _rewrite_count(conn, table, where, scrub: Scrubber, *, text: tuple[str, ...] = (),
                   js: tuple[str, ...] = ()) -> _Counted:
    rows = conn.execute(select(table.c.id, *(table.c[c] for c in (*text, *js))).where(where)).all()
    changed = 0
    for row in rows:
        values = {}
        for column in text:
            new = scrub.text(row._mapping[column])
            if new != row._mapping[column]:
                values[column] = new
        for column in js:
            old = row._mapping[column]
            new = scrub.json(old)
            if new != old:
                values[column] = new
        if values:
            conn.execute(update(table).where(table.c.id == row.id).values(**values))
            changed += 1
    return _Counted(len(rows), changed)


def _personal_strings(context: Any) -> set[str]:
    """Names and emails a snapshot holds (customer, order email)."""
    found: set[str] = set()
    if not isinstance(context, dict):
        return found
    customer = context.get("customer")
    if isinstance(customer, dict):
        for key in ("display_name", "email", "phone"):
            if isinstance(customer.get(key), str) and customer[key] != REDACTED:
                found.add(customer[key])
    order = context.get("order")
    if isinstance(order, dict) and isinstance(order.get("email"), str) and order["email"] != REDACTED:
        found.add(order["email"])
    return found


def _customer_ids_in(context: Any) -> str | None:
    if isinstance(context, dict):
        customer = context.get("customer")
        if isinstance(customer, dict) and isinstance(customer.get("id"), str):
            return customer["id"]
        order = context.get("order")
        if isinstance(order, dict) and isinstance(order.get("customer_id"), str):
            return order["customer_id"]
    return None


def _emails_in(context: Any) -> set[str]:
    if not isinstance(context, dict):
        return set()
    out = set()
    for part in ("customer", "order"):
        obj = context.get(part)
        if isinstance(obj, dict) and isinstance(obj.get("email"), str):
            out.add(obj["email"].casefold())
    # A ticket case about no order knows its customer only as the ticket's requester.
    for ticket in context.get("tickets") or ():
        if isinstance(ticket, dict) and isinstance(ticket.get("requester_email"), str):
            out.add(ticket["requester_email"].casefold())
    return out


def _mentions(body: str, subject: Subject) -> bool:
    """Whether a webhook body is about the subject: a gid of theirs anywhere, their email
    under an email key, their order or customer under `order_id` / `customer_id`, or a
    `customer` / `order` object with their id."""
    try:
        data = json.loads(body)
    except ValueError:
        return False
    gids = {*subject.customer_ids, *subject.order_ids}
    customers = {i.rsplit("/", 1)[-1] for i in subject.customer_ids}
    orders = {o.rsplit("/", 1)[-1] for o in subject.order_ids}
    emails = {e.casefold() for e in subject.emails}

    def walk(value: Any, key: str | None) -> bool:
        if isinstance(value, dict):
            if key == "customer" and str(value.get("id")) in customers:
                return True
            if key == "order" and str(value.get("id")) in orders:
                return True
            return any(walk(v, k) for k, v in value.items())
        if isinstance(value, list):
            return any(walk(v, key) for v in value)
        text = str(value) if value is not None else ""
        if text in gids:
            return True
        if key in ("email", "contact_email") and text.casefold() in emails:
            return True
        return (key == "customer_id" and text in customers) or (key == "order_id" and text in orders)

    return walk(data, None)


def _like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _mentions_any(column, terms: Iterable[str]):
    """A LIKE prefilter (case-insensitive) for any of the terms, also in the escaped form
    JSON stores non-ASCII text in ("Sof\\u00eda"); the rows it finds are then checked."""
    variants: set[str] = set()
    for term in terms:
        variants.add(term)
        escaped = json.dumps(term)[1:-1]
        variants.add(escaped)
    if not variants:
        return false()
    return or_(*(column.ilike(f"%{_like(v)}%", escape="\\") for v in sorted(variants)))


def _batches(items: list[str], size: int = _LIKE_BATCH) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]
