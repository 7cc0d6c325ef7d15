"""The digest counts Loop-owned exceptions and decisions beside Shopify's: per owner (the
system a case's decision is carried out in: its owner, else its source), in the exception
rate and the decisions lines — on SQLite and PostgreSQL. One owner: no split shown."""

from __future__ import annotations

import pytest

from blocks.digest import render_digest
from bot.services.digest import DigestService
from tests.conftest import FrozenClock
from tests.digest.seed import LAST_START, POLICY, THIS_END, THIS_START, add_case, add_order, local


def vendors():
    """What the registry tells the digest with Shopify and Loop connected."""
    return {"shopify": ("Shopify", None), "loop": ("Loop", None), "stripe": ("Stripe", None)}


@pytest.fixture
def service(engine):
    return DigestService(engine=engine, ops=None, policy=POLICY, clock=FrozenClock(local(11, 23, 9, 30)),
                         gateway=None, vendors=vendors())


def seed(engine) -> None:
    A = "U0AAAAAAA1"
    # This week: two Shopify returns (one decided by a person, one auto-approved), three Loop
    # returns (two decided by people; one a Shopify return handed over to Loop), a Stripe warning.
    add_case(engine, kind="return_request", status="done", opened_at=local(11, 16, 10), decided_at=local(11, 16, 11),
             decided_by=A, outcome="refund", followed=True)
    add_case(engine, kind="return_request", status="done", opened_at=local(11, 17, 10), decided_at=local(11, 17, 10),
             decided_by="returnsbot:auto-approve", outcome="refund", auto=True)
    add_case(engine, kind="return_request", status="done", source="loop", opened_at=local(11, 18, 10),
             decided_at=local(11, 18, 12), decided_by=A, outcome="refund", followed=True)
    add_case(engine, kind="return_request", status="denied", source="loop", opened_at=local(11, 19, 10),
             decided_at=local(11, 19, 12), decided_by=A, outcome="deny", followed=False)
    add_case(engine, kind="return_request", status="open", owner="loop", opened_at=local(11, 20, 10))
    add_case(engine, kind="early_fraud_warning", status="open", source="stripe", opened_at=local(11, 21, 10))
    # Last week: one Shopify return, one Loop return.
    add_case(engine, kind="return_request", status="open", opened_at=local(11, 10, 10))
    add_case(engine, kind="return_request", status="open", source="loop", opened_at=local(11, 11, 10))
    for i in range(10):
        add_order(engine, f"o{i}", local(11, 16, 12), "50.00")


def test_per_owner_counts_of_exceptions_and_decisions(engine, service):
    seed(engine)
    d = service.compute(THIS_START, THIS_END)
    t, p = d.this_week, d.last_week
    assert t.opened == 6 and t.opened_by_owner == (("Loop", 3), ("Shopify", 2), ("Stripe", 1))
    assert t.decisions == 3 and t.decisions_by_owner == (("Loop", 2), ("Shopify", 1))  # people only
    assert p.opened_by_owner == (("Loop", 1), ("Shopify", 1)) and p.decisions_by_owner == ()
    assert d.last_week.start == LAST_START

    text = "\n".join(f["text"] for b in render_digest(d)["blocks"] for f in b.get("fields") or [])
    assert "*Exception rate*\n60.0% of 10 orders\nby owner: Loop 3 · Shopify 2 · Stripe 1" in text
    assert "last week — of 0 (Loop 1 · Shopify 1)" in text
    assert "67% of 3 decisions followed the recommendation · 1 override\ndecisions by owner: Loop 2 · Shopify 1" in text


def test_one_owner_shows_no_split(engine, service):
    add_case(engine, kind="return_request", status="open", opened_at=local(11, 16, 10))
    d = service.compute(THIS_START, THIS_END)
    assert d.this_week.opened_by_owner == (("Shopify", 1),)
    text = "\n".join(f["text"] for b in render_digest(d)["blocks"] for f in b.get("fields") or [])
    assert "by owner" not in text
