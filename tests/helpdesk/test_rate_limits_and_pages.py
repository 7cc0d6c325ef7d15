"""Rate limits and pagination against the fakes: Gorgias's 40 per 20 s (paced by the
client; a 429 with `Retry-after` waited out; a wait beyond the budget handed back to the job
runner), Zendesk's Update Ticket limits (100 a minute per account, 30 per 10 minutes per
ticket), Gorgias cursors (`trashed=false`), Zendesk comment cursors and search's 1,000 cap."""

from __future__ import annotations

from datetime import timedelta

import pytest

from policy.ports import IntegrationError
from tests.fakes.gorgias import FakeGorgias
from tests.fakes.zendesk import FakeZendesk
from tests.helpdesk.helpers import gorgias, zendesk


def _transport_client(fake):
    import httpx

    return httpx.Client(transport=fake.transport())


# --- Gorgias ----------------------------------------------------------------------------------


def test_gorgias_reads_are_paced_under_40_per_20_seconds():
    fake = FakeGorgias()
    tid = fake.add_ticket("Hi", email="ada@example.com")
    desk = gorgias(fake, "https://ridgeline.gorgias.com", http=_transport_client(fake))
    for _ in range(45):
        desk.get_ticket(str(tid))
    assert [c.status for c in fake.calls] == [200] * 45  # never a 429: the client waited
    assert sum(desk.api.waited) == pytest.approx(20.0, abs=0.1)  # one window's worth, once


def test_a_gorgias_429_waits_retry_after_and_tries_again():
    fake = FakeGorgias()
    tid = fake.add_ticket("Hi", email="ada@example.com")
    fake.fill_bucket(40.0)  # another replica on the same key filled the bucket
    desk = gorgias(fake, "https://ridgeline.gorgias.com", http=_transport_client(fake))
    assert desk.get_ticket(str(tid)).id == str(tid)
    assert [c.status for c in fake.calls] == [429, 200]
    assert fake.calls[0].status == 429 and desk.api.waited == [1.0]  # its Retry-after


def test_a_full_bucket_in_the_call_limit_header_holds_the_next_request():
    fake = FakeGorgias()
    tid = fake.add_ticket("Hi", email="ada@example.com")
    fake.fill_bucket(39.0)  # one call left in the account's bucket, unknown to this client
    desk = gorgias(fake, "https://ridgeline.gorgias.com", http=_transport_client(fake))
    desk.get_ticket(str(tid))  # answered "40/40"
    desk.get_ticket(str(tid))
    assert [c.status for c in fake.calls] == [200, 200]  # no 429: it waited for one call to leak out
    assert desk.api.waited == [0.5]


def test_a_gorgias_wait_beyond_the_budget_is_handed_back_with_retry_after():
    fake = FakeGorgias()
    tid = fake.add_ticket("Hi", email="ada@example.com")
    fake.fill_bucket(40.0)
    desk = gorgias(fake, "https://ridgeline.gorgias.com", http=_transport_client(fake), max_wait=0.5)
    with pytest.raises(IntegrationError) as err:
        desk.get_ticket(str(tid))
    assert err.value.retryable and err.value.retry_after == 1.0
    assert [c.status for c in fake.calls] == [429]


def test_gorgias_lists_follow_cursors_and_leave_trashed_tickets_out():
    fake = FakeGorgias()
    start = fake.now
    ids = []
    for n in range(230):
        ids.append(str(fake.add_ticket(f"T{n}", email=f"c{n}@example.com")))
        fake.advance(1)
    fake.add_ticket("Trashed", email="t@example.com", trashed=True)
    desk = gorgias(fake, "https://ridgeline.gorgias.com", http=_transport_client(fake))
    found = desk.recent_tickets(start)
    assert [t.id for t in found] == ids  # oldest first, every page, no trashed one
    pages = fake.calls_to("GET", "/api/tickets")
    assert len(pages) == 3 and all(c.query["trashed"] == "false" and c.query["limit"] == "100" for c in pages)
    assert "cursor" not in pages[0].query and all(c.query.get("cursor") for c in pages[1:])


def test_gorgias_recent_tickets_stop_at_the_first_older_page():
    fake = FakeGorgias()
    for n in range(150):
        fake.add_ticket(f"Old {n}", email=f"o{n}@example.com")
    fake.advance(3600)
    since = fake.now
    new = fake.add_ticket("New", email="n@example.com")
    desk = gorgias(fake, "https://ridgeline.gorgias.com", http=_transport_client(fake))
    assert [t.id for t in desk.recent_tickets(since)] == [str(new)]
    assert len(fake.calls_to("GET", "/api/tickets")) == 1  # newest first: the older pages aren't asked


# --- Zendesk ----------------------------------------------------------------------------------


def test_zendesk_updates_of_one_ticket_are_paced_at_30_per_10_minutes():
    fake = FakeZendesk()
    tid = str(fake.add_ticket("Hi", email="ada@example.com"))
    desk = zendesk(fake, "https://ridgeline.zendesk.com", http=_transport_client(fake), max_wait=700)
    for n in range(31):
        desk.add_internal_note(tid, text=f"note {n}", idempotency_key=f"note:{n}")
    puts = fake.calls_to("PUT")
    assert [c.status for c in puts] == [200] * 31  # the 31st waited for the window; no 429
    assert max(desk.api.waited) == pytest.approx(600.0, abs=1.0)


def test_zendesk_past_the_ticket_limit_is_handed_back_with_retry_after():
    fake = FakeZendesk()
    tid = str(fake.add_ticket("Hi", email="ada@example.com"))
    desk = zendesk(fake, "https://ridgeline.zendesk.com", http=_transport_client(fake))
    for n in range(30):
        desk.add_internal_note(tid, text=f"note {n}", idempotency_key=f"note:{n}")
    with pytest.raises(IntegrationError) as err:
        desk.add_internal_note(tid, text="one too many", idempotency_key="note:30")
    assert err.value.retryable and err.value.retry_after == pytest.approx(600.0, abs=1.0)
    assert len(fake.calls_to("PUT")) == 30  # the 31st was never sent


def test_zendesk_account_update_limit_is_paced_at_100_a_minute():
    fake = FakeZendesk()
    tickets = [str(fake.add_ticket(f"T{n}", email=f"c{n}@example.com")) for n in range(101)]
    desk = zendesk(fake, "https://ridgeline.zendesk.com", http=_transport_client(fake), max_wait=120)
    for n, tid in enumerate(tickets):
        desk.add_internal_note(tid, text="context", idempotency_key=f"note:{n}")
    assert [c.status for c in fake.calls_to("PUT")] == [200] * 101
    assert desk.api.waited and max(desk.api.waited) <= 60.0


def test_a_zendesk_429_from_elsewhere_waits_retry_after():
    fake = FakeZendesk()
    tid = str(fake.add_ticket("Hi", email="ada@example.com"))
    other = zendesk(fake, "https://ridgeline.zendesk.com", http=_transport_client(fake))
    for n in range(30):
        other.add_internal_note(tid, text=f"n{n}", idempotency_key=f"other:{n}")
    fake.advance(599)  # this process has no count of its own: only the fake knows
    desk = zendesk(fake, "https://ridgeline.zendesk.com", http=_transport_client(fake))
    desk.add_internal_note(tid, text="mine", idempotency_key="mine:1")
    statuses = [c.status for c in fake.calls_to("PUT")][30:]
    assert statuses == [429, 200]
    assert desk.api.waited == [1.0]


def test_zendesk_comments_follow_cursors():
    fake = FakeZendesk()
    tid = fake.add_ticket("Long", email="ada@example.com")
    for n in range(230):
        fake.customer_comment(tid, f"message {n}")
    desk = zendesk(fake, "https://ridgeline.zendesk.com", http=_transport_client(fake))
    ticket = desk.get_ticket(str(tid))
    assert len(ticket.messages) == 231 and ticket.messages[-1].text == "message 229"
    pages = fake.calls_to("GET", f"/api/v2/tickets/{tid}/comments")
    assert len(pages) == 3 and pages[1].query.get("page[after]") and pages[0].query["page[size]"] == "100"


def test_zendesk_search_stops_at_its_1000_result_cap():
    fake = FakeZendesk()
    start = fake.now
    for n in range(1005):
        fake.add_ticket(f"T{n}", email="same@example.com")
    desk = zendesk(fake, "https://ridgeline.zendesk.com", http=_transport_client(fake))
    found = desk.recent_tickets(start - timedelta(seconds=1))
    assert len(found) == 1000
    searches = fake.calls_to("GET", "/api/v2/search")
    assert [c.query["page"] for c in searches] == [str(n) for n in range(1, 11)]
    assert all(c.status == 200 for c in searches)  # page 11 (a 422) is never asked
