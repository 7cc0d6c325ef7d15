"""The connector registry is the only place a system is wired in: its routes are served,
its pollers polled, its actions dispatched on (system, operation), and what it adds to a
case arrives in parallel, with a slow or failing system named on the card."""

from __future__ import annotations

import threading
import time

import httpx

from blocks.card import render_case_card
from integrations.connector import Capability, Connector, PollSpec, WebhookRoute
from policy.models import EventKind
from policy.ports import ActionResult, PollPage
from tests.bot.app_harness import container_for, running


def _extra(name: str, *, contribute=None, timeout: float = 5.0, **kw) -> Connector:
    return Connector(name=name, label=name.title(), capabilities=frozenset({Capability.PAYMENTS}),
                     handles=frozenset({name}), contribute=contribute, contribute_timeout=timeout, **kw)


def _return_event(c):
    return next(e for e in c.store.events() if e.kind is EventKind.RETURN_REQUESTED)


def test_a_system_that_does_not_answer_is_named_on_the_card_and_the_rest_renders(database_url, clock):
    release = threading.Event()

    def slow(ctx):
        release.wait(5)
        return ctx

    def broken(ctx):
        raise ConnectionError("refused")

    def fine(ctx):
        return ctx

    c = container_for(database_url, clock, connectors=(_extra("stripe", contribute=slow, timeout=0.2),
                                                      _extra("shipstation", contribute=broken),
                                                      _extra("gorgias", contribute=fine)))
    started = time.monotonic()
    case = c.ingest.ingest(_return_event(c)).case
    release.set()
    assert time.monotonic() - started < 3  # waited for the slow one only as long as its timeout
    ctx, _ = c.cases.snapshot(case)
    assert ctx.unavailable == ("Stripe", "Shipstation")
    card = render_case_card(c.views.build(case))
    text = str(card["blocks"])
    assert "Stripe, Shipstation didn't answer when this case was put together" in text
    assert "Return request" in text and case.order_name in text  # the store's context is all there


def test_actions_dispatch_on_the_system_and_operation_the_job_names(database_url, clock):
    calls = []

    def refund(payload, key):
        calls.append((payload["charge"], key))
        return ActionResult(True, "refunded ch_1")

    c = container_for(database_url, clock, connectors=(_extra("stripe", actions={"refund_charge": refund}),))
    from bot.store.jobs import NewJob

    ok = c.jobs.enqueue(NewJob(kind="action", system="stripe", operation="refund_charge",
                               payload={"charge": "ch_1"}, idempotency_key="k1"), now=clock())
    nowhere = c.jobs.enqueue(NewJob(kind="action", system="loop", operation="process",
                                    payload={}, idempotency_key="k2"), now=clock())
    c.drain("actions")
    assert calls == [("ch_1", "k1")]
    assert c.jobs.get(ok).result_summary == "refunded ch_1"
    dead = c.jobs.get(nowhere)
    assert dead.status == "dead" and "no connector handles 'loop'" in dead.dead_reason


def test_a_connectors_webhook_route_and_poller_are_served_without_touching_the_core(database_url, clock):
    seen = []
    route = WebhookRoute(path="/webhooks/acme", source="acme", verify=lambda body, h: h.get("X-Acme") == "ok",
                         topic=lambda h: "thing/created", delivery_id=lambda h: h.get("X-Id"),
                         validate=lambda topic, payload: None, decode=lambda topic, payload: None,
                         observe=lambda h: seen.append(h.get("X-Id")))
    polled = []
    poller = PollSpec("acme.things", lambda cursor: polled.append(cursor) or PollPage(events=[], cursor="c1"))
    c = container_for(database_url, clock, connectors=(_extra("acme", webhooks=(route,), pollers=(poller,)),))
    with running(c) as server:
        refused = httpx.post(f"{server.url}/webhooks/acme", content=b"{}", headers={"X-Acme": "no"})
        accepted = httpx.post(f"{server.url}/webhooks/acme", content=b"{}", headers={"X-Acme": "ok", "X-Id": "d1"})
    assert (refused.status_code, accepted.status_code) == (401, 200)
    assert seen == ["d1"]
    [acme] = [p for p in c.pollers if p.name == "acme.things"]
    acme.run_once()
    assert polled == [None] and c.ops.cursor("acme.things") == "c1"
