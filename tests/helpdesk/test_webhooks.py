"""The helpdesk webhook doors, through the running app: Gorgias's token in the path (wrong
→ 404, nothing stored, nothing fetched) and Zendesk's signature over timestamp + body
(Zendesk's vector; forged or stale → 401, nothing stored). After the 200 the ticket is read
from the API, never taken from the body; a redelivery is one receipt."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from bot.clock import utcnow
from integrations.zendesk import webhooks as zw
from policy.models import EventKind, Ticket
from tests.fakes.gorgias import FakeGorgias
from tests.fakes.zendesk import FakeZendesk
from tests.helpdesk.helpers import GORGIAS_TOKEN, gorgias_conn, zendesk_conn
from tests.loop.harness import loop, wait_for

# A copy of reference/zendesk/zendesk_webhook_signature_test_vector.json (Zendesk's fixed test secret).
VECTOR = json.loads((Path(__file__).parent / "data" / "zendesk_webhook_signature_test_vector.json").read_text())


class Headers(dict):
    def get(self, name, default=None):
        return next((v for k, v in self.items() if k.lower() == name.lower()), default)


def _stored(lp) -> int:
    return sum(lp.c.receipts.counts().values())


def _settled(lp) -> dict:
    return wait_for(lambda: (c := lp.c.receipts.counts()) and not c.get("pending") and c, what="processing")


def _noted(lp) -> None:
    """The ticket case's order-context note (bot/services/ticket_note.py) is on the ticket."""
    from bot.jobs.kinds import Kind
    from bot.store.jobs import JobStatus

    def done():
        jobs = [j for case in lp.c.cases.list() for j in lp.c.jobs.for_case(case.id, kind=Kind.TICKET_NOTE)]
        return jobs and all(j.status == JobStatus.DONE.value for j in jobs)

    wait_for(done, what="the context note")


# --- Zendesk: the signature itself ------------------------------------------------------------


def test_zendesks_vector_verifies():
    at = datetime.fromisoformat(VECTOR["header_timestamp"].replace("Z", "+00:00"))
    body = VECTOR["raw_body"].encode()
    headers = Headers({zw.SIGNATURE_HEADER: VECTOR["expected_X-Zendesk-Webhook-Signature"],
                       zw.TIMESTAMP_HEADER: VECTOR["header_timestamp"]})
    assert zw.sign(VECTOR["secret"], VECTOR["header_timestamp"], body) == VECTOR["expected_X-Zendesk-Webhook-Signature"]
    assert zw.verify(VECTOR["secret"], body, headers, now=at)
    assert zw.verify(VECTOR["secret"], body, headers, now=at + timedelta(minutes=5))
    assert not zw.verify(VECTOR["secret"], body, headers, now=at + timedelta(minutes=5, seconds=1))
    assert not zw.verify(VECTOR["secret"], body, headers, now=at - timedelta(minutes=6))
    assert not zw.verify(VECTOR["secret"], body + b" ", headers, now=at)
    assert not zw.verify("another secret", body, headers, now=at)
    assert not zw.verify(None, body, headers, now=at)


# --- Zendesk, through the app ---------------------------------------------------------------------


@pytest.fixture
def zendesk_app(database_url):
    fake = FakeZendesk()
    clock = {"now": utcnow()}
    with fake.serve() as base:
        conn = zendesk_conn(fake, base, clock=lambda: clock["now"])
        with loop(database_url, connectors=(conn,)) as lp:
            yield lp, fake, clock, conn


def _post_zendesk(lp, body: bytes, headers: dict):
    return httpx.post(f"{lp.server.url}/webhooks/zendesk", content=body, headers=headers, timeout=5)


def test_the_vector_is_accepted_through_the_app_at_its_time(zendesk_app):
    lp, fake, clock, _ = zendesk_app
    clock["now"] = datetime.fromisoformat(VECTOR["header_timestamp"].replace("Z", "+00:00")) + timedelta(seconds=30)
    headers = {zw.SIGNATURE_HEADER: VECTOR["expected_X-Zendesk-Webhook-Signature"],
               zw.TIMESTAMP_HEADER: VECTOR["header_timestamp"], "Content-Type": "application/json"}
    response = _post_zendesk(lp, VECTOR["raw_body"].encode(), headers)
    assert response.status_code == 200 and _stored(lp) == 1
    _settled(lp)
    # Ticket 35436 is not in this account: it was asked for (never taken from the body).
    assert [c.path for c in fake.calls_to("GET")][:1] == ["/api/v2/tickets/35436"]


def test_forged_stale_or_unsigned_zendesk_deliveries_are_401_and_nothing_is_stored(zendesk_app):
    lp, fake, clock, _ = zendesk_app
    tid = fake.add_ticket("Hi", email="ada@example.com")
    body = fake.event(tid)
    now = clock["now"]
    forged = fake.sign(body, now, secret="not-the-secret")
    tampered = fake.sign(body, now)
    cases = [("another secret", body, forged),
             ("tampered body", body.replace(b"comment_added", b"created"), tampered),
             ("stale", body, fake.sign(body, now - timedelta(minutes=6))),
             ("from the future", body, fake.sign(body, now + timedelta(minutes=6))),
             ("no signature", body, {"Content-Type": "application/json"}),
             ("unparseable timestamp", body, {**fake.sign(body, now), zw.TIMESTAMP_HEADER: "yesterday"})]
    for what, b, headers in cases:
        assert _post_zendesk(lp, b, headers).status_code == 401, what
    assert _stored(lp) == 0 and fake.calls == []


def test_a_signed_event_reads_the_ticket_and_a_redelivery_is_one_receipt(zendesk_app):
    lp, fake, clock, conn = zendesk_app
    tid = fake.add_ticket("Return", email="ada@example.com", text="I want to return my sweater from #1001")
    body = fake.event(tid)
    headers = fake.sign(body, clock["now"])
    assert _post_zendesk(lp, body, headers).json() == {"ok": True, "duplicate": False}
    assert _post_zendesk(lp, body, headers).json() == {"ok": True, "duplicate": True}
    assert _stored(lp) == 1
    _settled(lp)
    _noted(lp)
    assert f"/api/v2/tickets/{tid}" in [c.path for c in fake.calls_to("GET")]
    # What the decoder makes of it (the same route, the same payload): the ticket's last
    # change is now our context note, so nothing new; the customer's next comment is.
    assert conn.webhooks[0].decode("zen:event-type:ticket.comment_added", json.loads(body)) is None
    fake.customer_comment(tid, "Any news?")
    event = conn.webhooks[0].decode("zen:event-type:ticket.comment_added", json.loads(body))
    assert event.kind is EventKind.TICKET_RECEIVED and event.source == "zendesk" and event.resource_id == str(tid)
    ticket = Ticket.model_validate_json(event.detail["ticket"])
    assert [m.text for m in ticket.messages if m.author.value == "customer"] == [
        "I want to return my sweater from #1001", "Any news?"]


def test_our_own_update_coming_back_is_ignored(zendesk_app):
    lp, fake, clock, conn = zendesk_app
    tid = fake.add_ticket("Return", email="ada@example.com")
    before = len(fake.calls)
    assert conn.webhooks[0].decode("zen:event-type:ticket.comment_added",
                                   json.loads(fake.event(tid, actor=fake.me))) is None
    assert [c.path for c in fake.calls[before:]] == ["/api/v2/users/me"]  # who we are, not the ticket


def test_a_malformed_zendesk_body_is_400(zendesk_app):
    lp, fake, clock, _ = zendesk_app
    body = json.dumps({"type": "zen:event-type:ticket.created", "id": "01X", "detail": {"id": "not-a-number"}}).encode()
    assert _post_zendesk(lp, body, fake.sign(body, clock["now"])).status_code == 400
    assert _stored(lp) == 0


# --- Gorgias, through the app ---------------------------------------------------------------------


@pytest.fixture
def gorgias_app(database_url):
    fake = FakeGorgias()
    with fake.serve() as base:
        conn = gorgias_conn(fake, base, clock=utcnow)
        with loop(database_url, connectors=(conn,)) as lp:
            yield lp, fake, conn


def _post_gorgias(lp, body: bytes, token: str = GORGIAS_TOKEN):
    return httpx.post(f"{lp.server.url}/webhooks/gorgias/{token}", content=body,
                      headers={"Content-Type": "application/json"}, timeout=5)


def test_a_wrong_or_missing_gorgias_token_is_404_and_nothing_is_stored(gorgias_app):
    lp, fake, _ = gorgias_app
    tid = fake.add_ticket("Hi", email="ada@example.com")
    body = fake.delivery(tid)
    for token in ("wrong-token-wrong-token-123", GORGIAS_TOKEN[:-1], GORGIAS_TOKEN + "x", "", f"{GORGIAS_TOKEN}/x"):
        assert _post_gorgias(lp, body, token).status_code == 404, token
    assert httpx.post(f"{lp.server.url}/webhooks/gorgias", content=body, timeout=5).status_code == 404
    assert _stored(lp) == 0 and fake.calls == []


def test_a_gorgias_delivery_reads_the_ticket_and_a_redelivery_is_one_receipt(gorgias_app):
    lp, fake, conn = gorgias_app
    tid = fake.add_ticket("Return", email="ada@example.com", text="I want to return my sweater from #1001")
    body = fake.delivery(tid)
    assert _post_gorgias(lp, body).json() == {"ok": True, "duplicate": False}
    assert _post_gorgias(lp, body).json() == {"ok": True, "duplicate": True}
    _settled(lp)
    _noted(lp)
    # The ticket, read once by the intake (then its case's context asks for the requester's
    # other tickets), and once by the context note's check before it writes.
    reads = [c.path for c in fake.calls_to("GET")]
    assert reads[0] == f"/api/tickets/{tid}" and reads.count(f"/api/tickets/{tid}") == 2, reads
    assert lp.c.cases.count() == 1
    # A new message changes updated_datetime: a new delivery, the same kind of event.
    fake.advance(30)
    fake.customer_message(tid, "Any news?")
    assert _post_gorgias(lp, fake.delivery(tid)).json()["duplicate"] is False
    event = conn.webhooks[0].decode("ticket", json.loads(fake.delivery(tid)))
    assert event.kind is EventKind.TICKET_RECEIVED and event.resource_id == str(tid)
    assert [m.text for m in Ticket.model_validate_json(event.detail["ticket"]).messages][-1] == "Any news?"


def test_a_body_without_a_ticket_id_is_400(gorgias_app):
    lp, fake, _ = gorgias_app
    for body in (b'{"ticket_id": "{{ticket.id}}"}', b'{"ticket": 1}', b'[1]', b'not json'):
        assert _post_gorgias(lp, body).status_code == 400, body
    assert _stored(lp) == 0


def test_our_own_note_coming_back_is_ignored(gorgias_app):
    lp, fake, conn = gorgias_app
    tid = fake.add_ticket("Return", email="ada@example.com")
    conn.helpdesk.add_internal_note(str(tid), text="Order context: #1001", idempotency_key="note:1")
    assert conn.webhooks[0].decode("ticket", json.loads(fake.delivery(tid))) is None


def test_the_readme_gives_the_body_templates_the_code_reads():
    from integrations.gorgias import webhooks as gw

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert gw.BODY_TEMPLATE in readme and zw.BODY_TEMPLATE in readme
    assert json.loads(gw.BODY_TEMPLATE)["ticket_id"] == "{{ticket.id}}"
    assert json.loads(zw.BODY_TEMPLATE)["ticket_id"] == "{{ticket.id}}"


def test_the_poller_runs_in_the_app_and_stores_its_cursor(database_url):
    fake = FakeGorgias()
    with fake.serve() as base:
        conn = gorgias_conn(fake, base, clock=lambda: fake.now)
        with loop(database_url, connectors=(conn,), start=False) as lp:
            for n in range(60):  # more than the cursor remembers
                fake.add_ticket(f"T{n}", email=f"c{n}@example.com")
                fake.advance(1)
            [poller] = [p for p in lp.c.pollers if p.name == "gorgias.tickets"]
            report = poller.run_once()
            assert report.error is None and report.seen == 60
            stored = lp.c.ops.cursor("gorgias.tickets")
            assert stored and len(stored) <= 255
            fake.advance(120)
            # The last minute's changes (the overlap) are more than the cursor remembers: those it
            # forgot are reported again once (duplicates, never losses) — then nothing.
            again = poller.run_once()
            assert again.error is None and 0 < again.seen < 60
            assert poller.run_once().seen == 0
