"""FakeShopify as the warehouse (reverse deliveries, dispositions, what Shopify refuses), the
refund after the warehouse disposed the items, and reverse_* deliveries that name no return:
their return is looked up by GraphQL when the delivery is decoded."""

from __future__ import annotations

import logging

import pytest

from integrations.shopify import progress
from integrations.shopify import documents as doc
from integrations.shopify.reverse import ReverseLookup
from integrations.shopify.webhooks import MalformedWebhook, event_from_webhook, validate_webhook
from policy.lifecycle import Disposition, ReturnStage
from policy.models import Money
from policy.ports import IntegrationError
from tests.fakes.shopify import FakeUserErrors

DISPOSE = "reverse_fulfillment_orders/dispose"
LABEL = "reverse_deliveries/attach_deliverable"
DISPOSE_MUTATION = """
mutation Dispose($inputs: [ReverseFulfillmentOrderDisposeInput!]!) {
  reverseFulfillmentOrderDispose(dispositionInputs: $inputs) {
    reverseFulfillmentOrderLineItems { id dispositions { quantity type } }
    userErrors { code field message }
  }
}
"""
PROCESS = """
mutation Process($input: ReturnProcessInput!) {
  returnProcess(input: $input) { return { id status } userErrors { code field message } }
}
"""


def usd(amount: str) -> Money:
    return Money.of(amount, "USD")


def post(fake, query: str, variables: dict) -> dict:
    with fake.http_client() as http:
        return http.post(fake.graphql_url(), json={"query": query, "variables": variables},
                         headers={"X-Shopify-Access-Token": fake.access_token}).json()


def open_return(fake, store, lines=None):
    order = fake.add_order(line_items=lines or [{"title": "Trail Runner", "price": "60.00"},
                                                {"title": "Socks", "price": "10.00", "quantity": 2}])
    ret = fake.add_return(order)
    store.approve_return(ret, notify_customer=False, idempotency_key=f"approve-{ret}")
    return ret


def rfo_items(fake, ret):
    return fake.returns[ret]["_rfos"][0]["_lines"]


def processes(fake) -> list[dict]:
    return [i for m, i in fake.mutations if m == "returnProcess"]


# --- the fake enforces what Shopify enforces ------------------------------------------------------


def test_disposing_more_than_is_left_is_refused_and_changes_nothing(fake, store):
    ret = open_return(fake, store)
    here = fake.location["id"]
    fake.dispose(ret, [(1, 1, "RESTOCKED", here)])
    with pytest.raises(FakeUserErrors) as refused:
        fake.dispose(ret, [(0, 1, "RESTOCKED", here), (1, 2, "RESTOCKED", here)])  # 1 of 2 socks left
    assert refused.value.errors[0]["code"] == "INVALID"
    assert refused.value.errors[0]["field"] == ["dispositionInputs", "1", "quantity"]
    assert [len(i["dispositions"]) for i in rfo_items(fake, ret)] == [0, 1]  # all or nothing
    with pytest.raises(FakeUserErrors, match="location"):
        fake.dispose(ret, [(0, 1, "RESTOCKED", None)])


def test_the_dispose_mutation_answers_with_user_errors(fake, store):
    ret = open_return(fake, store)
    item = rfo_items(fake, ret)[0]["id"]
    ok = post(fake, DISPOSE_MUTATION, {"inputs": [{"reverseFulfillmentOrderLineItemId": item, "quantity": 1,
                                                   "dispositionType": "MISSING"}]})
    assert ok["data"]["reverseFulfillmentOrderDispose"] == {
        "reverseFulfillmentOrderLineItems": [{"id": item, "dispositions": [{"quantity": 1, "type": "MISSING"}]}],
        "userErrors": []}
    again = post(fake, DISPOSE_MUTATION, {"inputs": [{"reverseFulfillmentOrderLineItemId": item, "quantity": 1,
                                                      "dispositionType": "RESTOCKED",
                                                      "locationId": fake.location["id"]}]})
    payload = again["data"]["reverseFulfillmentOrderDispose"]
    assert payload["reverseFulfillmentOrderLineItems"] is None
    assert payload["userErrors"][0]["message"] == "Quantity exceeds the quantity left to dispose."


def test_return_process_refuses_dispositions_for_what_is_disposed_and_a_second_identical_call(fake, store):
    ret = open_return(fake, store, lines=[{"title": "Trail Runner", "price": "60.00"}])
    line = fake.returns[ret]["_lines"][0]
    item = rfo_items(fake, ret)[0]
    fake.dispose(ret, [(0, 1, "RESTOCKED", fake.location["id"])])
    again = {"reverseFulfillmentOrderLineItemId": item["id"], "quantity": 1, "dispositionType": "RESTOCKED",
             "locationId": fake.location["id"]}
    refused = post(fake, PROCESS, {"input": {"returnId": ret, "returnLineItems": [
        {"id": line["id"], "quantity": 1, "dispositions": [again]}]}})["data"]["returnProcess"]
    assert refused["userErrors"][0]["message"] == "Disposition quantity exceeds what is left to dispose."
    assert line["_processed"] == 0

    plain = {"input": {"returnId": ret, "returnLineItems": [{"id": line["id"], "quantity": 1}]}}
    assert post(fake, PROCESS, plain)["data"]["returnProcess"]["userErrors"] == []
    assert line["processableQuantity"](None) == 0 and line["processedQuantity"](None) == 1
    second = post(fake, PROCESS, plain)["data"]["returnProcess"]
    assert second["return"] is None and second["userErrors"][0]["code"] == "INVALID_STATE"  # nothing to process
    assert len(processes(fake)) == 1


# --- the refund after the warehouse disposed ------------------------------------------------------


def test_the_refund_adds_no_disposition_to_what_the_warehouse_disposed_and_runs_once(fake, store):
    ret = open_return(fake, store)
    here = fake.location["id"]
    fake.dispose(ret, [(0, 1, "RESTOCKED", here), (1, 2, "RESTOCKED", here)])
    first = store.refund_return(ret, amount=usd("80.00"), notify_customer=False, idempotency_key="refund")
    [sent] = processes(fake)
    assert all("dispositions" not in li for li in sent["returnLineItems"])
    assert sorted(li["quantity"] for li in sent["returnLineItems"]) == [1, 2]
    assert sent["financialTransfer"]["issueRefund"]["orderTransactions"][0]["transactionAmount"]["amount"] == "80.00"
    replay = store.refund_return(ret, amount=usd("80.00"), notify_customer=False, idempotency_key="refund")
    assert replay.external_id == first.external_id and len(processes(fake)) == 1
    assert [d["quantity"] for i in rfo_items(fake, ret) for d in i["dispositions"]] == [1, 2]  # not disposed twice
    assert [op for op, _ in fake.mutations].count("refundCreate") == 0


def test_after_a_partial_inspection_the_bot_restocks_nothing_the_warehouse_did_not_confirm(fake, store):
    ret = open_return(fake, store)
    fake.dispose(ret, [(1, 1, "MISSING", None)])  # one sock missing; the shoe and the other sock not inspected
    store.refund_return(ret, amount=usd("65.00"), notify_customer=False, idempotency_key="partial")
    [sent] = processes(fake)
    assert all("dispositions" not in li for li in sent["returnLineItems"])
    assert [(d["type"], d["quantity"]) for i in rfo_items(fake, ret) for d in i["dispositions"]] == [("MISSING", 1)]


def test_without_the_warehouse_the_refund_still_restocks(fake, store):
    ret = open_return(fake, store)
    store.refund_return(ret, amount=usd("80.00"), notify_customer=False, idempotency_key="refund")
    [sent] = processes(fake)
    assert {d["dispositionType"] for li in sent["returnLineItems"] for d in li["dispositions"]} == {"RESTOCKED"}


# --- reverse_* bodies naming no return ------------------------------------------------------------


def test_a_dispose_body_naming_no_return_is_looked_up_and_speaks_return_lines(fake, store, client):
    ret = open_return(fake, store)
    here = fake.location["id"]
    body = fake.dispose(ret, [(0, 1, "RESTOCKED", here), (1, 2, "MISSING", None)], names_return=False)
    assert "return" not in body and "return_id" not in str(body)
    with pytest.raises(MalformedWebhook, match="names no return"):
        event_from_webhook(DISPOSE, body)  # no lookup: as before
    before = len(fake.calls)
    validate_webhook(DISPOSE, body)  # the door accepts it, without a read
    assert len(fake.calls) == before

    event = event_from_webhook(DISPOSE, body, resolve=ReverseLookup(client))
    assert [c.operation for c in fake.calls[before:]] == ["ReverseFulfillmentOrderOwner"]
    update = event.stage
    assert update.return_id == ret and update.stage is ReturnStage.RECEIVED
    assert event.order_id == fake.returns[ret]["_order"]
    lines = {li["id"] for li in fake.returns[ret]["_lines"]}
    assert {d.return_line_id for d in update.dispositions} == lines
    assert sorted((d.disposition, d.quantity) for d in update.dispositions) == [
        (Disposition.MISSING, 2), (Disposition.RESTOCKED, 1)]
    # the poller reads the same disposal with the same ref: recorded once
    read = post(fake, doc.RETURN_PROGRESS, {"id": ret})["data"]["return"]
    [polled] = [u for u in progress.stage_updates(read, now=fake.now()) if u.stage is ReturnStage.RECEIVED]
    assert polled.ref == update.ref


def test_a_body_naming_the_return_but_only_reverse_lines_is_mapped_to_return_lines(fake, store, client):
    ret = open_return(fake, store)
    body = fake.dispose(ret, [(0, 1, "RESTOCKED", fake.location["id"])])
    assert body["return"]["admin_graphql_api_id"] == ret
    update = event_from_webhook(DISPOSE, body, resolve=ReverseLookup(client)).stage
    assert [d.return_line_id for d in update.dispositions] == [fake.returns[ret]["_lines"][0]["id"]]


def test_a_label_body_naming_no_return_is_looked_up_through_its_reverse_fulfillment_order(fake, store, client):
    ret = open_return(fake, store)
    body = fake.attach_label(ret, carrier="UPS", number="1Z999", names_return=False)
    update = event_from_webhook(LABEL, body, resolve=ReverseLookup(client)).stage
    assert update.return_id == ret and update.stage is ReturnStage.LABEL_SENT
    assert update.ref == body["admin_graphql_api_id"] and update.tracking.number == "1Z999"
    assert fake.calls[-1].operation == "ReverseDeliveryOwner"


def test_an_object_shopify_does_not_know_is_ignored_with_a_log_line(fake, store, client, caplog):
    ret = open_return(fake, store)
    body = fake.dispose(ret, [(0, 1, "MISSING", None)], names_return=False)
    body["admin_graphql_api_id"] = "gid://shopify/ReverseFulfillmentOrder/404"
    with caplog.at_level(logging.WARNING):
        assert event_from_webhook(DISPOSE, body, resolve=ReverseLookup(client)) is None
    assert "ReverseFulfillmentOrder/404" in caplog.text


def test_a_failed_lookup_is_retryable(fake, store, client):
    ret = open_return(fake, store)
    body = fake.dispose(ret, [(0, 1, "MISSING", None)], names_return=False)
    fake.fail_next(5, status=503, operation="ReverseFulfillmentOrderOwner")  # past the client's own retries
    with pytest.raises(IntegrationError) as failed:
        event_from_webhook(DISPOSE, body, resolve=ReverseLookup(client))
    assert failed.value.retryable
