"""`returnsbot demo`'s queue: most urgent first, each case with its age."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest

from bot.db import upgrade
from bot.demo import COLUMNS, age, demo_container, run_demo
from bot.settings import Settings
from policy.config import Policy
from tests.sample.helpers import NOW

ENV = ("DATABASE_URL", "SHOPIFY_SHOP", "SHOPIFY_ACCESS_TOKEN", "SHOPIFY_API_SECRET", "RETURNSBOT_POLICY",
       "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN")


@pytest.fixture(scope="module")
def queue(tmp_path_factory) -> list[dict[str, str]]:
    """The demo's queue, run once for the module (the tests only read it)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        for key in ENV:
            monkeypatch.delenv(key, raising=False)
        url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}"
        upgrade(url)
        c, clock = demo_container(Settings(_env_file=None, database_url=url), Policy.default(), now=NOW)
        out = StringIO()
        run_demo(c, out, clock=clock)
        c.engine.dispose()
    lines = out.getvalue().splitlines()
    header = lines[0].split()
    assert header == [name for name, _ in COLUMNS]
    starts = [lines[0].index(name) for name in header]
    rows = []
    for line in lines[2:]:
        if not line.strip():
            break
        cells = [line[a:b].strip() for a, b in zip(starts, starts[1:] + [None])]
        if cells[0]:  # a wrapped cell's continuation line has no case number
            rows.append(dict(zip(header, cells)))
        elif rows:  # …and continues the cells of the row above
            for name, cell in zip(header, cells):
                if cell:
                    rows[-1][name] += f" {cell}"
    return rows


def _tier(cell: str) -> int:
    return int(cell.split()[0].lstrip("T"))


def _risk(cell: str) -> int:
    return int(cell.rsplit("risk ", 1)[1].rstrip(")"))


def _hours(cell: str) -> float:
    n, unit = cell.split()
    return float(n) * {"min": 1 / 60, "h": 1, "d": 24}[unit]


def test_the_queue_is_sorted_by_urgency(queue):
    # 21 from the store's events, 2 delayed shipments from its parcels, 1 fraud warning, 7 sample Loop returns,
    # 4 sample helpdesk tickets about an order (5 once a ticket about no order opens a case too)
    assert len(queue) in (35, 36)
    waiting = [r for r in queue if r["status"] in ("open", "escalated", "failed")]
    # Everything waiting for a person comes before anything that is not.
    assert queue[: len(waiting)] == waiting
    assert all(r["status"].startswith("auto") for r in queue[len(waiting):])
    keys = [(-_tier(r["tier"]), -_risk(r["recommendation"]), -_hours(r["age"])) for r in waiting]
    assert keys == sorted(keys)
    assert queue[0]["order"] == "#1051"  # the only case that needs the top tier
    assert len({r["tier"] for r in waiting}) == 3


def test_the_demo_shows_the_loop_returns_with_their_owner(queue):
    """The sample Loop's returns: one in review for each rule, an exchange request and a flagged
    one (integrations/sample/loop.py), each marked with Loop as the owner and its Loop state."""
    loop = {r["order"]: r for r in queue if r["owner"].startswith("loop")}
    assert sorted(loop) == ["#1020", "#1022", "#1032", "#1033", "#1038", "#1045", "#1050"]
    assert all(r["kind"] == "return request" and r["status"] == "open" for r in loop.values())
    owners = {o: r["owner"] for o, r in loop.items()}
    assert owners == {"#1022": "loop review", "#1045": "loop review", "#1032": "loop review", "#1020": "loop review",
                      "#1050": "loop review", "#1033": "loop open", "#1038": "loop flagged"}
    rules = {o: set(r["signals"].split(", ")) for o, r in loop.items()}
    assert "outside window" in rules["#1022"]
    assert "final sale" in rules["#1045"]
    assert "serial returner" in rules["#1032"]
    assert "high value" in rules["#1020"]
    assert "high payment risk" in rules["#1050"]
    # Every other case is the store's (or the payment processor's) to carry out.
    assert {r["owner"] for r in queue if r["order"] not in loop or not r["owner"].startswith("loop")} <= {
        "shopify", "stripe", "sample", "sample_helpdesk"}


def test_the_demo_shows_the_delayed_shipments(queue):
    delayed = sorted(r["order"] for r in queue if r["kind"] == "delayed shipment")
    assert delayed == ["#1044", "#1047"]  # one late parcel, one stuck in a carrier exception


def test_each_case_shows_its_age(queue):
    by_order = {(r["order"], r["kind"]): r for r in queue}
    assert by_order[("#1034", "return request")]["age"] == "2 d"  # requested 2.7 days before the demo ran
    assert by_order[("#1029", "return request")]["age"] == "7 h"  # 0.3 days
    assert all(r["age"] for r in queue)


@pytest.mark.parametrize(("delta", "text"), [
    (timedelta(seconds=20), "0 min"),
    (timedelta(minutes=59), "59 min"),
    (timedelta(hours=3, minutes=59), "3 h"),
    (timedelta(hours=23, minutes=59), "23 h"),
    (timedelta(days=2, hours=23), "2 d"),
    (timedelta(days=400), "400 d"),
    (-timedelta(minutes=5), "0 min"),  # a clock a little behind the store's: never negative
])
def test_age_is_short(delta, text):
    assert age(NOW - delta, NOW) == text


def test_the_demo_shows_the_sample_stores_moments(tmp_path, monkeypatch):
    """The sample store's [[moments]] (integrations/sample/moments.py): Noah Williams's first
    order is a big one (and makes him a VIP), Ava Thompson's #1049 carries her past $1,000;
    each tagged once in the store, each with its follow-up."""
    for key in ENV:
        monkeypatch.delenv(key, raising=False)
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    upgrade(url)
    c, clock = demo_container(Settings(_env_file=None, database_url=url), Policy.default(), now=NOW)
    out = StringIO()
    run_demo(c, out, clock=clock)
    text = out.getvalue()
    assert "High-value and VIP moments (3;" in text
    assert "Big first order: Noah Williams #1051 — First order, $1,337.00 (at least $1,000.00)" in text
    assert "New VIP: Ava Thompson #1049 — Became a VIP: lifetime spend reached $1,010.00" in text
    assert "tags on the order: #1051 tagged vip-order" in text
    assert "follow-up for anyone in C0VIPDEMO1: Send the VIP welcome kit (due in 3 d 0 h)" in text
    tagged = [call for call in c.store.calls if call.method == "add_tags" and not call.replayed]
    assert len(tagged) == 4  # Noah twice (two moments), his order, Ava
    assert "lifetime-1000" in c.store.get_customer(c.store.find_orders("#1049")[0].customer_id).tags
    run_demo(c, StringIO(), clock=clock)  # the same events again: no second moment, no second tag
    assert [call for call in c.store.calls if call.method == "add_tags" and not call.replayed] == tagged
    c.engine.dispose()
