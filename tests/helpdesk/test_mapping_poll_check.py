"""Mapping leniency (timestamps in every form Gorgias writes, missing fields, HTML-only
bodies, Zendesk's string ids), the catch-up pollers (cursor, our own writes skipped,
Zendesk's search lag), settings, and `check`'s ping naming the key that was refused."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from bot.settings import SettingsError, load_settings
from integrations.gorgias import mapping as gm
from integrations.helpdesk import parse_time
from integrations.zendesk import mapping as zm
from policy.models import AuthorKind, EventKind, Ticket, TicketStatus
from tests.fakes.gorgias import FakeGorgias
from tests.fakes.zendesk import FakeZendesk
from tests.helpdesk.helpers import gorgias_conn, zendesk_conn

UTC = timezone.utc


@pytest.mark.parametrize("text", ["2021-01-07T13:00:00.123456", "2021-01-07 13:00:00.123456+00:00",
                                  "2021-01-07T13:00:00Z", "2021-01-07T14:00:00+01:00", "2021-01-07T13:00:00.123456+0000"])
def test_gorgias_timestamps_leniently(text):
    assert parse_time(text).replace(microsecond=0) == datetime(2021, 1, 7, 13, 0, tzinfo=UTC)


@pytest.mark.parametrize("text", [None, "", "yesterday", 12, "2021-13-40T00:00:00"])
def test_unparseable_timestamps_are_none(text):
    assert parse_time(text) is None


def test_a_sparse_gorgias_ticket_still_maps():
    t = gm.ticket({"id": 7, "status": "closed", "customer": None, "tags": [{"name": "vip"}, "junk", {"id": 3}],
                   "satisfaction_survey": {"score": 4}, "created_datetime": "bad"}, base_url="https://x.gorgias.com",
                  messages=[{"id": 1, "body_html": "<p>Hi &amp; <b>hello</b></p><br>bye", "from_agent": False},
                            {"id": 2, "channel": "internal-note", "from_agent": True, "body_text": "note",
                             "created_datetime": "2021-01-07T13:00:00"},
                            {"no": "id"}])
    assert t.status is TicketStatus.CLOSED and t.requester_email is None and t.tags == ("vip",) and t.csat == 4
    assert t.url == "https://x.gorgias.com/app/ticket/7" and t.created_at.tzinfo is not None
    assert [(m.author, m.text) for m in t.messages] == [(AuthorKind.CUSTOMER, "Hi & hello\n\nbye"),
                                                        (AuthorKind.INTERNAL, "note")]


def test_a_snoozed_gorgias_ticket_is_pending():
    assert gm.status({"status": "open", "snooze_datetime": "2026-11-03T10:00:00"}) is TicketStatus.PENDING


def test_a_sparse_zendesk_ticket_still_maps():
    t = zm.ticket({"id": "42", "status": "HOLD", "tags": ["a", 3, "rb-0123456789abcdef"], "via": "web",
                   "satisfaction_rating": {"score": "bad"}, "requester_id": 5},
                  base_url="https://x.zendesk.com",
                  comments=[{"id": 1, "author_id": 5, "body": "help"}, {"id": 2, "author_id": 9, "public": False,
                                                                         "plain_body": "internal"},
                            {"id": 3, "author_id": 9, "body": "answer"}],
                  users={"5": {"id": 5, "name": "Ada", "email": "ada@example.com", "locale": "de-DE",
                               "role": "end-user"}})
    assert t.status is TicketStatus.PENDING and t.tags == ("a",) and t.channel is None and t.csat == 1
    assert t.language == "de" and t.requester_email == "ada@example.com"
    assert [m.author for m in t.messages] == [AuthorKind.CUSTOMER, AuthorKind.INTERNAL, AuthorKind.AGENT]
    assert zm.ticket({"id": 1, "status": "weird"}, base_url="https://x").status is TicketStatus.OPEN


# --- pollers --------------------------------------------------------------------------------------


def test_gorgias_poller_finds_changes_once_and_skips_our_own():
    fake = FakeGorgias()
    conn = gorgias_conn(fake, "https://ridgeline.gorgias.com", clock=lambda: fake.now,
                        http=httpx.Client(transport=fake.transport()))
    poll = conn.pollers[0].fetch
    a = fake.add_ticket("A", email="a@example.com")
    fake.advance(10)
    b = fake.add_ticket("B", email="b@example.com")
    page = poll(None)
    assert [e.resource_id for e in page.events] == [str(a), str(b)]
    assert all(e.kind is EventKind.TICKET_RECEIVED for e in page.events)
    assert poll(page.cursor).events == []  # nothing new
    fake.advance(10)
    conn.helpdesk.add_internal_note(str(a), text="context", idempotency_key="n1")  # ours: no event
    fake.advance(10)
    fake.customer_message(b, "More details")
    page2 = poll(page.cursor)
    assert [e.resource_id for e in page2.events] == [str(b)]
    assert Ticket.model_validate_json(page2.events[0].detail["ticket"]).messages[-1].text == "More details"


def test_zendesk_poller_finds_a_ticket_the_search_index_showed_late():
    fake = FakeZendesk(index_lag=120)
    conn = zendesk_conn(fake, "https://ridgeline.zendesk.com", clock=lambda: fake.now,
                        http=httpx.Client(transport=fake.transport()))
    poll = conn.pollers[0].fetch
    a = fake.add_ticket("A", email="a@example.com")
    fake.advance(200)
    b = fake.add_ticket("B", email="b@example.com")  # not in the index for two minutes
    page = poll(None)
    assert [e.resource_id for e in page.events] == [str(a)]
    fake.advance(200)
    page2 = poll(page.cursor)
    assert [e.resource_id for e in page2.events] == [str(b)]  # found though older than nothing newer
    assert poll(page2.cursor).events == []


def test_the_cursor_fits_its_column_and_a_busy_overlap_loses_nothing():
    fake = FakeZendesk()
    conn = zendesk_conn(fake, "https://ridgeline.zendesk.com", clock=lambda: fake.now,
                        http=httpx.Client(transport=fake.transport()))
    poll = conn.pollers[0].fetch
    cursor, reported, ids = None, [], []
    for n in range(120):  # 120 changes within the 5-minute overlap, polled as they come
        ids.append(str(fake.add_ticket(f"T{n}", email=f"c{n}@example.com")))
        fake.advance(2)
        if n % 10 == 9:
            page = poll(cursor)
            cursor = page.cursor
            reported += [e.resource_id for e in page.events]
            assert len(cursor) <= 255
    assert set(reported) == set(ids)  # every change reported (some twice: more than the cursor remembers)
    fake.advance(400)
    cursor = poll(cursor).cursor
    fake.advance(400)
    before = len(fake.calls)
    assert poll(cursor).events == []  # quiet: the window moved on with the clock
    assert [c.path for c in fake.calls[before:]] == ["/api/v2/search"]  # one search, nothing read again


# --- settings and check -----------------------------------------------------------------------------


def test_settings_name_what_is_missing(monkeypatch):
    with pytest.raises(SettingsError) as err:
        load_settings(_env_file=None, zendesk_subdomain="acme", zendesk_email="a@example.com")
    assert "setting ZENDESK_API_TOKEN: required when ZENDESK_SUBDOMAIN, ZENDESK_EMAIL are set" in str(err.value)
    with pytest.raises(SettingsError) as err:
        load_settings(_env_file=None, gorgias_domain="acme", gorgias_email="a@example.com", gorgias_api_key="k",
                      gorgias_webhook_token="short")
    assert "setting GORGIAS_WEBHOOK_TOKEN: expected at least 24" in str(err.value) and "short" not in str(err.value)
    s = load_settings(_env_file=None, gorgias_domain="https://Acme.gorgias.com/", gorgias_email="a@example.com",
                      gorgias_api_key="k")
    assert s.gorgias_domain == "acme"
    monkeypatch.setenv("GORGIAS_APIKEY", "x")
    with pytest.raises(SettingsError) as err:
        load_settings(_env_file=None)
    assert "GORGIAS_APIKEY: not a returnsbot setting (did you mean GORGIAS_API_KEY?)" in str(err.value)


def test_ping_names_the_refused_key():
    from bot.check import _try

    g, z = FakeGorgias(), FakeZendesk()
    bad_g = gorgias_conn(g, "https://x.gorgias.com", clock=lambda: g.now, key="wrong",
                         http=httpx.Client(transport=g.transport()))
    bad_z = zendesk_conn(z, "https://x.zendesk.com", clock=lambda: z.now, token="wrong",
                         http=httpx.Client(transport=z.transport()))
    line_g, line_z = _try("gorgias", bad_g.ping), _try("zendesk", bad_z.ping)
    assert line_g.failed and "HTTP 401" in line_g.text and "GORGIAS_API_KEY" in line_g.text and "wrong" not in line_g.text
    assert line_z.failed and "HTTP 401" in line_z.text and "ZENDESK_API_TOKEN" in line_z.text
    good = zendesk_conn(z, "https://x.zendesk.com", clock=lambda: z.now, http=httpx.Client(transport=z.transport()))
    assert _try("zendesk", good.ping).text == "reachable as bot@ridgeline.example (admin)"
    z.users[z.me]["role"] = "end-user"
    assert "not an agent" in _try("zendesk", good.ping).text


def test_a_backlog_is_worked_through_a_poll_at_a_time():
    fake = FakeGorgias()
    conn = gorgias_conn(fake, "https://ridgeline.gorgias.com", clock=lambda: fake.now,
                        http=httpx.Client(transport=fake.transport()))
    from integrations.helpdesk import TicketPoller
    from integrations.gorgias.connector import ours

    poller = TicketPoller(conn.helpdesk, clock=lambda: fake.now, ours=ours, overlap=1.0, max_per_poll=4)
    ids = []
    for n in range(10):
        ids.append(str(fake.add_ticket(f"T{n}", email=f"c{n}@example.com")))
        fake.advance(5)
    seen, cursor = [], None
    for _ in range(3):
        page = poller.fetch(cursor)
        seen += [e.resource_id for e in page.events]
        cursor = page.cursor
    assert seen == ids  # oldest first, four a poll, none twice, none lost
    assert poller.fetch(cursor).events == []


def test_a_rate_limit_part_way_keeps_what_was_read():
    fake = FakeGorgias()
    desk_conn = gorgias_conn(fake, "https://ridgeline.gorgias.com", clock=lambda: fake.now,
                             http=httpx.Client(transport=fake.transport()), max_wait=0.01)
    ids = []
    for n in range(3):
        ids.append(str(fake.add_ticket(f"T{n}", email=f"c{n}@example.com")))
        fake.advance(5)
    poll = desk_conn.pollers[0].fetch
    fake.fill_bucket(37.0)  # another replica used most of the bucket: the list and two reads fit
    page = poll(None)
    assert [e.resource_id for e in page.events] == ids[:2]
    fake.advance(20)
    assert [e.resource_id for e in poll(page.cursor).events] == ids[2:]
