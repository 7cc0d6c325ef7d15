"""A reply is never posted twice: the answer to a write lost on the way back, then the
retry — one message at the fake, counting every request it received. Zendesk's safe
updates: a ticket changed between our read and our write is a 409, read again, and written
once, keeping the other change."""

from __future__ import annotations

import pytest

from policy.models import AuthorKind, TicketStatus
from policy.ports import IntegrationError
from policy.tickets import TicketOperation, marker_for, ticket_actions
from tests.fakes.gorgias import FakeGorgias
from tests.fakes.zendesk import FakeZendesk
from tests.helpdesk.helpers import gorgias, zendesk


@pytest.fixture
def g():
    fake = FakeGorgias()
    agent = fake.add_agent("sam@ridgeline.example", "Sam Agent")
    with fake.serve() as base:  # a real socket: a lost answer is a closed connection
        yield fake, gorgias(fake, base), str(agent)


@pytest.fixture
def z():
    fake = FakeZendesk()
    agent = fake.add_user("sam@ridgeline.example", "Sam Agent", role="agent")
    with fake.serve() as base:
        yield fake, zendesk(fake, base), str(agent)


def test_gorgias_lost_answer_then_retry_is_one_message(g):
    fake, desk, agent = g
    tid = fake.add_ticket("Return", email="ada@example.com")
    path = f"/api/tickets/{tid}/messages"
    fake.lose_next_answer("POST", path)
    result = desk.post_reply(str(tid), text="We've refunded $129.50.", agent=agent, idempotency_key="case:9:reply")
    assert result.repeat  # the write had happened: found by its marker, not sent again
    assert len(fake.calls_to("POST", path)) == 1
    [reply] = [m for m in fake.messages_of(tid) if m["from_agent"]]
    assert reply["external_id"] == marker_for("case:9:reply") and reply["sender"]["id"] == int(agent)
    assert reply["receiver"] == {"email": "ada@example.com"}
    # The job runner's retry of the whole action: still one.
    again = ticket_actions(desk)[TicketOperation.POST_REPLY](
        {"ticket_id": str(tid), "text": "We've refunded $129.50.", "agent": agent}, "case:9:reply")
    assert again.ok and len(fake.calls_to("POST", path)) == 1


def test_gorgias_internal_note_is_the_internal_note_channel_from_the_api_user(g):
    fake, desk, _ = g
    tid = fake.add_ticket("Return", email="ada@example.com")
    fake.lose_next_answer("POST", f"/api/tickets/{tid}/messages")
    desk.add_internal_note(str(tid), text="Order #1001 · delivered", idempotency_key="note:1")
    [note] = fake.messages_of(tid, internal=True)
    assert note["channel"] == "internal-note" and note["public"] is False and note["via"] == "api"
    assert note["sender"]["email"] == "bot@ridgeline.example"
    assert len(fake.calls_to("POST", f"/api/tickets/{tid}/messages")) == 1


def test_gorgias_tags_and_status_sent_once(g):
    fake, desk, _ = g
    tid = fake.add_ticket("Return", email="ada@example.com", tags=("vip",))
    for _ in range(2):
        desk.set_tags_and_status(str(tid), tags=("returnsbot", "refunded"), status=TicketStatus.CLOSED,
                                 idempotency_key="tags:1")
    assert [t["name"] for t in fake.tickets[tid]["tags"]] == ["returnsbot", "refunded"]
    assert fake.tickets[tid]["status"] == "closed"
    assert len(fake.calls_to("PUT")) == 2  # status once, tags once: the second call saw it done


def test_zendesk_lost_answer_then_retry_is_one_comment(z):
    fake, desk, agent = z
    tid = fake.add_ticket("Return", email="ada@example.com")
    fake.lose_next_answer("PUT", f"/api/v2/tickets/{tid}")
    result = desk.post_reply(str(tid), text="We've refunded $129.50.", agent=agent, idempotency_key="case:9:reply")
    assert result.repeat
    assert len(fake.calls_to("PUT")) == 1
    public = [c for c in fake.comments[tid] if c["author_id"] == int(agent)]
    assert len(public) == 1 and public[0]["public"] is True
    assert marker_for("case:9:reply") in fake.tickets[tid]["tags"]


def test_zendesk_a_collision_is_a_409_then_one_comment_and_the_other_change_kept(z):
    fake, desk, agent = z
    tid = fake.add_ticket("Return", email="ada@example.com", tags=("vip",))

    def meanwhile(ticket):  # between our read and our write: the customer writes, an agent tags
        fake.customer_comment(tid, "Hello? Anyone?")
        ticket["tags"].append("escalated")

    fake.before_update = meanwhile
    desk.post_reply(str(tid), text="Sorry for the wait!", agent=agent, idempotency_key="reply:1")
    puts = fake.calls_to("PUT")
    assert [c.status for c in puts] == [409, 200]
    assert puts[0].body["ticket"]["safe_update"] is True and puts[0].body["ticket"]["updated_stamp"]
    texts = [c["body"] for c in fake.comments[tid]]
    assert texts.count("Sorry for the wait!") == 1 and "Hello? Anyone?" in texts
    assert {"vip", "escalated", marker_for("reply:1")} <= set(fake.tickets[tid]["tags"])


def test_zendesk_internal_note_is_private(z):
    fake, desk, _ = z
    tid = fake.add_ticket("Return", email="ada@example.com")
    desk.add_internal_note(str(tid), text="Order context", idempotency_key="n1")
    note = fake.comments[tid][-1]
    assert note["public"] is False and note["author_id"] == fake.me
    assert desk.get_ticket(str(tid)).messages[-1].author is AuthorKind.INTERNAL


def test_zendesk_replacing_tags_keeps_the_markers(z):
    fake, desk, agent = z
    tid = fake.add_ticket("Return", email="ada@example.com", tags=("vip",))
    desk.post_reply(str(tid), text="Done", agent=agent, idempotency_key="reply:1")
    desk.set_tags_and_status(str(tid), tags=("Refund approved",), status=TicketStatus.SOLVED, idempotency_key="t:1")
    tags = fake.tickets[tid]["tags"]
    assert "vip" not in tags and "refund_approved" in tags
    assert marker_for("reply:1") in tags and marker_for("t:1") in tags  # so a late retry still finds them
    assert fake.tickets[tid]["status"] == "solved"
    desk.post_reply(str(tid), text="Done", agent=agent, idempotency_key="reply:1")
    assert [c["body"] for c in fake.comments[tid]].count("Done") == 1


def test_a_refused_write_is_not_retried(z):
    fake, desk, agent = z
    tid = fake.add_ticket("Return", email="ada@example.com", status="closed")
    with pytest.raises(IntegrationError) as err:
        desk.post_reply(str(tid), text="Hi", agent=agent, idempotency_key="r")
    assert not err.value.retryable and "closed prevents ticket update" in str(err.value)
    assert len(fake.calls_to("PUT")) == 1


def test_repeated_conflicts_give_up_retryably(z):
    fake, desk, agent = z
    tid = fake.add_ticket("Return", email="ada@example.com")

    def busy(ticket):
        fake.customer_comment(tid, "again")
        fake.before_update = busy

    fake.before_update = busy
    with pytest.raises(IntegrationError) as err:
        desk.post_reply(str(tid), text="Hi", agent=agent, idempotency_key="r")
    assert err.value.retryable
    assert [c.status for c in fake.calls_to("PUT")] == [409, 409, 409]
    assert not any(c["body"] == "Hi" for c in fake.comments[tid])
