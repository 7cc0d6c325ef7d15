"""FakeShopify's tagsAdd, shaped like Shopify's: comma-separated strings split, tags trimmed,
one already there (without case) not added again, blanks and over-long tags refused, an
unknown id not found — and every applied call recorded."""

from __future__ import annotations

from integrations.shopify import documents as doc
from tests.shopify.test_fake import post


def tags_add(fake, gid: str, tags) -> dict:
    body = post(fake, doc.TAGS_ADD, {"id": gid, "tags": tags}).json()
    assert "errors" not in body, body
    return body["data"]["tagsAdd"]


def test_tags_are_split_trimmed_and_not_doubled(fake):
    customer = fake.add_customer(tags=["VIP"])
    out = tags_add(fake, customer, ["vip", " big-first-order , concierge", "Concierge"])
    assert out == {"node": {"id": customer}, "userErrors": []}
    assert fake.customers[customer]["tags"] == ["VIP", "big-first-order", "concierge"]
    order = fake.add_order(customer_id=customer)
    tags_add(fake, order, ["vip-order"])
    assert fake.orders[order]["tags"] == ["vip-order"]
    assert [name for name, _ in fake.mutations] == ["tagsAdd", "tagsAdd"]


def test_blank_long_and_unknown_are_user_errors(fake):
    customer = fake.add_customer()
    assert tags_add(fake, customer, [" ", ""])["userErrors"][0]["message"] == "Tags can't be blank"
    assert "too long" in tags_add(fake, customer, ["x" * 256])["userErrors"][0]["message"]
    missing = tags_add(fake, "gid://shopify/Customer/424242", ["VIP"])
    assert missing["node"] is None and missing["userErrors"][0]["message"] == "Resource does not exist"
    assert fake.customers[customer]["tags"] == [] and fake.mutations == []


def test_the_documents_read_tags_back_through_node(fake):
    customer = fake.add_customer(display_name="Grace Hopper", tags=["VIP"])
    node = post(fake, doc.RESOURCE_TAGS, {"id": customer}).json()["data"]["node"]
    assert node == {"id": customer, "displayName": "Grace Hopper", "tags": ["VIP"]}
