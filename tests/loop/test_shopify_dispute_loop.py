"""A Shopify Payments dispute through the running app over FakeShopify: disputes/create →
a dispute card with the packet (the order's IP and addresses read from Shopify) → Submit
evidence, clicked twice → exactly one disputeEvidenceUpdate with submitEvidence, every
request counted → disputes/update (won) → the card says so. Accept the loss says what
Shopify's API can't do, and sends nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from blocks.ids import ActionId
from bot.clock import utcnow
from integrations.shopify.client import ShopifyGraphQL
from integrations.shopify.source import ShopifyStore
from policy.models import CaseKind, CaseStatus
from tests.fakes.shopify import FakeShopify
from tests.loop.harness import POLICY, T1, action_ids, card_text, loop, wait_for
from tests.loop.test_shopify_warehouse_loop import deliver

DISPUTE_POLICY = POLICY + '\n[disputes]\nrefund_policy = "Returns within 30 days, unworn."\n'
ADDRESS = {"name": "Ada Lovelace", "address1": "12 St James's Sq", "city": "London", "zip": "SW1Y 4JH",
           "countryCodeV2": "GB", "address2": None, "province": None}


@pytest.fixture
def shop():
    fake = FakeShopify()
    customer = fake.add_customer(display_name="Ada Lovelace")
    order = fake.add_order(customer_id=customer, line_items=[{"title": "Trail Runner", "price": "120.00"}])
    fake.set_order_facts(order, client_ip="203.0.113.9", address=ADDRESS)
    due = (utcnow() + timedelta(days=6)).date().isoformat()
    dispute = fake.add_dispute(order, reason="FRAUDULENT", evidence_due_by=due)
    client = ShopifyGraphQL(fake.graphql_url(), fake.access_token, http=fake.http_client())
    yield fake, ShopifyStore(client, shop_domain=fake.shop_domain), dispute
    client.close()


def evidence_updates(fake: FakeShopify) -> int:
    return len(fake.calls_to("DisputeEvidenceUpdate"))


def dispute_card(lp, fake, dispute):
    deliver(lp, fake, "disputes/create", dispute)
    return wait_for(lambda: (k := lp.c.cases.find("shopify", dispute, CaseKind.DISPUTE)) and k.slack_ts
                    and k.card_version == k.version and k, what="the dispute card")


def test_shopify_payments_evidence_is_submitted_once_and_the_card_follows(database_url, shop):
    fake, store, dispute = shop
    with loop(database_url, store=store, policy=DISPUTE_POLICY) as lp:
        case = dispute_card(lp, fake, dispute)
        card = card_text(lp.last_card(case))
        assert "Dispute: Fraudulent" in card and "held by Shopify" in card and "network code 4837" in card
        assert "203.0.113.9" in card and "(same as billing)" in card and "Returns within 30 days" in card
        assert ActionId.CASE_APPROVE in action_ids(lp.last_card(case))

        assert lp.click(case, ActionId.CASE_APPROVE, T1).status_code == 200
        assert lp.click(case, ActionId.CASE_APPROVE, T1).status_code == 200
        done = wait_for(lambda: (k := lp.c.cases.get(case.id)).status is CaseStatus.DONE and k, what="the submission")
        lp.settle(done.id)
        assert evidence_updates(fake) == 1
        [(_, sent)] = [m for m in fake.mutations if m[0] == "disputeEvidenceUpdate"]
        assert sent["submitEvidence"] is True and sent["refundPolicyDisclosure"] == "Returns within 30 days, unworn."
        assert sent["customerFirstName"] == "Ada" and "203.0.113.9" in sent["uncategorizedText"]
        assert fake.disputes[dispute]["status"] == "UNDER_REVIEW"

        fake.disputes[dispute]["status"] = "WON"
        deliver(lp, fake, "disputes/update", dispute)
        won = wait_for(lambda: (k := lp.c.cases.get(case.id)).external_status == "WON" and k.card_version == k.version
                       and k, what="won on the card")
        assert ":trophy: Won" in card_text(lp.last_card(won))
        assert evidence_updates(fake) == 1 and lp.c.cases.count() == 1


def test_accepting_a_shopify_payments_dispute_is_recorded_and_says_where(database_url, shop):
    fake, store, dispute = shop
    with loop(database_url, store=store, policy=DISPUTE_POLICY) as lp:
        case = dispute_card(lp, fake, dispute)
        assert "has no call to accept a dispute" in card_text(lp.last_card(case))
        assert lp.click(case, ActionId.DISPUTE_CONCEDE, T1).status_code == 200
        done = wait_for(lambda: (k := lp.c.cases.get(case.id)).status is CaseStatus.DONE and k, what="the decision")
        lp.settle(done.id)
        assert done.decided_action == "concede" and lp.c.outbox.for_case(case.id) == []
        assert [c for c in fake.calls if c.query.lstrip().startswith("mutation")] == []
        card = card_text(lp.last_card(done))
        assert "Loss accepted" in card and "nothing was sent to Shopify" in card
