"""Tickets contract: every helpdesk adapter behind policy/tickets.py — Gorgias and Zendesk
against their fakes (over HTTP), and the in-memory sample helpdesk — reads tickets the
same way and writes each reply, note and tag change exactly once, whatever is retried."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Callable

import pytest

from integrations.sample.store import SampleStore
from integrations.sample.tickets import AGENTS, SampleHelpdesk
from policy.models import AuthorKind, TicketStatus
from policy.ports import NotFound
from policy.tickets import MARKER_PREFIX, ticket_actions, TicketOperation
from tests.contract.checks import is_utc
from tests.fakes.gorgias import FakeGorgias
from tests.fakes.zendesk import FakeZendesk
from tests.helpdesk.helpers import gorgias, zendesk

AGENT_EMAIL = "sam@ridgeline.example"


@dataclass
class Desk:
    name: str
    helpdesk: object
    add: Callable[..., str]  # (subject, email=, name=, text=) → ticket id
    advance: Callable[[float], None]
    now: Callable[[], object]
    agent_email: str
    writes: Callable[[], int]  # write requests the vendor received (every one, retries included)
    customer_writes: Callable[[str, str], None]  # (ticket id, text): the requester answers
    close: Callable[[], None] = lambda: None


def _gorgias() -> Desk:
    fake = FakeGorgias()
    fake.add_agent(AGENT_EMAIL, "Sam Agent")
    server = fake.serve()
    base = server.__enter__()
    return Desk("gorgias", gorgias(fake, base),
                lambda subject, **kw: str(fake.add_ticket(subject, **kw)), fake.advance, lambda: fake.now,
                AGENT_EMAIL, lambda: len([c for c in fake.calls if c.method in ("POST", "PUT") and c.path != "/api/search"]),
                lambda tid, text: fake.customer_message(int(tid), text), lambda: server.__exit__(None, None, None))


def _zendesk() -> Desk:
    fake = FakeZendesk()
    fake.add_user(AGENT_EMAIL, "Sam Agent", role="agent")
    server = fake.serve()
    base = server.__enter__()
    return Desk("zendesk", zendesk(fake, base), lambda subject, **kw: str(fake.add_ticket(subject, **kw)),
                fake.advance, lambda: fake.now, AGENT_EMAIL, lambda: len(fake.calls_to("PUT")),
                lambda tid, text: fake.customer_comment(int(tid), text), lambda: server.__exit__(None, None, None))


def _sample() -> Desk:
    store = SampleStore.load()
    desk = SampleHelpdesk(store)
    clock = {"now": desk.now}

    def advance(seconds: float) -> None:
        clock["now"] += timedelta(seconds=seconds)
        desk.now = clock["now"]

    def add(subject, *, email, name, text):
        return desk.add(subject, email=email, name=name, text=text, at=clock["now"])

    writes = {"n": 0}
    for op in ("post_reply", "add_internal_note", "set_tags_and_status"):  # count what reaches it
        original = getattr(desk, op)

        def counted(*a, _original=original, **kw):
            result = _original(*a, **kw)
            writes["n"] += 0 if result.repeat else 1
            return result

        setattr(desk, op, counted)
    return Desk("sample", desk, add, advance, lambda: clock["now"], next(iter(AGENTS)), lambda: writes["n"],
                lambda tid, text: desk.customer_writes(tid, text))


@pytest.fixture(params=[_gorgias, _zendesk, _sample], ids=["gorgias", "zendesk", "sample"])
def desk(request):
    built = request.param()
    yield built
    built.close()


def _ticket(desk: Desk, **kw) -> str:
    return desk.add(kw.pop("subject", "Where is my parcel?"), email=kw.pop("email", "ada@example.com"),
                    name=kw.pop("name", "Ada Lovelace"), text=kw.pop("text", "It has not arrived yet."))


def test_a_ticket_as_read(desk):
    tid = _ticket(desk)
    t = desk.helpdesk.get_ticket(tid)
    assert t.id == tid and t.source == desk.helpdesk.name
    assert t.subject == "Where is my parcel?" and t.status is TicketStatus.OPEN
    assert t.requester_email == "ada@example.com" and t.requester_name == "Ada Lovelace"
    assert is_utc(t.created_at) and is_utc(t.updated_at) and t.updated_at >= t.created_at
    [m] = t.messages
    assert m.author is AuthorKind.CUSTOMER and m.text == "It has not arrived yet." and is_utc(m.created_at)
    assert m.marker is None


def test_an_unknown_ticket_is_not_found(desk):
    with pytest.raises(NotFound):
        desk.helpdesk.get_ticket("999999")


def test_recent_tickets_are_those_changed_since(desk):
    old = _ticket(desk, subject="Old one", email="old@example.com")
    desk.advance(3600)
    since = desk.now()
    desk.advance(60)
    new = _ticket(desk, subject="New one", email="new@example.com")
    found = [t for t in desk.helpdesk.recent_tickets(since) if t.id in (old, new)]
    assert [t.id for t in found] == [new]
    assert found[0].messages == ()


def test_a_later_message_makes_the_ticket_recent_again(desk):
    tid = _ticket(desk)
    desk.advance(3600)
    since = desk.now()
    desk.advance(60)
    desk.customer_writes(tid, "Any news?")
    assert [t.id for t in desk.helpdesk.recent_tickets(since)] == [tid]
    t = desk.helpdesk.get_ticket(tid)
    assert [m.text for m in t.messages] == ["It has not arrived yet.", "Any news?"]
    assert all(m.author is AuthorKind.CUSTOMER for m in t.messages) and t.updated_at >= since


def test_tickets_of_a_requester(desk):
    mine = _ticket(desk, email="ada@example.com")
    desk.advance(5)
    later = _ticket(desk, subject="Second", email="ada@example.com")
    _ticket(desk, email="grace@example.org", name="Grace Hopper")
    found = desk.helpdesk.tickets_of("ada@example.com")
    assert [t.id for t in found] == [later, mine]  # most recently updated first
    assert all(t.requester_email == "ada@example.com" for t in found)
    assert desk.helpdesk.tickets_of("nobody@example.com") == []


def test_find_agent(desk):
    assert desk.helpdesk.find_agent(desk.agent_email)
    assert desk.helpdesk.find_agent("nobody@example.com") is None


def test_a_reply_is_posted_once(desk):
    tid = _ticket(desk)
    agent = desk.helpdesk.find_agent(desk.agent_email)
    first = desk.helpdesk.post_reply(tid, text="Your parcel is on its way.", agent=agent, idempotency_key="reply:1")
    again = desk.helpdesk.post_reply(tid, text="Your parcel is on its way.", agent=agent, idempotency_key="reply:1")
    assert not first.repeat and again.repeat
    assert desk.writes() == 1
    replies = [m for m in desk.helpdesk.get_ticket(tid).messages if m.author is AuthorKind.AGENT]
    assert [m.text for m in replies] == ["Your parcel is on its way."]
    assert all(MARKER_PREFIX not in m.text for m in desk.helpdesk.get_ticket(tid).messages)


def test_a_second_reply_with_another_key_is_another_message(desk):
    tid = _ticket(desk)
    agent = desk.helpdesk.find_agent(desk.agent_email)
    desk.helpdesk.post_reply(tid, text="One", agent=agent, idempotency_key="reply:1")
    desk.helpdesk.post_reply(tid, text="Two", agent=agent, idempotency_key="reply:2")
    assert [m.text for m in desk.helpdesk.get_ticket(tid).messages if m.author is AuthorKind.AGENT] == ["One", "Two"]


def test_an_internal_note_is_added_once(desk):
    tid = _ticket(desk)
    desk.helpdesk.add_internal_note(tid, text="Order #1001, delivered 3 days ago.", idempotency_key="note:1")
    assert desk.helpdesk.add_internal_note(tid, text="Order #1001, delivered 3 days ago.",
                                           idempotency_key="note:1").repeat
    notes = [m for m in desk.helpdesk.get_ticket(tid).messages if m.author is AuthorKind.INTERNAL]
    assert [m.text for m in notes] == ["Order #1001, delivered 3 days ago."]
    assert desk.writes() == 1


def test_tags_and_status(desk):
    tid = _ticket(desk)
    desk.helpdesk.set_tags_and_status(tid, tags=("returnsbot", "refund_approved"), status=TicketStatus.SOLVED,
                                      idempotency_key="tags:1")
    t = desk.helpdesk.get_ticket(tid)
    assert set(t.tags) == {"returnsbot", "refund_approved"}  # markers are not tags to anyone
    assert t.status in (TicketStatus.SOLVED, TicketStatus.CLOSED)  # Gorgias has closed only
    writes = desk.writes()
    assert desk.helpdesk.set_tags_and_status(tid, tags=("returnsbot", "refund_approved"), status=TicketStatus.SOLVED,
                                             idempotency_key="tags:1").repeat
    assert desk.writes() == writes


def test_an_empty_message_is_refused_and_nothing_is_written(desk):
    tid = _ticket(desk)
    agent = desk.helpdesk.find_agent(desk.agent_email)
    with pytest.raises(ValueError):
        desk.helpdesk.post_reply(tid, text="  ", agent=agent, idempotency_key="reply:1")
    with pytest.raises(ValueError):
        desk.helpdesk.add_internal_note(tid, text="", idempotency_key="")
    assert desk.writes() == 0 and len(desk.helpdesk.get_ticket(tid).messages) == 1


def test_the_outbox_actions_carry_payloads_to_the_port(desk):
    tid = _ticket(desk)
    actions = ticket_actions(desk.helpdesk)
    agent = desk.helpdesk.find_agent(desk.agent_email)
    payload = {"ticket_id": tid, "text": "Done.", "agent": agent}
    first = actions[TicketOperation.POST_REPLY](payload, "outbox:7")
    second = actions[TicketOperation.POST_REPLY](payload, "outbox:7")
    assert first.ok and second.ok and "not sent again" in second.summary
    assert desk.writes() == 1
