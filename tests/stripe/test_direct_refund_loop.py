"""A Stripe-direct order (paid through Stripe, the payment only recorded in Shopify on a
manual gateway) through the running app: ShopifyStore over FakeShopify, the Stripe
connector over FakeStripe. Approving its return refunds once in Stripe — every POST
/v1/refunds FakeStripe received is counted, the one whose stored answer is a 500 included
— and Shopify records the refund once, against the manual gateway, moving no money. What
our refund causes, reported back by either system, opens no high-refund case; a refund
someone else makes does (the control that shows the check can fail)."""

from __future__ import annotations

import httpx
import pytest

from blocks.ids import ActionId
from integrations.shopify.client import ShopifyGraphQL
from integrations.shopify.source import ShopifyStore
from integrations.stripe.client import StripeAPI
from integrations.stripe.connector import connector_for
from policy.models import CaseKind, CaseStatus
from tests.fakes.shopify import FakeShopify
from tests.fakes.stripe import FakeStripe
from tests.loop.harness import POLICY, T1, card_text, loop, wait_for

pytestmark = pytest.mark.usefixtures("database_url")

# $120 is a high-value refund here: our own must not come back as a case, others' must.
DIRECT_POLICY = POLICY + "\n[risk]\nhigh_value_threshold = 100\n"
SECRET = b"x"  # the harness's SHOPIFY_API_SECRET


@pytest.fixture
def world():
    stripe = FakeStripe()
    shop = FakeShopify()
    customer = shop.add_customer(display_name="Ada Lovelace", email="ada@example.com")
    order = shop.add_order(customer_id=customer, line_items=[{"title": "Trail Runner", "price": "120.00"}])
    charge = stripe.add_charge(amount=12000, payment_intent="pi_direct_1", email="ada@example.com")
    shop.pay_outside(order, gateway="stripe", payment_id="pi_direct_1",
                     receipt={"id": charge["id"], "object": "charge", "amount": 12000})
    ret = shop.add_return(order, reason="DEFECTIVE")
    client = ShopifyGraphQL(shop.graphql_url(), shop.access_token, http=shop.http_client())
    with stripe.serve():
        yield stripe, shop, ShopifyStore(client, shop_domain=shop.shop_domain), order, ret, charge
    client.close()


def _stripe(fake: FakeStripe):
    def build(store, clock):
        api = StripeAPI(fake.api_key, base=fake.base_url, max_network_retries=0)
        return (connector_for(api, store=store, webhook_secret=fake.webhook_secret.encode(), clock=clock),)

    return build


def _shopify(lp, shop: FakeShopify, topic: str, gid: str) -> None:
    body, headers = shop.signed_webhook(topic, gid, SECRET)
    assert httpx.post(f"{lp.server.url}/webhooks/shopify", content=body, headers=headers, timeout=10).status_code == 200


def _stripe_event(lp, fake: FakeStripe, event: dict) -> None:
    body, headers = fake.signed(event)
    assert httpx.post(f"{lp.server.url}/webhooks/stripe", content=body, headers=headers, timeout=10).status_code == 200


def _mutations(shop: FakeShopify) -> list[str | None]:
    return [c.operation for c in shop.calls if c.query.lstrip().startswith("mutation")]


def test_approving_a_stripe_direct_return_refunds_once_in_stripe_and_records_it_in_shopify(database_url, world):
    stripe, shop, store, order, ret, charge = world
    with loop(database_url, store=store, policy=DIRECT_POLICY, connectors=_stripe(stripe)) as lp:
        _shopify(lp, shop, "returns/request", ret)
        case = wait_for(lambda: (k := lp.c.cases.find("shopify", ret, CaseKind.RETURN_REQUEST)) and k.slack_ts
                        and k.card_version == k.version and k, what="the card")
        assert (case.money_system, case.money_payment_id) == ("stripe", charge["id"])
        assert case.recommended_action == "refund" and case.required_tier == 0
        card = card_text(lp.last_card(case))
        assert "The money is held by Stripe" in card and charge["id"] in card

        # Stripe makes the refund, then answers 500: that answer is stored under the key.
        stripe.fail_next("/v1/refunds", 500, after_execute=True)
        assert lp.click(case, ActionId.CASE_APPROVE, T1).status_code == 200
        assert lp.click(case, ActionId.CASE_APPROVE, T1).status_code == 200  # a double click
        done = wait_for(lambda: (k := lp.c.cases.get(case.id)).status is CaseStatus.DONE and k,
                        timeout=30, what="the refund (after the stored 500's backoff)")
        done = lp.settle(done.id)

        posts = stripe.calls_to("POST", "/v1/refunds")
        assert len(posts) == 1, posts  # the 500's retry found our refund by its metadata
        key = f"returnsbot:shopify:case-{case.id}:refund_payment"
        assert posts[0].idempotency_key == key and posts[0].status == 500
        assert posts[0].params["charge"] == charge["id"] and posts[0].params["amount"] == "12000"
        assert posts[0].params["reason"] == "requested_by_customer"
        assert [r["amount"] for r in stripe.refunds_made] == [12000]
        assert stripe.charges[charge["id"]]["refunded"] is True

        # Shopify: approved, then processed once with the refund against the manual gateway.
        assert _mutations(shop) == ["ReturnApproveRequest", "ReturnProcess"]
        [refund] = shop.refunds_of_return(ret)
        assert charge["id"] in refund["note"] and "returnsbot" in refund["note"]
        assert shop.money_moved(order) == []  # a record only: no money went back through Shopify
        assert [r.operation for r in lp.c.outbox.for_case(case.id)] == [
            "approve_return", "refund_payment", "record_refund"]
        assert [j.system for j in lp.c.outbox.jobs.for_case(case.id, kind="action")] == ["shopify", "stripe", "shopify"]
        assert "refund" in card_text(lp.last_card(done)).lower()

        # What our refund caused, reported back: Shopify's refunds/create and Stripe's events.
        before = lp.c.cases.count()
        _shopify(lp, shop, "refunds/create", refund["id"])
        caused = [e for e in stripe.events if e["type"] in ("refund.created", "charge.refunded")]
        assert len(caused) == 2
        for event in caused:
            _stripe_event(lp, stripe, event)
        wait_for(lambda: sum(lp.c.receipts.counts().get(s, 0) for s in ("done", "ignored")) >= 4,
                 what="the reports processed")
        assert lp.c.cases.count() == before
        assert lp.c.cases.find("shopify", refund["id"], CaseKind.HIGH_VALUE_REFUND) is None

        # Control: a refund someone made in the Shopify admin is a high-refund case.
        theirs = shop.add_refund(order, amount="110.00", note="goodwill")
        _shopify(lp, shop, "refunds/create", theirs)
        wait_for(lambda: lp.c.cases.find("shopify", theirs, CaseKind.HIGH_VALUE_REFUND), what="their refund's case")
        assert len(stripe.calls_to("POST", "/v1/refunds")) == 1
        assert shop.invalid_documents == []


def test_our_refund_note_is_recognised_before_the_job_records_the_refund_id():
    """refunds/create can be processed before the job that made the refund has stored its
    id (the answer was lost and the job is retrying): the note our refunds carry says it."""
    from integrations.shopify.source import _refund_marker
    from integrations.shopify.webhooks import event_from_webhook

    body = {"id": 7, "admin_graphql_api_id": "gid://shopify/Refund/7", "order_id": 5,
            "created_at": "2026-12-01T10:00:00Z", "transactions": []}
    ours = f"Refunded in stripe payment ch_1 by returnsbot ({_refund_marker('returnsbot:shopify:case-4:record_refund')})"
    assert event_from_webhook("refunds/create", {**body, "note": ours}) is None
    for theirs in ("goodwill", "asked returnsbot: no", None):
        event = event_from_webhook("refunds/create", {**body, "note": theirs})
        assert event is not None and event.resource_id == "gid://shopify/Refund/7"
