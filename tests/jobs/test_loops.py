"""Bad input in each background loop: it is retried a bounded number of times or parked,
recorded in health, and never stops the work behind it."""

from __future__ import annotations

import json

from bot.jobs.runner import RetryPolicy
from bot.store.jobs import JobStatus
from policy.models import CaseKind, EventKind
from policy.ports import IntegrationError, PollPage, Unmapped
from tests.bot.app_harness import container_for
from tests.loop.harness import loop


def _deliver(c, delivery: str, payload: dict, topic: str = "returns/request") -> None:
    assert c.inbox.receive(source="shopify", delivery_id=delivery, topic=topic, body=json.dumps(payload).encode())


def _return_payload(c) -> tuple[dict, str]:
    event = next(e for e in c.store.events() if e.kind is EventKind.RETURN_REQUESTED)
    rid = int(event.resource_id.rsplit("/", 1)[1])
    oid = int(event.order_id.rsplit("/", 1)[1])
    return ({"id": rid, "admin_graphql_api_id": event.resource_id,
             "order": {"id": oid, "admin_graphql_api_id": event.order_id}}, event.resource_id)


def test_a_delivery_that_crashes_ingest_is_tried_a_few_times_then_parked_and_the_next_one_runs(database_url, clock):
    c = container_for(database_url, clock)
    good, rid = _return_payload(c)
    real = c.ingest.ingest
    tries = []

    def ingest(event):
        if event.resource_id == "gid://shopify/Return/999999":
            tries.append(1)
            raise ZeroDivisionError("a bug")
        return real(event)

    c.ingest.ingest = ingest
    _deliver(c, "poison", {"id": 999999, "admin_graphql_api_id": "gid://shopify/Return/999999",
                           "order": {"id": 1, "admin_graphql_api_id": "gid://shopify/Order/1"}})
    _deliver(c, "good", good)
    for _ in range(10):
        c.drain("intake")
        clock.advance(hours=1)
    assert len(tries) == RetryPolicy().unexpected_attempts
    assert c.cases.find("shopify", rid, CaseKind.RETURN_REQUEST) is not None
    assert c.receipts.counts() == {"failed": 1, "done": 1}
    [dead] = c.jobs.list(statuses=[JobStatus.DEAD])
    assert dead.kind == "inbox" and "ZeroDivisionError: a bug" in dead.dead_reason
    assert not next(h for h in c.ops.health() if h.system == "shopify").ok


def test_a_delivery_its_decoder_cannot_read_is_dead_at_once(database_url, clock):
    c = container_for(database_url, clock)
    _deliver(c, "odd", {"admin_graphql_api_id": 12})  # passed the door's checks, not the decoder's
    c.drain("intake")
    [job] = c.jobs.list(kind="inbox")
    assert job.status == "dead" and job.attempts == 1 and "cannot decode" in job.dead_reason


def test_a_shopify_incident_delays_webhook_processing_for_hours_not_minutes(database_url, clock):
    """≈7.5 min of inbox retries turned a 20-minute Shopify incident into failed deliveries."""
    c = container_for(database_url, clock)
    good, rid = _return_payload(c)
    real = c.ingest.ingest
    start = clock()

    def ingest(event):
        if (clock() - start).total_seconds() < 20 * 60:
            raise IntegrationError("Shopify: HTTP 503", retryable=True)
        return real(event)

    c.ingest.ingest = ingest
    _deliver(c, "during-incident", good)
    while c.cases.find("shopify", rid, CaseKind.RETURN_REQUEST) is None:
        c.drain("intake")
        [job] = c.jobs.list(kind="inbox")
        assert job.status != "dead"
        clock.now = max(clock(), job.next_attempt_at)
    assert (clock() - start).total_seconds() < 35 * 60
    assert c.receipts.counts() == {"done": 1}


def test_a_poller_parks_what_it_cannot_map_and_moves_its_cursor(database_url, clock):
    c = container_for(database_url, clock)
    good, flaky = [e for e in c.store.events() if e.kind is EventKind.RETURN_REQUESTED][:2]
    real = c.ingest.ingest

    def ingest(event):
        if event.resource_id == flaky.resource_id:
            raise IntegrationError("Shopify: HTTP 502", retryable=True)
        return real(event)

    c.ingest.ingest = ingest
    poller = next(p for p in c.pollers if p.name.endswith(".returns"))
    poller.fetch = lambda cursor: PollPage(events=[good, flaky], cursor="2026-11-02T14:00:00+00:00",
                                           unmapped=[Unmapped("gid://shopify/Return/7", "KeyError: 'order'")])
    report = poller.run_once()
    assert (report.seen, report.created, report.queued, report.parked) == (2, 1, 1, 1)
    assert c.ops.cursor(poller.name) == "2026-11-02T14:00:00+00:00"
    parked = [j for j in c.jobs.list(statuses=[JobStatus.DEAD]) if j.operation == "unmapped"]
    assert len(parked) == 1 and "gid://shopify/Return/7" in parked[0].dead_reason
    c.ingest.ingest = real  # Shopify is back: the queued event becomes its case
    c.drain("intake")
    assert c.cases.find(flaky.source, flaky.resource_id, CaseKind.RETURN_REQUEST) is not None
    # polling the same page again adds nothing twice
    poller.run_once()
    assert len([j for j in c.jobs.list(statuses=[JobStatus.DEAD]) if j.operation == "unmapped"]) == 1


def test_an_unexpected_poller_error_is_recorded_and_the_other_pollers_still_run(database_url, clock):
    c = container_for(database_url, clock)
    first, second, *_ = c.pollers

    def broken(cursor):
        raise RuntimeError("a bug in the mapping")

    first.fetch = broken
    reports = [p.run_once() for p in c.pollers]
    assert "RuntimeError: a bug in the mapping" in reports[0].error
    assert reports[1].error is None and reports[1].seen > 0
    health = {h.system: h for h in c.ops.health()}
    assert not health[first.name].ok and health[second.name].ok


def test_a_card_render_bug_is_tried_a_few_times_then_parked_and_other_cards_go_out(database_url, clock):
    with loop(database_url, clock, start=False) as lp:
        events = [e for e in lp.store.events() if e.kind is EventKind.RETURN_REQUESTED][:2]
        broken, fine = (lp.c.ingest.ingest(e).case for e in events)
        build = lp.c.views.build
        renders = []

        def render(case, **kw):
            if case.id == broken.id:
                renders.append(1)
                raise AttributeError("'NoneType' object has no attribute 'name'")
            return build(case, **kw)

        lp.c.views.build = render
        for _ in range(10):
            lp.c.drain("cards")
            clock.advance(hours=1)
        assert len(renders) == RetryPolicy().unexpected_attempts
        assert lp.c.cases.get(fine.id).slack_ts is not None
        assert lp.c.cases.get(broken.id).slack_ts is None
        [dead] = lp.c.jobs.list(statuses=[JobStatus.DEAD])
        assert dead.kind == "card" and dead.case_id == broken.id
        # fixed (a new release): the next change to the case posts its card
        lp.c.views.build = build
        lp.c.cases.queue_card(broken.id, at=clock(), force=True)
        lp.c.drain("cards")
        assert lp.c.cases.get(broken.id).slack_ts is not None
        assert len(lp.slack.calls_to("chat.postMessage")) == 2


def test_the_escalation_card_is_posted_once_when_its_permalink_fails(database_url, clock):
    """Its ts was saved only after chat.getPermalink succeeded, so a failure there posted
    the escalation card again on the retry."""
    from tests.loop.harness import ESCALATION, T1

    with loop(database_url, clock, start=False) as lp:
        event = next(e for e in lp.store.events() if e.kind is EventKind.RETURN_REQUESTED)
        case = lp.c.ingest.ingest(event).case
        lp.c.drain("cards")
        case = lp.c.cases.get(case.id)
        lp.c.decide.escalate(case.id, T1, "over my limit", version=case.version)
        lp.slack.fail_next("chat.getPermalink", status=500, times=50)
        lp.c.drain("cards")  # the escalation card goes out, its permalink fails: retried later
        assert lp.c.cases.get(case.id).escalation_ts is not None
        lp.slack.clear_failures("chat.getPermalink")  # Slack is back
        for _ in range(5):
            clock.advance(minutes=10)
            lp.c.drain("cards")
        posts = [c for c in lp.slack.calls_to("chat.postMessage") if c.params.get("channel") == ESCALATION]
        assert len(posts) == 1
        done = lp.c.cases.get(case.id)
        assert done.escalation_url and done.card_version == done.version


def test_a_poll_logs_at_info_without_tripping_over_a_reserved_log_field(database_url, clock, caplog):
    """`extra={"created": …}` is a LogRecord attribute: logging raised KeyError at INFO."""
    import logging

    caplog.set_level(logging.INFO)
    c = container_for(database_url, clock)
    reports = [p.run_once() for p in c.pollers]
    assert all(r.error is None for r in reports)
    assert any(r.getMessage() == "poller.ran" for r in caplog.records)
