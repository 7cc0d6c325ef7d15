"""The order context as an internal note on the ticket, before anyone looks: one note per
ticket at FakeGorgias and FakeZendesk (every request they received counted), however often
the webhook repeats and whatever the retries; what it says and what it never says; and a
helpdesk failing the note holds neither the reply nor the case's DONE."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.container import Container
from bot.jobs.kinds import Kind
from bot.services.ticket_note import note_key
from bot.settings import Settings
from blocks.card import render_case_card
from integrations.helpdesk import ticket_event
from integrations.sample.store import SampleStore
from policy.config import parse_policy
from policy.models import CaseKind, CaseStatus
from policy.tickets import marker_for
from tests.conftest import FrozenClock
from tests.fakes.gorgias import FakeGorgias
from tests.fakes.zendesk import FakeZendesk
from tests.helpdesk.helpers import gorgias_conn, zendesk_conn
from tests.loop.harness import POLICY, T1

AGENT = "support@ridgeline.example"
TEXT = "Hi, I want to return my sweater from #1001, it doesn't fit. Thanks"


class FlakyGorgias(FakeGorgias):
    """FakeGorgias answering 500 to the write carrying the `failing` marker (one key's writes)."""

    failing: str | None = None

    def _dispatch(self, call):
        if self.failing and call.method == "POST" and isinstance(call.body, dict) \
                and call.body.get("external_id") == self.failing:
            return 500, {"error": {"msg": "Internal Server Error"}}
        return super()._dispatch(call)


def _app(database_url, connector, clock, store):
    settings = Settings(_env_file=None, database_url=database_url, returnsbot_helpdesk_agent_email=AGENT)
    return Container.build(settings, clock=clock, store=store, policy=parse_policy(POLICY), connectors=(connector,))


def _customer_of_1001(store):
    order = store.find_orders("#1001")[0]
    return order, store.get_customer(order.customer_id)


def _note_posts(fake: FakeGorgias, tid: int, key: str) -> list:
    return [c for c in fake.calls_to("POST", f"/api/tickets/{tid}/messages")
            if c.body.get("external_id") == marker_for(key)]


def _card_text(c, case) -> str:
    import json

    return json.dumps(render_case_card(c.views.build(c.cases.get(case.id)))["blocks"], ensure_ascii=False)


@pytest.fixture
def gorgias(database_url):
    clock = FrozenClock()
    store = SampleStore.load(now=clock())
    fake = FlakyGorgias()
    fake.add_agent(AGENT, "Sam Agent")
    with fake.serve() as base:
        connector = gorgias_conn(fake, base, clock=clock)
        c = _app(database_url, connector, clock, store)
        yield c, fake, connector, clock
        c.engine.dispose()


def test_gorgias_one_note_per_ticket_on_replays_and_retries(gorgias):
    c, fake, connector, clock = gorgias
    order, customer = _customer_of_1001(c.store)
    tid = fake.add_ticket("Return", email=customer.email, name=customer.display_name, text=TEXT)
    event = ticket_event(connector.helpdesk.get_ticket(str(tid)))
    first = c.ingest.ingest(event).case
    c.ingest.ingest(event)  # the webhook again, and the poller: the same case, no second note job
    [job] = c.jobs.for_case(first.id, kind=Kind.TICKET_NOTE)
    assert job.order_key == f"ticket-note:{first.id}" and c.outbox.for_case(first.id) == []
    key = note_key(connector.name, first.id)
    # The first attempt's answer is lost: the job retries, the marker is found, nothing posted twice.
    fake.lose_next_answer("POST", f"/api/tickets/{tid}/messages")
    c.drain()
    clock.advance(hours=1)
    c.drain()
    assert len(_note_posts(fake, tid, key)) == 1
    [note] = fake.messages_of(tid, internal=True)
    text = note["body_text"]
    assert text.startswith("returnsbot — order context") and f"Order {order.name}" in text
    assert order.total.format() in text and "Tracking:" in text and "Payment risk:" in text
    assert "lifetime value" in text and "Returns since" in text
    for line_item in order.line_items:
        assert line_item.title in text
    # Nothing a helpdesk agent doesn't need: no email, ids or addresses.
    assert customer.email not in text and "gid://" not in text and order.id not in text
    # A later webhook for the ticket (our note coming back) changes nothing.
    c.ingest.ingest(ticket_event(connector.helpdesk.get_ticket(str(tid))))
    c.drain()
    assert len(_note_posts(fake, tid, key)) == 1 and len(c.jobs.for_case(first.id, kind=Kind.TICKET_NOTE)) == 1
    assert "Order context note on the ticket: posted" in _card_text(c, first)
    # Kept like the outbox: the record of a write on the customer's ticket, which the card reports.
    c.jobs.prune_finished(before=clock() + timedelta(days=30))
    assert [j.status for j in c.jobs.for_case(first.id, kind=Kind.TICKET_NOTE)] == ["done"]


def test_a_failing_note_does_not_hold_the_reply_or_the_case(gorgias):
    c, fake, connector, clock = gorgias
    _, customer = _customer_of_1001(c.store)
    tid = fake.add_ticket("Return", email=customer.email, name=customer.display_name, text=TEXT)
    case = c.ingest.ingest(ticket_event(connector.helpdesk.get_ticket(str(tid)))).case
    fake.failing = marker_for(note_key(connector.name, case.id))  # the context note's writes, only
    c.drain()
    [job] = c.jobs.for_case(case.id, kind=Kind.TICKET_NOTE)
    assert job.status == "pending" and job.last_error and "500" in job.last_error
    assert "Order context note on the ticket: retrying" in _card_text(c, case)

    c.decide.approve(case.id, T1, version=case.version)
    # The reply's actions are on the case's order key; the note is on its own.
    assert {j.order_key for j in c.jobs.for_case(case.id, kind=Kind.ACTION)} == {f"case:{case.id}"}
    c.drain()
    done = c.cases.get(case.id)
    assert done.status is CaseStatus.DONE  # the reply, the approval note and the tags went out
    replies = [m for m in fake.messages_of(tid) if m["from_agent"] and m["channel"] != "internal-note"]
    assert len(replies) == 1 and [m["body_text"] for m in fake.messages_of(tid, internal=True)][0].startswith(
        "Approved in Slack")

    # The helpdesk recovers: the note goes out on its own retry, once; the case stays DONE.
    fake.failing = None
    clock.advance(hours=1)
    c.drain()
    posts = _note_posts(fake, tid, note_key(connector.name, case.id))
    # Every request for the note: the ones answered 500, then exactly one that wrote it.
    assert [p.status for p in posts[:-1]] == [500] * (len(posts) - 1) and posts[-1].status == 201
    approved, context = [m["body_text"] for m in fake.messages_of(tid, internal=True)]
    assert approved.startswith(f"Approved in Slack by {T1}") and context.startswith("returnsbot — order context")
    assert c.cases.get(case.id).status is CaseStatus.DONE and c.cases.get(case.id).version == done.version
    assert "Order context note on the ticket: posted" in _card_text(c, case)


def test_a_note_that_dies_is_named_on_the_card_and_fails_nothing(gorgias):
    c, fake, connector, clock = gorgias
    _, customer = _customer_of_1001(c.store)
    tid = fake.add_ticket("Return", email=customer.email, name=customer.display_name, text=TEXT)
    case = c.ingest.ingest(ticket_event(connector.helpdesk.get_ticket(str(tid)))).case
    fake.failing = marker_for(note_key(connector.name, case.id))  # the context note's writes, only
    for _ in range(40):  # past the retry budget (24 h)
        c.drain()
        clock.advance(hours=1)
    [job] = c.jobs.for_case(case.id, kind=Kind.TICKET_NOTE)
    assert job.status == "dead"
    assert c.cases.get(case.id).status is CaseStatus.OPEN
    assert "Order context note on the ticket: failed" in _card_text(c, case)
    assert fake.messages_of(tid, internal=True) == []


@pytest.fixture
def zendesk(database_url):
    clock = FrozenClock()
    store = SampleStore.load(now=clock())
    fake = FakeZendesk()
    fake.add_user(AGENT, "Sam Agent", role="agent")
    with fake.serve() as base:
        connector = zendesk_conn(fake, base, clock=clock)
        c = _app(database_url, connector, clock, store)
        yield c, fake, connector, clock
        c.engine.dispose()


def test_zendesk_one_note_per_ticket_on_replays_and_retries(zendesk):
    c, fake, connector, clock = zendesk
    order, customer = _customer_of_1001(c.store)
    tid = fake.add_ticket("Return", email=customer.email, name=customer.display_name, text=TEXT)
    event = ticket_event(connector.helpdesk.get_ticket(str(tid)))
    case = c.ingest.ingest(event).case
    c.ingest.ingest(event)
    fake.lose_next_answer("PUT", f"/api/v2/tickets/{tid}")  # written, the answer lost: retried, found
    c.drain()
    clock.advance(hours=1)
    c.drain()
    notes = [x for x in fake.comments[tid] if not x["public"]]
    assert len(notes) == 1 and f"Order {order.name}" in notes[0]["body"]
    writes = [x for x in fake.calls_to("PUT", f"/api/v2/tickets/{tid}")
              if (x.body.get("ticket") or {}).get("comment", {}).get("public") is False]
    assert len(writes) == 1  # every PUT the fake received: the retry read the marker and wrote nothing
    assert marker_for(note_key(connector.name, case.id)) in fake.tickets[tid]["tags"]
    seen = c.cases.find(connector.name, str(tid), CaseKind.TICKET)
    assert c.ingest.ingest(ticket_event(connector.helpdesk.get_ticket(str(tid)))).outcome.value == "ignored"  # our note
    c.drain()
    assert len([x for x in fake.comments[tid] if not x["public"]]) == 1
    assert c.cases.find(connector.name, str(tid), CaseKind.TICKET).version == seen.version
