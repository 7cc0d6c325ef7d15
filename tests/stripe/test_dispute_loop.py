"""The dispute done-when through the running app: a signed charge.dispute.created → one
dispute case whose card carries the evidence packet and the due date → Submit evidence
(clicked twice; Stripe fails after executing once) → exactly one evidence submission at
FakeStripe, every request counted; Assign from the card; the dispute won → the card says so."""

from __future__ import annotations

import httpx
import pytest

from tests.fakes import slack_requests as sr
from tests.loop.harness import POLICY, SIGNING_SECRET, T1, T2A, action_ids, card_text, loop, wait_for
from tests.stripe.test_efw_loop import _deliver, _stripe, fake  # noqa: F401 - the FakeStripe fixture

from policy.models import CaseKind, CaseStatus

DISPUTE_POLICY = POLICY + '\n[disputes]\nrefund_policy = "Returns within 30 days, unworn."\n'

pytestmark = pytest.mark.usefixtures("database_url")


def _disputed(fake, lp, order_name="#1001", reason="fraudulent"):
    order = lp.store.find_orders(order_name)[0]
    charge = fake.add_charge(amount=order.total.to_minor(), currency=order.currency.lower(),
                             metadata={"order_name": order.name},
                             outcome={"type": "authorized", "risk_level": "normal", "seller_message": "ok"})
    charge["payment_method_details"] = {"type": "card", "card": {
        "checks": {"cvc_check": "pass", "address_postal_code_check": "pass", "address_line1_check": "pass"},
        "three_d_secure": None}}
    return order, charge, fake.add_dispute(charge["id"], reason=reason)


def _card(lp, dispute_id):
    return wait_for(lambda: (c := lp.c.cases.find("stripe", dispute_id, CaseKind.DISPUTE))
                    and c.slack_ts and c.card_version == c.version and c, what="the dispute's card")


def test_a_signed_dispute_gets_a_packet_card_and_its_evidence_reaches_stripe_once(database_url, fake):
    with loop(database_url, connectors=_stripe(fake), policy=DISPUTE_POLICY) as lp:
        order, charge, dispute = _disputed(fake, lp)
        event = fake.event("charge.dispute.created", dispute)
        assert _deliver(lp, fake, event).status_code == 200
        assert _deliver(lp, fake, event).json()["duplicate"] is True
        case = _card(lp, dispute["id"])
        assert lp.c.cases.count() == 1 and case.order_id == order.id and case.amount == order.total
        assert case.due_at is not None and case.recommended_action == "contest"
        card = card_text(lp.last_card(case))
        assert "Dispute: Fraudulent" in card and "network code 10.4" in card and "held by Stripe" in card
        assert "Evidence due" in card and ("in 6 d 23 h" in card or "in 7 d 0 h" in card)
        assert "Evidence packet" in card and "CVC check: pass" in card and "Returns within 30 days" in card
        assert "metadata order_name=#1001" in card  # how the payment was linked to the order
        ids = action_ids(lp.last_card(case))
        assert ids == ["case-approve", "dispute-concede", "case-escalate", "dispute-assign"]

        # Assign from the card's picker: the card names them, the version moves on.
        block_id = f"dispute-assignee:{lp.card_value(case)}"
        body, ctype = sr.users_select_action(block_id, "dispute-assign", T2A, user_id=T1,
                                             channel=case.slack_channel, message_ts=case.slack_ts)
        assert sr.post(lp.url, body, ctype, SIGNING_SECRET).status_code == 200
        case = wait_for(lambda: (c := lp.c.cases.get(case.id)).assignee == T2A and c.card_version == c.version and c,
                        what="the assignment")
        assert f"Assigned to <@{T2A}>" in card_text(lp.last_card(case))

        # Stripe executes the submission, then answers 500: the retry finds it, sends nothing more.
        fake.fail_next(f"/v1/disputes/{dispute['id']}", 500, method="POST", after_execute=True)
        assert lp.click(case, "case-approve", T1).status_code == 200
        assert lp.click(case, "case-approve", T1).status_code == 200  # a double click
        done = wait_for(lambda: (c := lp.c.cases.get(case.id)).status is CaseStatus.DONE and c, what="the submission")
        lp.settle(done.id)
        posts = fake.calls_to("POST", f"/v1/disputes/{dispute['id']}")
        assert len(posts) == 1, posts
        assert posts[0].idempotency_key == f"returnsbot:stripe:case-{case.id}:submit_dispute_evidence"
        assert posts[0].params["submit"] == "true"
        evidence = posts[0].params["evidence"]
        assert evidence["customer_purchase_ip"].startswith("198.51.100.")  # the sample store's order facts
        assert evidence["refund_policy_disclosure"] == "Returns within 30 days, unworn."
        assert "uncategorized_text" in evidence and "shipping_tracking_number" in evidence
        assert fake.disputes[dispute["id"]]["evidence_details"]["submission_count"] == 1
        assert fake.disputes[dispute["id"]]["status"] == "under_review"
        assert "not submitted twice" in card_text(lp.last_card(done))

        # The issuer decides for the shop: the card follows the dispute.
        fake.disputes[dispute["id"]]["status"] = "won"
        assert _deliver(lp, fake, fake.event("charge.dispute.closed", fake.disputes[dispute["id"]])).status_code == 200
        won = wait_for(lambda: (c := lp.c.cases.get(case.id)).external_status == "WON" and c.card_version == c.version
                       and c, what="the dispute won")
        assert ":trophy: Won" in card_text(lp.last_card(won))
        assert len(fake.calls_to("POST", f"/v1/disputes/{dispute['id']}")) == 1
        assert lp.c.cases.count() == 1


def test_accept_the_loss_closes_it_in_stripe_once(database_url, fake):
    with loop(database_url, connectors=_stripe(fake), policy=DISPUTE_POLICY) as lp:
        _, _, dispute = _disputed(fake, lp, reason="product_not_received")
        assert _deliver(lp, fake, fake.event("charge.dispute.created", dispute)).status_code == 200
        case = _card(lp, dispute["id"])
        assert lp.click(case, "dispute-concede", T1).status_code == 200
        assert lp.click(case, "dispute-concede", T1).status_code == 200
        done = wait_for(lambda: (c := lp.c.cases.get(case.id)).status is CaseStatus.DONE and c, what="the close")
        lp.settle(done.id)
        assert len(fake.calls_to("POST", f"/v1/disputes/{dispute['id']}/close")) == 1
        assert fake.disputes[dispute["id"]]["status"] == "lost"
        assert fake.calls_to("POST", f"/v1/disputes/{dispute['id']}") == []
        assert done.decided_action == "concede"


def test_a_dispute_answered_in_the_stripe_dashboard_closes_its_case(database_url, fake):
    with loop(database_url, connectors=_stripe(fake), policy=DISPUTE_POLICY) as lp:
        _, _, dispute = _disputed(fake, lp)
        assert _deliver(lp, fake, fake.event("charge.dispute.created", dispute)).status_code == 200
        case = _card(lp, dispute["id"])
        dispute = fake.disputes[dispute["id"]]
        dispute["status"], dispute["evidence_details"]["submission_count"] = "under_review", 1
        assert _deliver(lp, fake, fake.event("charge.dispute.updated", dispute)).status_code == 200
        closed = wait_for(lambda: (c := lp.c.cases.get(case.id)).status is CaseStatus.CLOSED
                          and c.card_version == c.version and c, what="the case closed")
        assert action_ids(lp.last_card(closed)) == []
        assert "answered in Stripe outside returnsbot (under review)" in card_text(lp.last_card(closed))
        assert fake.calls_to("POST", f"/v1/disputes/{dispute['id']}") == []


def test_a_malformed_dispute_event_is_400_and_nothing_is_stored(database_url, fake):
    with loop(database_url, connectors=_stripe(fake)) as lp:
        _, charge, _ = _disputed(fake, lp)
        response = _deliver(lp, fake, fake.event("charge.dispute.created", charge))  # the charge, not the dispute
        assert response.status_code == 400 and "not a dispute" in response.json()["error"]
        assert lp.c.receipts.counts() == {}
