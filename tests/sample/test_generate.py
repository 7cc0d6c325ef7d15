"""The bundled JSON is exactly what the generator writes, and keeps the file's conventions."""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any, Iterator

import pytest

from integrations.sample import generate
from policy.config import ReturnReason

MONEY_KEYS = {"unit_price", "total", "shipping", "amount"}
TIME_KEY = re.compile(r".+_(days_ago|in_days)$")
ISO_DATE = re.compile(r"\b(19|20)\d\d-\d\d-\d\d\b")
GID = re.compile(r"^gid://shopify/[A-Za-z]+/\d+$")


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    return json.loads(generate.OUTPUT.read_text(encoding="utf-8"))


def walk(node: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield k, v
            yield from walk(v, k)
    elif isinstance(node, list):
        for v in node:
            yield from walk(v, key)


def test_committed_json_is_exactly_what_the_generator_writes():
    assert generate.OUTPUT.read_text(encoding="utf-8") == generate.render(), (
        "sample_store.json is stale: run python -m integrations.sample.generate"
    )


def test_generator_is_deterministic_and_seeded():
    assert generate.render() == generate.render()
    other = generate.build(seed=7)
    assert other != generate.build()  # variants and tracking numbers come from the seed
    # ...but the scenarios (what the demo is about) do not
    assert sorted(o["total"] for o in other["orders"]) == sorted(o["total"] for o in generate.build()["orders"])


def test_check_mode(tmp_path, capsys):
    assert generate.main(["--check"]) == 0
    out = tmp_path / "store.json"
    assert generate.main(["--check", "--out", str(out)]) == 1
    assert generate.main(["--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == generate.render()
    out.write_text("{}", encoding="utf-8")
    assert generate.main(["--check", "--out", str(out)]) == 1
    assert "stale" in capsys.readouterr().err


def test_shape_and_size(data):
    assert data["format"] == "returnsbot-sample-store/1"
    assert data["shop"] == {"name": "Ridgeline Outfitters", "domain": "ridgeline-outfitters.example", "currency": "USD",
                            "timezone": "America/Los_Angeles"}
    assert len(data["customers"]) == 20
    assert len(data["orders"]) == 51
    statuses = Counter(r["status"] for r in data["returns"])
    assert statuses == {"REQUESTED": 16, "CLOSED": 7, "OPEN": 1, "DECLINED": 1, "CANCELED": 1}
    assert [d["status"] for d in data["disputes"]] == ["WON", "NEEDS_RESPONSE"]


def test_money_is_always_a_two_decimal_string(data):
    seen = 0
    for key, value in walk(data):
        if key in MONEY_KEYS:
            seen += 1
            assert isinstance(value, str) and re.fullmatch(r"\d+\.\d\d", value), (key, value)
    assert seen > 150
    assert {o["currency"] for o in data["orders"]} == {"USD"}


def test_times_are_relative_offsets_never_dates(data):
    text = generate.OUTPUT.read_text(encoding="utf-8")
    assert not ISO_DATE.search(text)
    for key, value in walk(data):
        if TIME_KEY.match(key):
            assert value is None or isinstance(value, (int, float)), (key, value)
        assert not key.endswith("_at"), key


def test_ids_are_shopify_gids_and_unique(data):
    ids = [v for k, v in walk(data) if k == "id"]
    assert all(GID.match(i) for i in ids)
    assert len(ids) == len(set(ids))
    assert data["orders"][0]["id"] == "gid://shopify/Order/5001000001"
    kinds = {i.split("/")[3] for i in ids}
    assert kinds == {"Customer", "Order", "LineItem", "Fulfillment", "Refund", "Return", "ReturnLineItem", "ShopifyPaymentsDispute",
                     "ExchangeLineItem"}


def test_orders_are_numbered_in_the_order_they_were_placed(data):
    names = [o["name"] for o in data["orders"]]
    assert names == [f"#{n}" for n in range(1001, 1052)]
    placed = [o["created_days_ago"] for o in data["orders"]]
    assert placed == sorted(placed, reverse=True)


def test_return_reasons_are_shopify_values_and_hostile_notes_are_kept(data):
    lines = [li for r in data["returns"] for li in r["line_items"]]
    assert {li["reason"] for li in lines} <= {r.value for r in ReturnReason}
    notes = " ".join(n for li in lines for n in (li["customer_note"], li["reason_note"]) if n)
    for hostile in ("<!channel>", "@here", "<https://evil.example|click>", "<!everyone>", "&"):
        assert hostile in notes


def test_return_and_refund_timelines_make_sense(data):
    orders = {o["id"]: o for o in data["orders"]}
    for r in data["returns"]:
        order = orders[r["order_id"]]
        (shipment,) = order["shipments"]
        assert r["requested_days_ago"] < order["created_days_ago"]
        if shipment["status"] == "DELIVERED":
            assert r["requested_days_ago"] < shipment["delivered_days_ago"] < shipment["shipped_days_ago"]
    for o in data["orders"]:
        for refund in o["refunds"]:
            assert refund["created_days_ago"] < o["created_days_ago"]
