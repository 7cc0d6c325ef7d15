"""Priority and SLA: a ticket case's priority, reply due time and creation time on its row;
the App Home queue in priority order then age (other cases ranked as normal tickets, their
own order kept) with each ticket's SLA shown; the channel posts the urgent card first; a
rating that comes after our reply is recorded for the digest."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from blocks.home import render_home
from bot.container import Container
from bot.schema import audit_log, cases
from bot.settings import load_settings
from integrations.helpdesk import ticket_event
from integrations.sample.store import SampleStore
from integrations.sample.tickets import connector_for as sample_helpdesk
from policy.models import CaseKind, CaseStatus
from policy.priority import Level, rank_of
from policy.ticket_case import review_of
from tests.conftest import FrozenClock
from tests.digest.seed import add_case, local


@pytest.fixture
def app(database_url):
    clock = FrozenClock()
    store = SampleStore.load(now=clock())
    c = Container.build(load_settings(_env_file=None, database_url=database_url), clock=clock, store=store,
                        connectors=(sample_helpdesk(store),))
    yield c
    c.engine.dispose()


def _helpdesk(c):
    (connector,) = c.registry.helpdesks
    return connector.helpdesk


def _ingest(c, key: str):
    helpdesk = _helpdesk(c)
    return c.ingest.ingest(ticket_event(helpdesk.get_ticket(helpdesk.keys[key]))).case


def test_a_ticket_case_carries_its_priority_sla_and_creation_on_its_row(app):
    case = _ingest(app, "vip_complaint")
    ctx, _ = app.cases.snapshot(case)
    priority = review_of(ctx).priority
    assert case.priority_rank == rank_of(priority.level) and case.reply_due_at == priority.reply_due_at
    assert case.ticket_created_at == ctx.tickets[0].created_at < case.opened_at
    other = add_case(app.engine, kind="return_request", status="open", opened_at=local(11, 1))
    assert app.cases.get(other).priority_rank is None and app.cases.get(other).reply_due_at is None


def test_the_queue_orders_tickets_by_priority_then_age_and_keeps_other_cases_order(engine):
    from bot.store import CaseRepo

    def ticket(name, rank, created):
        n = add_case(engine, kind="ticket", status="open", opened_at=created + timedelta(hours=5), order_name=name,
                     recommended="accept", source="gorgias")
        with engine.begin() as conn:
            conn.execute(update(cases).where(cases.c.id == n).values(
                priority_rank=rank, ticket_created_at=created, reply_due_at=created + timedelta(hours=4)))

    add_case(engine, kind="return_request", status="open", opened_at=local(11, 2, 10), order_name="R-old")
    ticket("T-low-oldest", rank_of(Level.LOW), local(11, 1, 9))
    ticket("T-normal", rank_of(Level.NORMAL), local(11, 2, 12))
    ticket("T-urgent-new", rank_of(Level.URGENT), local(11, 4, 9))
    add_case(engine, kind="dispute", status="escalated", opened_at=local(11, 3, 10), order_name="D-mid")
    ticket("T-high", rank_of(Level.HIGH), local(11, 3, 12))
    ticket("T-urgent-old", rank_of(Level.URGENT), local(11, 3, 9))
    ticket("T-normal-old", rank_of(Level.NORMAL), local(11, 2, 8))  # wrote before R-old opened
    add_case(engine, kind="return_request", status="done", opened_at=local(11, 1, 1), order_name="R-done")
    order = [c.order_name for c in CaseRepo(engine).queue(statuses=(CaseStatus.OPEN, CaseStatus.ESCALATED))]
    assert order == ["T-urgent-old", "T-urgent-new", "T-high", "T-normal-old", "R-old", "T-normal", "D-mid",
                     "T-low-oldest"]


def test_app_home_shows_a_tickets_priority_and_sla_due_or_overdue(engine):
    from bot.store import CaseRepo

    now = local(11, 3, 12)
    for i, (name, rank, due) in enumerate((("T-late", 0, now - timedelta(hours=2)),
                                           ("T-soon", 1, now + timedelta(minutes=40)))):
        n = add_case(engine, kind="ticket", status="open", opened_at=now - timedelta(hours=3, minutes=i), order_name=name,
                     recommended="accept", source="gorgias")
        with engine.begin() as conn:
            conn.execute(update(cases).where(cases.c.id == n).values(priority_rank=rank, reply_due_at=due))
    add_case(engine, kind="return_request", status="open", opened_at=now - timedelta(hours=1), order_name="R-1")
    queue = CaseRepo(engine).queue(statuses=(CaseStatus.OPEN,))
    view = render_home([(c, None) for c in queue], len(queue), [], now)
    lines = [b["text"]["text"] for b in view["blocks"] if b["type"] == "section"]
    assert "*urgent* · :rotating_light: reply overdue by 2 hours" in lines[0] and "T-late" in lines[0]
    assert "*high* · reply due in 40 minutes" in lines[1] and "T-soon" in lines[1]
    assert "R-1" in lines[2] and "reply" not in lines[2] and "*normal*" not in lines[2]


def test_a_rating_after_our_reply_is_recorded_once_and_a_change_again(app):
    helpdesk = _helpdesk(app)
    case = _ingest(app, "delivery_stuck")
    ticket_id = helpdesk.keys["delivery_stuck"]
    helpdesk.add_internal_note(ticket_id, text="on it", idempotency_key="k1")  # ours last: the change is ignored
    helpdesk.customer_rates(ticket_id, 4)
    app.ingest.ingest(ticket_event(helpdesk.get_ticket(ticket_id)))
    app.ingest.ingest(ticket_event(helpdesk.get_ticket(ticket_id)))  # the poller reports it again
    assert app.cases.get(case.id).csat == 4 and app.cases.get(case.id).version == case.version
    app.clock.advance(hours=1)
    helpdesk.customer_rates(ticket_id, 2)
    app.ingest.ingest(ticket_event(helpdesk.get_ticket(ticket_id)))
    with app.engine.connect() as conn:
        rated = conn.execute(select(audit_log.c.detail, audit_log.c.at).where(
            audit_log.c.case_id == case.id, audit_log.c.event == "case.ticket_rated").order_by(audit_log.c.id)).all()
        csat_at = conn.execute(select(cases.c.csat_at).where(cases.c.id == case.id)).scalar_one()
    assert [r.detail for r in rated] == [{"csat": 4}, {"csat": 2}] and csat_at == rated[1].at == app.clock()
    with pytest.raises(ValueError):
        helpdesk.customer_rates(ticket_id, 6)


def test_the_urgent_ticket_card_posts_first(database_url):
    from tests.loop.harness import loop

    store = SampleStore.load(now=FrozenClock()())
    helpdesk_connector = sample_helpdesk(store)
    helpdesk = helpdesk_connector.helpdesk
    with loop(database_url, start=False, store=store, connectors=(helpdesk_connector,)) as lp:
        made = [lp.c.ingest.ingest(ticket_event(helpdesk.get_ticket(helpdesk.keys[k]))).case
                for k in ("return_de", "delivery_stuck", "vip_complaint")]
        ranks = {c.order_name: c.priority_rank for c in made}
        assert len(set(ranks.values())) > 1  # the sample's tickets differ in priority
        runner = lp.c.runners["cards"]
        while runner.run_once(limit=1):
            pass
        posted = [json.dumps(call.params) for call in lp.slack.calls_to("chat.postMessage")]
        names = [next(n for n in ranks if n in text) for text in posted]
        assert names == sorted(ranks, key=lambda n: (ranks[n], [c.order_name for c in made].index(n)))
        assert all(c.kind is CaseKind.TICKET for c in made)


def test_both_helpdesks_ratings_reach_the_ticket_through_their_adapters():
    import httpx

    from tests.fakes.gorgias import FakeGorgias
    from tests.fakes.zendesk import FakeZendesk
    from tests.helpdesk.helpers import gorgias, zendesk

    fg = FakeGorgias()
    g = gorgias(fg, "https://ridgeline.gorgias.com", http=httpx.Client(transport=fg.transport()))
    tid = fg.add_ticket("Return", email="a@example.com")
    assert g.get_ticket(str(tid)).csat is None
    fg.customer_rates(tid, 4)
    assert g.get_ticket(str(tid)).csat == 4
    fz = FakeZendesk()
    z = zendesk(fz, "https://ridgeline.zendesk.com", http=httpx.Client(transport=fz.transport()))
    good, bad = (fz.add_ticket("Q", email="b@example.com", satisfaction=s) for s in ("good", "bad"))
    assert (z.get_ticket(str(good)).csat, z.get_ticket(str(bad)).csat) == (5, 1)
