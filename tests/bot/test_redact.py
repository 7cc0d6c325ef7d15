"""Privacy requests against a database of real sample-store cases (SQLite and PostgreSQL):
customers/redact takes one customer out of cases, snapshots, notes, decisions, jobs,
lookups and webhook bodies and keeps the audit trail under a pseudonym; shop/redact does
it for everyone; customers/data_request records what we hold and changes nothing; every
one of them can run twice with the same result."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from sqlalchemy import insert, select, update

from bot.container import Container
from bot.schema import (audit_log, case_notes, case_snapshots, cases, decisions, jobs, metadata, playbook_entries,
                        playbook_proposals, webhook_receipts)
from bot.services.redact import REDACTED, Redactor, Subject
from bot.settings import Settings
from integrations.sample import SampleStore
from tests.sample.helpers import NOW

LIAM = "gid://shopify/Customer/6001000009"
LIAM_EMAIL = "liam.obrien@example.com"
LIAM_ORDER = "gid://shopify/Order/5001000037"
KEY = b"client-secret-for-pseudonyms"


@pytest.fixture
def shop(database_url):
    """Every sample-store event ingested (auto-approvals carried out), plus what people and
    Shopify add around the cases: thread notes, a decision note, lookups, webhook bodies."""
    c = Container.build(Settings(_env_file=None, database_url=database_url), clock=lambda: NOW,
                        store=SampleStore.load(now=NOW, clock=lambda: NOW))
    for event in c.store.events():
        c.ingest.ingest(event)
    c.drain("actions")
    engine = c.engine
    with engine.begin() as conn:
        liam_cases = [r.id for r in conn.execute(select(cases.c.id).where(cases.c.customer_id == LIAM))]
        other = conn.execute(select(cases.c.id, cases.c.customer_name).where(cases.c.customer_id != LIAM)
                             .order_by(cases.c.id)).first()
        conn.execute(update(cases).where(cases.c.id == liam_cases[0]).values(channel="C0REVIEW01",
                                                                             escalation_note="Liam called twice"))
        for i, (case_id, text) in enumerate([
            (liam_cases[0], "Spoke to Liam O'Brien, he says the jacket ripped. liam.obrien@example.com"),
            (liam_cases[1], "Liam disputes it with his bank"),
            (other.id, "Reminds me of Liam O'Brien's case last week"),
            (other.id, "Liam from the warehouse checked the box"),  # another Liam: a first name alone stays
        ]):
            conn.execute(insert(case_notes).values(case_id=case_id, channel="C0REVIEW01", ts=f"1700000000.{i:06d}",
                                                   thread_ts="1700000000.000000", author="U0ALICE001", text=text,
                                                   created_at=NOW))
        conn.execute(insert(playbook_entries).values(case_id=other.id, kind="return_request", signal_codes="",
                                                     text="Like Liam O'Brien: check the seams", author="U0ALICE001",
                                                     created_at=NOW))
        snap = conn.execute(select(case_snapshots.c.id).where(case_snapshots.c.case_id == liam_cases[0])).scalar()
        conn.execute(insert(decisions).values(case_id=liam_cases[0], snapshot_id=snap, action="escalate",
                                              decided_by="U0ALICE001", decided_at=NOW, followed_recommendation=True,
                                              note="Ask Liam O'Brien for photos", detail={"note": LIAM_EMAIL}))
        decision_id = conn.execute(select(decisions.c.id).where(decisions.c.case_id == liam_cases[0])
                                   .order_by(decisions.c.id.desc())).scalar()
        conn.execute(insert(playbook_proposals).values(case_id=liam_cases[0], decision_id=decision_id,
                                                       text="When Liam O'Brien writes, check the seams, because x.",
                                                       last_note_id=1, status="proposed", created_at=NOW))
        conn.execute(insert(jobs).values(kind="action", system="sample", operation="issue_store_credit",
                                         case_id=liam_cases[0], payload={"customer_id": LIAM}, status="done",
                                         result_summary="store credit $20.00 issued to Liam O'Brien",
                                         next_attempt_at=NOW, created_at=NOW, updated_at=NOW))
        for query in (LIAM_EMAIL, "maya.chen@example.com"):
            conn.execute(insert(audit_log).values(case_id=None, at=NOW, actor="U0ALICE001", event="lookup.order",
                                                  detail={"query": query, "channel": "C0OPS", "allowed": True}))
        bodies = {
            ("d-orders", "orders/create", "done"): {"id": 5001000037, "admin_graphql_api_id": LIAM_ORDER,
                                                     "email": LIAM_EMAIL, "customer": {
                                                         "id": 6001000009, "first_name": "Liam", "last_name": "O'Brien",
                                                         "default_address": {"address1": "1 Harbour St",
                                                                             "city": "Cork", "zip": "T12"}}},
            ("d-return", "returns/request", "pending"): {"admin_graphql_api_id": "gid://shopify/Return/7001000099",
                                                          "order": {"id": 5001000037}, "return_line_items": [
                                                              {"customer_note": "Liam here: it ripped"}]},
            ("d-other", "orders/create", "done"): {"id": 5001000001, "email": "maya.chen@example.com",
                                                    "customer": {"id": 6001000001, "first_name": "Maya"}},
        }
        for (delivery, topic, status), body in bodies.items():
            conn.execute(insert(webhook_receipts).values(source="shopify", delivery_id=delivery, topic=topic,
                                                         body=json.dumps(body), status=status, received_at=NOW))
    yield c
    c.engine.dispose()


def redactor(c) -> Redactor:
    return Redactor(c.engine, key=KEY, clock=lambda: NOW + timedelta(days=10))


def dump(engine) -> str:
    """Every row of every table, as text (non-ASCII kept)."""
    with engine.connect() as conn:
        return json.dumps({t.name: [dict(r._mapping) for r in conn.execute(select(t))] for t in metadata.sorted_tables},
                          default=str, ensure_ascii=False, sort_keys=True)


def rows(engine, table, *where):
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(table).where(*where).order_by(table.c.id))]


def liam() -> Subject:
    return Subject(customer_ids=(LIAM,), emails=(LIAM_EMAIL,), phones=("+353 21 555 0199",), order_ids=(LIAM_ORDER,))


# --- customers/redact -------------------------------------------------------------------------------


def test_a_customer_is_taken_out_of_everything_returnsbot_holds(shop):
    before = dump(shop.engine)
    assert "O'Brien" in before and LIAM_EMAIL in before and LIAM in before
    report = redactor(shop).redact_customer(liam(), shop="acme-test.myshopify.com")
    after = dump(shop.engine)
    for trace in ("O'Brien", LIAM_EMAIL, LIAM, "6001000009", "Harbour St", "Liam here"):
        assert trace not in after, trace
    assert len(report.cases) == 2 and sorted(report.changed) == report.cases
    # Other customers are untouched, and so is another Liam mentioned by first name only.
    assert "Maya Chen" in after and "maya.chen@example.com" in after
    assert "Liam from the warehouse checked the box" in after


def test_the_audit_trail_stays_under_one_pseudonym(shop):
    r = redactor(shop)
    r.redact_customer(liam(), shop="acme-test.myshopify.com")
    mine = rows(shop.engine, cases, cases.c.customer_id == r.pseudonym(LIAM))
    assert len(mine) == 2 and {m["customer_name"] for m in mine} == {REDACTED}
    assert r.pseudonym(LIAM).startswith("redacted:") and "6001000009" not in r.pseudonym(LIAM)
    for m in mine:
        assert m["order_name"] == "#1037" and m["amount_minor"] > 0  # what happened stays
        events = [a["event"] for a in rows(shop.engine, audit_log, audit_log.c.case_id == m["id"])]
        assert events[0] == "case.opened" and events[-1] == "case.redacted"
    [request] = rows(shop.engine, audit_log, audit_log.c.event == "compliance.customers_redact")
    assert request["detail"]["customer"] == r.pseudonym(LIAM) and request["detail"]["changed"] == [m["id"] for m in mine]
    assert "O'Brien" not in json.dumps(request["detail"])


def test_snapshots_still_render_after_redaction(shop):
    redactor(shop).redact_customer(liam(), shop="acme-test.myshopify.com")
    for record in shop.cases.list():
        context, _ = shop.cases.snapshot(record)  # validates against the current models
        if record.customer_id and record.customer_id.startswith("redacted:"):
            assert context.customer.display_name == REDACTED and context.customer.email == REDACTED
            assert context.order.email == REDACTED and context.customer.id == record.customer_id
            assert context.order.line_items and context.order.line_items[0].title != REDACTED
            if context.return_request:
                assert {li.customer_note for li in context.return_request.line_items} <= {REDACTED, None}


def test_the_card_is_rerendered_and_webhook_bodies_are_dropped_or_redacted(shop):
    liam_case = rows(shop.engine, cases, cases.c.customer_id == LIAM)[0]
    redactor(shop).redact_customer(liam(), shop="acme-test.myshopify.com")
    case = rows(shop.engine, cases, cases.c.id == liam_case["id"])[0]
    assert case["version"] == liam_case["version"] + 1 and case["escalation_note"] == f"{REDACTED} called twice"
    card_jobs = rows(shop.engine, jobs, jobs.c.kind == "card", jobs.c.case_id == case["id"])
    assert [j["idempotency_key"] for j in card_jobs] == [f"card:{case['id']}:v{case['version']}"]
    receipts = {r["delivery_id"]: r for r in rows(shop.engine, webhook_receipts)}
    assert receipts["d-orders"]["body"] is None  # processed: dropped
    pending = json.loads(receipts["d-return"]["body"])  # pending: redacted, ids kept for the inbox
    assert pending["order"] == {"id": 5001000037} and pending["return_line_items"][0]["customer_note"] == REDACTED
    assert json.loads(receipts["d-other"]["body"])["customer"]["first_name"] == "Maya"


def test_notes_decisions_jobs_and_lookups_are_scrubbed_not_deleted(shop):
    redactor(shop).redact_customer(liam(), shop="acme-test.myshopify.com")
    notes = [n["text"] for n in rows(shop.engine, case_notes)]
    assert f"Spoke to {REDACTED}, he says the jacket ripped. {REDACTED}" in notes
    assert f"{REDACTED} disputes it with his bank" in notes  # a name part, within his own case
    assert f"Reminds me of {REDACTED}'s case last week" in notes
    [decision] = [d for d in rows(shop.engine, decisions) if d["note"]]
    assert decision["note"] == f"Ask {REDACTED} for photos" and decision["detail"] == {"note": REDACTED}
    [credit] = rows(shop.engine, jobs, jobs.c.operation == "issue_store_credit")
    assert credit["result_summary"] == f"store credit $20.00 issued to {REDACTED}"
    assert credit["payload"]["customer_id"].startswith("redacted:")
    lookups = [a["detail"]["query"] for a in rows(shop.engine, audit_log, audit_log.c.event == "lookup.order")]
    assert lookups == [REDACTED, "maya.chen@example.com"]
    [entry] = rows(shop.engine, playbook_entries)
    assert entry["text"] == f"Like {REDACTED}: check the seams"
    [proposal] = rows(shop.engine, playbook_proposals)
    assert proposal["text"] == f"When {REDACTED} writes, check the seams, because x."


def test_redacting_twice_changes_nothing_more(shop):
    r = redactor(shop)
    r.redact_customer(liam(), shop="acme-test.myshopify.com")
    first = _without_requests(dump(shop.engine))
    again = r.redact_customer(liam(), shop="acme-test.myshopify.com")
    assert again.changed == [] and len(again.cases) == 2  # found by their pseudonym, nothing left to change
    assert _without_requests(dump(shop.engine)) == first


def test_a_customer_known_only_by_email_is_found_in_the_snapshots(shop):
    report = redactor(shop).redact_customer(Subject(emails=(LIAM_EMAIL.upper(),)), shop="acme-test.myshopify.com")
    assert len(report.changed) == 2
    after = dump(shop.engine)
    assert "O'Brien" not in after and LIAM not in after


# --- shop/redact ------------------------------------------------------------------------------------


def test_shop_redact_takes_every_customer_out(shop):
    with shop.engine.connect() as conn:
        people = {(r.customer_name, r.customer_id) for r in conn.execute(select(cases.c.customer_name,
                                                                                  cases.c.customer_id))}
        emails = set()
        for snap in conn.execute(select(case_snapshots.c.context)):
            emails |= {snap.context["order"].get("email")} - {None}
    assert any("Sofía" in (n or "") or "Álvarez" in (n or "") for n, _ in people)  # non-ASCII names too
    report = redactor(shop).redact_shop(shop="acme-test.myshopify.com")
    after = dump(shop.engine)
    for name, customer_id in people:
        assert name is None or name not in after, name
        assert customer_id is None or customer_id not in after, customer_id
    for email in emails:
        assert email not in after, email
    assert report.changed and set(report.changed) <= set(report.cases)
    assert all(r["body"] is None for r in rows(shop.engine, webhook_receipts) if r["status"] != "pending")
    assert {a["detail"]["query"] for a in rows(shop.engine, audit_log, audit_log.c.event == "lookup.order")} == {
        REDACTED}
    # Twice: nothing more.
    first = _without_requests(after)
    assert redactor(shop).redact_shop(shop="acme-test.myshopify.com").changed == []
    assert _without_requests(dump(shop.engine)) == first


# --- customers/data_request -------------------------------------------------------------------------


def test_a_data_request_records_what_we_hold_and_changes_nothing(shop, caplog):
    before = _without_requests(dump(shop.engine))
    with caplog.at_level(logging.WARNING, logger="bot.services.redact"):
        report = redactor(shop).data_request(liam(), shop="acme-test.myshopify.com", ref="9999")
    assert _without_requests(dump(shop.engine)) == before
    assert len(report.cases) == 2 and report.order_names == ["#1037"] and report.notes == 2
    assert report.webhook_bodies == 2  # the processed orders/create and the pending return
    [row] = rows(shop.engine, audit_log, audit_log.c.event == "compliance.customers_data_request")
    assert row["detail"]["request"] == "9999" and row["detail"]["cases"] == report.cases
    assert "O'Brien" not in json.dumps(row["detail"]) and LIAM_EMAIL not in json.dumps(row["detail"])
    [line] = [r.getMessage() for r in caplog.records if "compliance.data_request" in r.getMessage()]
    assert "request=9999" in line and all(f"#{c}" in line for c in report.cases) and "30 days" in line
    assert LIAM_EMAIL not in line and "O'Brien" not in line


def _without_requests(text: str) -> str:
    """The dump minus the request-level audit rows (each request is recorded)."""
    data = json.loads(text)
    data["audit_log"] = [a for a in data["audit_log"] if not str(a["event"]).startswith("compliance.")]
    return json.dumps(data, sort_keys=True, ensure_ascii=False)

