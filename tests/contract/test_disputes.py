"""Disputes contract: get_dispute and order_disputes, open and closed."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from policy.models import DisputeStatus

from policy.ports import NotFound
from tests.contract.checks import at, is_money
from tests.contract.worlds import Line

pytestmark = pytest.mark.capability("disputes")


def an_order(world, name="#1001"):
    customer = world.add_customer(f"Customer {name}", email=f"c{name.lstrip('#')}@example.com",
                                  created_at=world.now - timedelta(days=400))
    return world.add_order(name=name, customer=customer, created_at=world.now - timedelta(days=40),
                           lines=[Line("Merino Sweater", "129.50"), Line("Wool Socks", "12.25", 2)])


def midnight(days: int, now: datetime) -> datetime:
    d = (now + timedelta(days=days)).date()
    return datetime(d.year, d.month, d.day, tzinfo=timezone.utc)


def test_a_dispute(world):
    order = an_order(world)
    initiated = world.now - timedelta(days=3, hours=2)
    due = midnight(11, world.now)
    did = world.add_dispute(order, status="NEEDS_RESPONSE", reason="FRAUDULENT", amount="154.00",
                            initiated_at=initiated, evidence_due_by=due)

    dispute = world.source.get_dispute(did)

    assert dispute.id == did and dispute.order_id == order.id
    assert dispute.status == "NEEDS_RESPONSE" and dispute.reason == "FRAUDULENT"
    assert is_money(dispute.amount, "154.00", world.currency)
    assert at(dispute.initiated_at, initiated)
    assert at(dispute.evidence_due_by, due)
    assert dispute.is_open


@pytest.mark.parametrize("status, ours, is_open", [
    ("NEEDS_RESPONSE", DisputeStatus.NEEDS_RESPONSE, True), ("UNDER_REVIEW", DisputeStatus.UNDER_REVIEW, True),
    ("WON", DisputeStatus.WON, False), ("LOST", DisputeStatus.LOST, False),
    ("ACCEPTED", DisputeStatus.ACCEPTED, False), ("CHARGE_REFUNDED", DisputeStatus.REFUNDED, False),
])
def test_open_and_closed_disputes(world, status, ours, is_open):
    """The vendor's status (here Shopify Payments' names) comes back in our terms."""
    did = world.add_dispute(an_order(world), status=status, reason="PRODUCT_NOT_RECEIVED", amount="12.25",
                            initiated_at=world.now - timedelta(days=30))
    dispute = world.source.get_dispute(did)
    assert dispute.status is ours
    assert dispute.is_open is is_open


def test_the_disputes_of_an_order(world):
    order = an_order(world)
    closed = world.add_dispute(order, status="WON", reason="UNRECOGNIZED", amount="24.50",
                               initiated_at=world.now - timedelta(days=35))
    open_ = world.add_dispute(order, status="NEEDS_RESPONSE", reason="FRAUDULENT", amount="129.50",
                              initiated_at=world.now - timedelta(days=2))
    elsewhere = world.add_dispute(an_order(world, "#1002"), status="NEEDS_RESPONSE", reason="FRAUDULENT",
                                  amount="154.00", initiated_at=world.now - timedelta(days=1))

    disputes = {d.id: d for d in world.source.order_disputes(order.id)}

    assert set(disputes) == {closed, open_}
    assert elsewhere not in disputes
    assert not disputes[closed].is_open and disputes[open_].is_open
    assert is_money(disputes[open_].amount, "129.50", world.currency)
    assert is_money(disputes[closed].amount, "24.50", world.currency)
    assert all(d.order_id == order.id for d in disputes.values())


def test_an_order_without_disputes_has_none(world):
    assert world.source.order_disputes(an_order(world).id) == []


@pytest.mark.parametrize("call, kind", [
    (lambda src, i: src.get_dispute(i), "dispute"),
    (lambda src, i: src.order_disputes(i), "order"),
], ids=["get_dispute", "order_disputes"])
def test_unknown_ids_are_not_found(world, call, kind):
    an_order(world)
    for bad in (world.unknown_id(kind), "not-an-id"):
        with pytest.raises(NotFound):
            call(world.source, bad)


# --- answering a dispute the store holds (Shopify Payments, the sample store) -------------

EVIDENCE = {"customer_name": "Ada Lovelace", "customer_email": "ada@example.com",
            "refund_policy": "Returns within 30 days.", "summary": "Delivered 2026-11-02, signed by ADA."}


def _open_dispute(world, *, due_in_days=5, status="NEEDS_RESPONSE"):
    return world.add_dispute(an_order(world), status=status, reason="FRAUDULENT", amount="154.00",
                             initiated_at=world.now - timedelta(days=2),
                             evidence_due_by=midnight(due_in_days, world.now))


def test_evidence_is_submitted_once_whatever_the_key(world):
    did = _open_dispute(world)
    first = world.actions.submit_dispute_evidence(did, evidence=EVIDENCE, idempotency_key="k-1")
    again = world.actions.submit_dispute_evidence(did, evidence=EVIDENCE, idempotency_key="k-1")
    other = world.actions.submit_dispute_evidence(did, evidence=EVIDENCE, idempotency_key="k-2")  # check before act
    assert first.ok and again.ok and other.ok
    assert world.effects()["dispute_evidence"] == 1
    assert world.source.get_dispute(did).status is DisputeStatus.UNDER_REVIEW


@pytest.mark.parametrize("status", ["WON", "LOST", "ACCEPTED"])
def test_a_closed_dispute_takes_no_evidence(world, status):
    from policy.ports import IntegrationError

    did = _open_dispute(world, status=status)
    with pytest.raises(IntegrationError) as refused:
        world.actions.submit_dispute_evidence(did, evidence=EVIDENCE, idempotency_key="k-1")
    assert refused.value.retryable is False and "nothing was sent" in str(refused.value)
    assert world.effects()["dispute_evidence"] == 0


def test_evidence_past_its_due_date_is_refused(world):
    from policy.ports import IntegrationError

    did = _open_dispute(world, due_in_days=-2)
    with pytest.raises(IntegrationError) as refused:
        world.actions.submit_dispute_evidence(did, evidence=EVIDENCE, idempotency_key="k-1")
    assert refused.value.retryable is False
    assert world.effects()["dispute_evidence"] == 0
    assert world.source.get_dispute(did).status is DisputeStatus.NEEDS_RESPONSE


def test_how_the_order_was_placed(world):
    facts = world.source.order_facts(an_order(world).id)
    assert facts.billing_matches_shipping in (True, False, None)
    assert facts.client_ip is None or facts.client_ip.count(".") == 3
