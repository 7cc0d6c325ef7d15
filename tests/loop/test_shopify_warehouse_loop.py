"""Issue 9 with Shopify as the store: the running app (waitress + Bolt + workers, a real
database) talks to FakeShopify through ShopifyStore, and FakeShopify plays the warehouse —
it attaches the label and disposes the items, and its webhooks are signed and delivered over
HTTP, twice and out of order, naming no return (looked up by GraphQL when decoded).
Every GraphQL mutation the fake received is counted, whatever its outcome."""

from __future__ import annotations

import httpx
import pytest

from blocks.ids import ActionId, BlockId, CallbackId
from blocks.stages import STAGE_LABELS, shop_time
from integrations.shopify.client import ShopifyGraphQL
from integrations.shopify.source import ShopifyStore
from policy.lifecycle import ReturnStage
from policy.models import CaseKind, CaseStatus, Money
from tests.fakes.shopify import FakeShopify
from tests.loop.harness import POLICY, T1, card_text, loop, wait_for

RECEIPT_POLICY = POLICY + '\n[returns]\nrefund_on = "receipt"\n'
SECRET = b"x"  # the harness's SHOPIFY_API_SECRET


@pytest.fixture
def shop():
    fake = FakeShopify()
    customer = fake.add_customer(display_name="Ada Lovelace")
    order = fake.add_order(customer_id=customer, line_items=[{"title": "Trail Runner", "price": "120.00"},
                                                             {"title": "Wool Socks", "price": "9.50"}])
    ret = fake.add_return(order, reason="DEFECTIVE")
    client = ShopifyGraphQL(fake.graphql_url(), fake.access_token, http=fake.http_client())
    yield fake, ShopifyStore(client, shop_domain=fake.shop_domain), ret
    client.close()


def deliver(lp, fake: FakeShopify, topic: str, gid: str = "", *, payload: dict | None = None,
            webhook_id: str | None = None, event_id: str | None = None) -> dict:
    body, headers = fake.signed_webhook(topic, gid, SECRET, payload=payload, webhook_id=webhook_id, event_id=event_id)
    response = httpx.post(f"{lp.server.url}/webhooks/shopify", content=body, headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    return headers


def mutations_received(fake: FakeShopify) -> list[str | None]:
    """Every mutation request, whatever came of it (refused, failed, replayed)."""
    return [c.operation for c in fake.calls if c.query.lstrip().startswith("mutation")]


def applied(fake: FakeShopify, name: str) -> list[dict]:
    return [i for m, i in fake.mutations if m == name]


def approved_case(lp, fake: FakeShopify, ret: str):
    deliver(lp, fake, "returns/request", ret)
    case = wait_for(lambda: (k := lp.c.cases.find("shopify", ret, CaseKind.RETURN_REQUEST)) and k.slack_ts
                    and k.card_version == k.version and k, what="the card")
    assert not case.auto_approved and case.required_tier == 0  # $129.50: a tier-1 approver's click
    assert lp.click(case, ActionId.CASE_APPROVE, T1).status_code == 200
    wait_for(lambda: lp.c.cases.get(case.id).status is CaseStatus.DONE, what="the approval")
    lp.settle(case.id)
    assert [d["decided_by"] for d in lp.c.cases.decisions(case.id)] == [T1]
    assert fake.return_status(ret) == "OPEN"
    assert mutations_received(fake) == ["ReturnApproveRequest"]  # approval only approves
    return lp.c.cases.get(case.id)


def processes_wait(lp, fake: FakeShopify, n: int = 1) -> None:
    wait_for(lambda: len(applied(fake, "returnProcess")) >= n, what="the refund at Shopify")


def test_restocked_in_the_warehouse_refunds_once_with_no_second_click(database_url, shop):
    fake, store, ret = shop
    here = fake.location["id"]
    with loop(database_url, store=store, policy=RECEIPT_POLICY) as lp:
        case = approved_case(lp, fake, ret)

        label = fake.attach_label(ret, carrier="UPS", number="1Z999AA1", url="https://ups.example/1Z999AA1")
        disposed = fake.dispose(ret, [(0, 1, "RESTOCKED", here), (1, 1, "RESTOCKED", here)], names_return=False)
        first = deliver(lp, fake, "reverse_fulfillment_orders/dispose", payload=disposed)
        deliver(lp, fake, "reverse_fulfillment_orders/dispose", payload=disposed,  # Shopify's retry
                webhook_id=first["X-Shopify-Webhook-Id"], event_id=first["X-Shopify-Event-Id"])
        deliver(lp, fake, "reverse_fulfillment_orders/dispose", payload=disposed)  # a new delivery id
        deliver(lp, fake, "reverse_deliveries/attach_deliverable", payload=label)  # the label, late
        processes_wait(lp, fake)
        done = wait_for(lambda: (k := lp.c.cases.get(case.id)).status is CaseStatus.DONE
                        and len(lp.c.outbox.for_case(case.id)) >= 2 and k, what="the refund carried out")
        lp.settle(case.id)

        deliver(lp, fake, "returns/process", ret)  # Shopify reports our own process back
        wait_for(lambda: any(u.stage is ReturnStage.PROCESSED for u in lp.c.stages.history(case.id)),
                 what="the processed stage")
        done = lp.settle(case.id)

        assert mutations_received(fake) == ["ReturnApproveRequest", "ReturnProcess"]
        [process] = applied(fake, "returnProcess")
        assert process["financialTransfer"]["issueRefund"]["orderTransactions"][0]["transactionAmount"] == {
            "amount": "129.50", "currencyCode": "USD"}
        assert all("dispositions" not in li for li in process["returnLineItems"])  # the warehouse disposed them
        assert [d["quantity"] for rfo in fake.returns[ret]["_rfos"] for i in rfo["_lines"] for d in i["dispositions"]
                ] == [1, 1]
        assert len(fake.refunds_of_return(ret)) == 1
        assert done.status is CaseStatus.DONE and done.stage in (ReturnStage.RECEIVED, ReturnStage.PROCESSED)
        assert [op.operation for op in lp.c.outbox.for_case(case.id)].count("refund_return") == 1

        history = lp.c.stages.history(case.id)
        assert {u.stage for u in history} >= {ReturnStage.APPROVED, ReturnStage.LABEL_SENT, ReturnStage.RECEIVED}
        assert sum(u.stage is ReturnStage.RECEIVED for u in history) == 1  # three deliveries, one fact
        [received] = [u for u in history if u.stage is ReturnStage.RECEIVED]
        assert {d.return_line_id for d in received.dispositions} == {li["id"] for li in fake.returns[ret]["_lines"]}
        text = card_text(lp.last_card(done))
        tz = lp.c.policy.store.timezone
        for u in history:
            assert f"{STAGE_LABELS[u.stage]} {shop_time(u.at, tz)}" in text, (u.stage, text)
        assert "1Z999AA1" in text and "restocked" in text
        assert fake.invalid_documents == []


def amount_state(text: str) -> dict:
    return {BlockId.FOLLOWUP_AMOUNT: {ActionId.FOLLOWUP_AMOUNT: {"type": "plain_text_input", "value": text}}}


def test_an_item_missing_at_receipt_opens_the_followup_and_the_partial_refund_from_the_card_runs_once(
        database_url, shop):
    fake, store, ret = shop
    with loop(database_url, store=store, policy=RECEIPT_POLICY) as lp:
        case = approved_case(lp, fake, ret)
        deliver(lp, fake, "reverse_deliveries/attach_deliverable",
                payload=fake.attach_label(ret, names_return=False))
        disposed = fake.dispose(ret, [(0, 1, "RESTOCKED", fake.location["id"]), (1, 1, "MISSING", None)],
                                names_return=False)
        deliver(lp, fake, "reverse_fulfillment_orders/dispose", payload=disposed)
        deliver(lp, fake, "reverse_fulfillment_orders/dispose", payload=disposed)  # again, another delivery id
        opened = wait_for(lambda: (k := lp.c.cases.get(case.id)).status is CaseStatus.OPEN and k.followup and k,
                          what="the follow-up")
        opened = lp.settle(case.id)
        assert opened.followup["reason"] == "missing"
        assert "1 of 2 items missing" in card_text(lp.last_card(opened))
        assert mutations_received(fake) == ["ReturnApproveRequest"]  # no money moved on its own

        assert lp.click(opened, ActionId.FOLLOWUP_PARTIAL, T1).status_code == 200
        too_much = lp.submit(CallbackId.FOLLOWUP_PARTIAL_MODAL, opened, amount_state("129.51"), T1)
        assert too_much.json()["response_action"] == "errors"  # more than is left: refused, nothing changed
        assert lp.submit(CallbackId.FOLLOWUP_PARTIAL_MODAL, opened, amount_state("45.00"), T1).status_code == 200
        processes_wait(lp, fake)
        wait_for(lambda: lp.c.cases.get(case.id).status is CaseStatus.DONE, what="the partial refund carried out")
        done = lp.settle(case.id)

        assert mutations_received(fake) == ["ReturnApproveRequest", "ReturnProcess"]
        [process] = applied(fake, "returnProcess")
        assert process["financialTransfer"]["issueRefund"]["orderTransactions"][0]["transactionAmount"] == {
            "amount": "45.00", "currencyCode": "USD"}
        assert "refundShipping" not in process
        assert all("dispositions" not in li for li in process["returnLineItems"])
        [refund] = fake.refunds_of_return(ret)
        assert Money.of(refund["totalRefundedSet"]["shopMoney"]["amount"], "USD") == Money.of("45.00", "USD")
        assert done.status is CaseStatus.DONE and not done.followup
        assert fake.invalid_documents == []


def test_a_warehouse_that_disposes_item_by_item_still_gets_the_automatic_refund(database_url, shop):
    fake, store, ret = shop
    here = fake.location["id"]
    with loop(database_url, store=store, policy=RECEIPT_POLICY) as lp:
        case = approved_case(lp, fake, ret)
        deliver(lp, fake, "reverse_fulfillment_orders/dispose", payload=fake.dispose(ret, [(0, 1, "RESTOCKED", here)]))
        lp.settle(case.id)
        deliver(lp, fake, "reverse_fulfillment_orders/dispose", payload=fake.dispose(ret, [(1, 1, "RESTOCKED", here)]))
        lp.settle(case.id)
        wait_for(lambda: applied(fake, "returnProcess") or lp.c.cases.get(case.id).followup, what="an outcome")
        lp.settle(case.id)
        assert not lp.c.cases.get(case.id).followup
        assert mutations_received(fake) == ["ReturnApproveRequest", "ReturnProcess"]
