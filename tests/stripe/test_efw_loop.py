"""The done-when loop through the running app: a signed radar.early_fraud_warning.created
→ one case (delivered twice: still one) → Approve on the card → exactly one refund POST at
FakeStripe, every request counted; a stale or forged delivery → 401, nothing stored."""

from __future__ import annotations

import httpx
import pytest

from integrations.stripe.client import StripeAPI
from integrations.stripe.connector import connector_for
from policy.models import CaseKind, CaseStatus
from tests.fakes.stripe import FakeStripe
from tests.loop.harness import POLICY, T1, action_ids, card_text, loop, wait_for

FRAUD_POLICY = POLICY + "\n[fraud]\nproactive_refund_below = 250\ndispute_fee = 15\n"

pytestmark = pytest.mark.usefixtures("database_url")


@pytest.fixture
def fake():
    fake = FakeStripe()
    with fake.serve():
        yield fake


def _stripe(fake: FakeStripe):
    def build(store, clock):
        api = StripeAPI(fake.api_key, base=fake.base_url, max_network_retries=0)
        return (connector_for(api, store=store, webhook_secret=fake.webhook_secret.encode(), clock=clock),)

    return build


def _warning(fake: FakeStripe, lp, order_name="#1001"):
    order = lp.store.find_orders(order_name)[0]
    charge = fake.add_charge(amount=order.total.to_minor(), currency=order.currency.lower(),
                             metadata={"order_name": order.name},
                             outcome={"type": "authorized", "risk_level": "elevated", "risk_score": 71,
                                      "seller_message": "Stripe evaluated this payment as having elevated risk."})
    return order, charge, fake.add_warning(charge["id"])


def _deliver(lp, fake, event, **sign):
    body, headers = fake.signed(event, **sign)
    return httpx.post(f"{lp.server.url}/webhooks/stripe", content=body, headers=headers, timeout=10)


def test_signed_warning_opens_one_case_and_approve_refunds_once(database_url, fake):
    with loop(database_url, connectors=_stripe(fake), policy=FRAUD_POLICY) as lp:
        order, charge, warning = _warning(fake, lp)
        event = fake.event("radar.early_fraud_warning.created", warning)
        first, again = _deliver(lp, fake, event), _deliver(lp, fake, event)
        assert first.status_code == 200 and first.json()["duplicate"] is False
        assert again.status_code == 200 and again.json()["duplicate"] is True

        case = wait_for(lambda: (c := lp.c.cases.find("stripe", warning["id"], CaseKind.EARLY_FRAUD_WARNING))
                        and c.slack_ts and c.card_version == c.version and c, what="the warning's card")
        assert case.order_id == order.id and case.amount == order.total
        assert case.recommended_action == "refund"
        card = card_text(lp.last_card(case))
        assert "stolen card" in card and "metadata order_name=#1001" in card
        assert "Radar" in card
        assert "case-approve" in action_ids(lp.last_card(case))

        # Delivered once more after the card (an update, still actionable): still one case.
        assert _deliver(lp, fake, fake.event("radar.early_fraud_warning.updated", warning)).status_code == 200
        wait_for(lambda: lp.c.receipts.counts().get("done", 0) == 2, what="the update processed")
        assert lp.c.cases.count() == 1

        # Approve, twice (a double click): one decision, one refund.
        assert lp.click(case, "case-approve", T1).status_code == 200
        assert lp.click(case, "case-approve", T1).status_code == 200
        done = wait_for(lambda: (c := lp.c.cases.get(case.id)).status is CaseStatus.DONE and c, what="the refund")
        lp.settle(done.id)
        posts = fake.calls_to("POST", "/v1/refunds")
        assert len(posts) == 1, posts
        assert posts[0].idempotency_key == f"returnsbot:stripe:case-{case.id}:refund_payment"
        assert posts[0].params["amount"] == str(order.total.to_minor()) and posts[0].params["reason"] == "fraudulent"
        assert len(fake.refunds_made) == 1 and fake.charges[charge["id"]]["refunded"] is True
        assert "refund" in card_text(lp.last_card(done)).lower()

        # What our refund caused comes back signed: no new case of any kind.
        before = lp.c.cases.count()
        caused = [e for e in fake.events if e["type"] in ("refund.created", "charge.refunded")]
        assert len(caused) == 2 and all(e["request"]["idempotency_key"] == posts[0].idempotency_key for e in caused)
        for ev in caused:
            assert _deliver(lp, fake, ev).status_code == 200
        wait_for(lambda: lp.c.receipts.counts().get("ignored", 0) >= 2, what="our refund's events, ignored")
        assert lp.c.cases.get(done.id).status is CaseStatus.DONE
        assert lp.c.cases.count() == before
        assert len(fake.calls_to("POST", "/v1/refunds")) == 1


def test_stale_or_forged_delivery_is_401_and_nothing_is_stored(database_url, fake):
    import time

    with loop(database_url, connectors=_stripe(fake)) as lp:
        _, _, warning = _warning(fake, lp)
        event = fake.event("radar.early_fraud_warning.created", warning)
        stale = _deliver(lp, fake, event, timestamp=int(time.time()) - 301)
        forged = _deliver(lp, fake, event, secret="whsec_not_the_secret")
        assert (stale.status_code, forged.status_code) == (401, 401)
        assert lp.c.receipts.record(source="stripe", delivery_id=event["id"], topic=event["type"], body="{}",
                                    at=lp.c.clock()) is True  # never stored before
        assert lp.c.cases.find("stripe", warning["id"], CaseKind.EARLY_FRAUD_WARNING) is None
        assert fake.calls == []  # nothing was read from Stripe either


def test_a_warning_that_stops_being_actionable_closes_its_case_with_the_reason(database_url, fake):
    with loop(database_url, connectors=_stripe(fake)) as lp:
        _, charge, warning = _warning(fake, lp)
        assert _deliver(lp, fake, fake.event("radar.early_fraud_warning.created", warning)).status_code == 200
        case = wait_for(lambda: (c := lp.c.cases.find("stripe", warning["id"], CaseKind.EARLY_FRAUD_WARNING))
                        and c.slack_ts and c.card_version == c.version and c, what="the warning's card")
        assert case.recommended_action == "escalate"  # $106 is not below the default $100 limit
        assert "dispute fee" in card_text(lp.last_card(case))
        fake.add_dispute(charge["id"])
        warning["actionable"] = False
        assert _deliver(lp, fake, fake.event("radar.early_fraud_warning.updated", warning)).status_code == 200
        closed = wait_for(lambda: (c := lp.c.cases.get(case.id)).status is CaseStatus.CLOSED
                          and c.card_version == c.version and c, what="the case closed")
        card = lp.last_card(closed)
        assert "no longer actionable: the payment is disputed" in card_text(card)
        assert action_ids(card) == []
        assert fake.calls_to("POST", "/v1/refunds") == []


def test_a_signed_but_malformed_event_is_400_at_the_door_and_nothing_is_stored(database_url, fake):
    with loop(database_url, connectors=_stripe(fake)) as lp:
        order, charge, warning = _warning(fake, lp)
        not_a_warning = fake.event("radar.early_fraud_warning.created", charge)  # data.object is the charge
        response = _deliver(lp, fake, not_a_warning)
        assert response.status_code == 400 and "not an early fraud warning" in response.json()["error"]
        assert lp.c.receipts.counts() == {} and fake.calls == []
