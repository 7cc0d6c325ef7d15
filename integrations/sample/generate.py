"""Writes `sample_store.json`: the bundled demo shop, Ridgeline Outfitters (Bend, Oregon).

    python -m integrations.sample.generate           # rewrite the bundled JSON
    python -m integrations.sample.generate --check   # exit 1 if the bundled JSON is stale

Deterministic: the same seed gives byte-for-byte the same file (a test checks that the
committed JSON is exactly what this module produces), so edit the scenarios here and
regenerate; never hand-edit the JSON.

Conventions of the file (read by `integrations.sample.store`):

* Times are offsets from the moment the store is loaded, never dates: `*_days_ago` counts
  back from `now`, `*_in_days` forward. The demo behaves the same whatever day it runs.
* Money is a decimal string ("149.00") in the currency of its order or dispute. No floats.
* Ids are Shopify-style gids; order names run "#1001"… in the order the orders were placed.
* `feed_days`: the store's event log starts that many days before `now`. Anything older is
  history that was there before returnsbot was installed; it never becomes an event.
* `exchange_items` (on a return): the item the customer chose in exchange, naming a variant;
  `stock`: units in stock per exchange variant (a variant missing from it is not tracked).
* `persona` (customers) and `scenario` (orders, returns) are notes for people reading the
  file; the loader ignores them.

The ~16 requested returns are built so that, under the default policy, every risk signal
fires at least once (see `scenario`), next to clean ones that the policy may auto-approve.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

SEED = 1001
CURRENCY = "USD"
TIMEZONE = "America/Los_Angeles"  # Bend, Oregon
FEED_DAYS = 7
FREE_SHIPPING_FROM = Decimal("99.00")
FLAT_SHIPPING = Decimal("8.00")
FORMAT = "returnsbot-sample-store/1"

OUTPUT = Path(__file__).with_name("sample_store.json")

# gid number bases, one per resource type
_BASE = {
    "Customer": 6001000000,
    "Order": 5001000000,
    "LineItem": 13001000000,
    "Fulfillment": 4001000000,
    "Refund": 9001000000,
    "Return": 7001000000,
    "ReturnLineItem": 8001000000,
    "ShopifyPaymentsDispute": 1101000000,
    "ExchangeLineItem": 8201000000,
    "ProductVariant": 8301000000,
}


def gid(kind: str, n: int) -> str:
    return f"gid://shopify/{kind}/{_BASE[kind] + n}"


# --- catalogue ----------------------------------------------------------------------------

SIZES = ("XS", "S", "M", "L", "XL")


@dataclass(frozen=True)
class Product:
    title: str
    price: str
    sku: str
    tags: tuple[str, ...]
    options: tuple[tuple[str, ...], ...] = ()  # e.g. (sizes, colours); () = no variants


CATALOG: dict[str, Product] = {
    "down_jacket": Product("Alpine Down Jacket", "289.00", "RO-ADJ", ("outerwear", "down"), (SIZES, ("Black", "Spruce", "Ember"))),
    "shell": Product("Summit Shell Jacket", "389.00", "RO-SSJ", ("outerwear", "waterproof"), (SIZES, ("Glacier", "Black"))),
    "parka": Product("Expedition Parka", "649.00", "RO-EXP", ("outerwear", "down", "expedition"), (SIZES, ("Black", "Signal Orange"))),
    "rain": Product("Packable Rain Jacket", "129.00", "RO-PRJ", ("outerwear", "waterproof"), (SIZES, ("Moss", "Navy"))),
    "fleece": Product("Trailhead Fleece Pullover", "89.00", "RO-TFP", ("midlayer",), (SIZES, ("Oat", "Charcoal"))),
    "merino_crew": Product("Merino Base Layer Crew", "79.00", "RO-MBC", ("baselayer", "merino"), (SIZES, ("Black", "Heather Grey"))),
    "sun_hoodie": Product("Sun Hoodie UPF 50", "54.00", "RO-SHU", ("tops",), (SIZES, ("Sky", "Sand"))),
    "pants": Product("Canyon Hiking Pants", "98.00", "RO-CHP", ("bottoms",), (("30", "32", "34", "36"), ("Khaki", "Slate"))),
    "socks": Product("Merino Hiking Socks (2-pack)", "24.00", "RO-MHS", ("accessories", "merino"), (("S", "M", "L"),)),
    "cap": Product("Trucker Cap", "28.00", "RO-TCP", ("accessories",), (("Olive", "Navy", "Sand"),)),
    "beanie": Product("Merino Beanie", "32.00", "RO-MBN", ("accessories", "merino"), (("Black", "Rust"),)),
    "shoes": Product("Ridge Trail Running Shoes", "149.00", "RO-RTR", ("footwear",), (("US 8", "US 9", "US 10", "US 11"),)),
    # 60-day break-in guarantee: the policy's "extended-returns" window applies.
    "boots": Product("Granite Hiking Boots", "229.00", "RO-GHB", ("footwear", "extended-returns"), (("US 8", "US 9", "US 10", "US 11"),)),
    "tent": Product("Featherlight 2P Tent", "549.00", "RO-F2T", ("camping", "extended-returns")),
    "sleeping_bag": Product("Basecamp 15°F Sleeping Bag", "329.00", "RO-B15", ("camping",), (("Regular", "Long"),)),
    "daypack": Product("Daypack 24L", "119.00", "RO-D24", ("packs",), (("Basalt", "Lichen"),)),
    "poles": Product("Carbon Trekking Poles", "139.00", "RO-CTP", ("camping",)),
    "headlamp": Product("Headlamp 400", "49.00", "RO-H40", ("camping", "electronics")),
    "mug": Product("Enamel Camp Mug", "18.00", "RO-ECM", ("camping",)),
    "softshell": Product("Last-Season Softshell", "69.00", "RO-LSS", ("outerwear", "final-sale", "clearance"), (SIZES,)),
    "vest": Product("Sample Sale Insulated Vest", "59.00", "RO-SIV", ("outerwear", "final-sale"), (SIZES,)),
}


# --- people -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    key: str
    first: str
    last: str
    email: str
    created: float  # days ago
    persona: str
    tags: tuple[str, ...] = ()


PEOPLE: list[Person] = [
    Person("maya", "Maya", "Chen", "maya.chen@example.com", 14.0, "new: first order last week"),
    Person("elena", "Elena", "Petrova", "elena.petrova@example.org", 700.0, "regular, never returned anything", ("newsletter",)),
    Person("daniel", "Daniel", "Okafor", "d.okafor@example.net", 800.0, "loyal: six orders over two years, one old return", ("newsletter", "loyalty-gold")),
    Person("chloe", "Chloe", "Martin", "chloe.martin@example.com", 130.0, "occasional buyer"),
    Person("priya", "Priya", "Raman", "priya.raman@example.com", 900.0, "VIP by tag", ("VIP",)),
    Person("marcus", "Marcus", "Webb", "marcus.webb@example.org", 420.0, "VIP by lifetime spend (over $2,000), no tag"),
    Person("tasha", "Tasha", "Greene", "tgreene@example.net", 380.0, "serial returner: five returns in the last year"),
    Person("kevin", "Kevin", "Doyle", "kdoyle.deals@example.net", 22.0, "new; his only order was flagged HIGH payment risk"),
    Person("liam", "Liam", "O'Brien", "liam.obrien@example.com", 500.0, "filed a chargeback while his return is pending"),
    Person("hannah", "Hannah", "Kim", "hannah.kim@example.org", 200.0, "asked to return a parcel that is still in transit"),
    Person("omar", "Omar", "Haddad", "omar.haddad@example.com", 60.0, "already got a goodwill refund; now wants the full price back"),
    Person("grace", "Grace", "Liu", "grace.liu@example.net", 30.0, "second return on the same order"),
    Person("ben", "Ben", "Foster", "ben.foster@example.com", 250.0, "wants to return a final-sale softshell"),
    Person("jamal", "Jamal", "Carter", "jamal.carter@example.org", 365.0, "boots on the 60-day extended window"),
    Person("sofia", "Sofía", "Álvarez", "sofia.alvarez@example.com", 150.0, "high-value parka return"),
    Person("zoe", "Zoe", "Adams", "zoe.adams@example.net", 100.0, "late return, not a VIP"),
    Person("noah", "Noah", "Williams", "noah.williams@example.com", 0.5, "first-time customer, $1,337 order"),
    Person("ava", "Ava", "Thompson", "ava.thompson@example.org", 1000.0, "VIP by tag, new order today", ("VIP", "newsletter")),
    Person("ryan", "Ryan", "Patel", "ryan.p.4471@example.net", 0.9, "new customer, HIGH payment risk order"),
    Person("isabel", "Isabel", "Moreno", "isabel.moreno@example.com", 400.0, "large refund ($649) issued this week"),
]

HIGH_RISK_FACTS = (
    "Billing address does not match the shipping address",
    "Three payment attempts with different cards before this one succeeded",
    "Order placed from an anonymous proxy",
)


# --- scenario specs -----------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    product: str
    qty: int = 1
    discount_pct: int = 0


@dataclass(frozen=True)
class RefundSpec:
    days_ago: float
    amount: str
    note: str


@dataclass
class OrderSpec:
    key: str
    customer: str | None
    items: list[Item]
    created: float | None = None  # days ago; or derived from `delivered`
    delivered: float | None = None  # days ago
    in_transit: tuple[float, float] | None = None  # (shipped days ago, estimated delivery in days)
    unfulfilled: bool = False
    risk: str = "LOW"
    risk_facts: tuple[str, ...] = ()
    refunds: list[RefundSpec] = field(default_factory=list)
    email: str | None = None  # guest checkout
    tags: tuple[str, ...] = ()
    scenario: str | None = None


@dataclass(frozen=True)
class ReturnLine:
    product: str
    reason: str
    qty: int = 1
    customer_note: str | None = None
    reason_note: str | None = None


@dataclass(frozen=True)
class ReturnSpec:
    order: str
    status: str
    requested: float  # days ago
    lines: tuple[ReturnLine, ...]
    refunded: float | None = None  # days ago, for CLOSED returns
    scenario: str | None = None
    # The item the customer chose in exchange: (product key, variant title, units in stock).
    exchange: tuple[str, str, int] | None = None


@dataclass(frozen=True)
class DisputeSpec:
    order: str
    status: str
    reason: str
    initiated: float  # days ago
    evidence_due_in: float | None  # days from now (negative: in the past)


def _orders() -> list[OrderSpec]:
    O = OrderSpec
    I = Item
    return [
        # maya — new customer
        O("M1", "maya", [I("cap"), I("socks", 2)], delivered=6.3),
        # elena — regular, clean
        O("E1", "elena", [I("fleece"), I("beanie")], created=420.0),
        O("E2", "elena", [I("sun_hoodie")], created=160.0),
        O("E3", "elena", [I("merino_crew", discount_pct=10)], delivered=12.4),
        O("N4", "elena", [I("mug"), I("socks")], created=2.5, unfulfilled=True, scenario="new order, nothing to review"),
        # daniel — loyal
        O("D1", "daniel", [I("pants")], created=760.0),
        O("D2", "daniel", [I("boots")], created=610.0),
        O("D3", "daniel", [I("socks", 2), I("beanie")], created=400.0),
        O("D4", "daniel", [I("pants")], created=215.0),
        O("D5", "daniel", [I("daypack")], created=95.0, tags=("loyalty-gold",)),
        O("D6", "daniel", [I("shoes")], delivered=9.0),
        # chloe
        O("C1", "chloe", [I("cap"), I("socks")], created=120.0),
        O("C2", "chloe", [I("sun_hoodie")], delivered=7.5),
        # priya — VIP by tag
        O("P1", "priya", [I("down_jacket")], created=600.0),
        O("P2", "priya", [I("boots"), I("socks")], created=330.0),
        O("P3", "priya", [I("merino_crew", 2)], created=110.0),
        O("P4", "priya", [I("shell")], delivered=44.2),
        O("P5", "priya", [I("beanie"), I("mug")], created=20.0),
        # marcus — VIP by lifetime spend
        O("K1", "marcus", [I("parka")], created=300.0),
        O("K2", "marcus", [I("sleeping_bag"), I("shell")], created=150.0),
        O("K3", "marcus", [I("boots")], created=80.0),
        O("K4", "marcus", [I("tent")], delivered=20.3),
        # tasha — serial returner
        O("T1", "tasha", [I("down_jacket"), I("beanie")], created=300.0),
        O("T2", "tasha", [I("sun_hoodie", 2)], created=220.0),
        O("T3", "tasha", [I("vest"), I("socks")], created=150.0),
        O("T4", "tasha", [I("shoes")], created=90.0),
        O("T5", "tasha", [I("fleece"), I("mug")], created=40.0),
        O("T6", "tasha", [I("pants")], delivered=8.1),
        # kevin — high payment risk
        O("KD1", "kevin", [I("sleeping_bag")], delivered=10.2, risk="HIGH", risk_facts=HIGH_RISK_FACTS),
        # liam — open dispute
        O("L1", "liam", [I("daypack")], created=480.0),
        O("L2", "liam", [I("down_jacket"), I("socks")], delivered=16.0),
        # hannah — parcel still in transit
        O("H1", "hannah", [I("rain")], created=180.0, risk="MEDIUM",
          risk_facts=("Shipping address is more than 500 km from the IP location",)),
        O("H2", "hannah", [I("daypack")], created=3.9, in_transit=(2.8, 1.5)),
        # omar — partly refunded already
        O("O1", "omar", [I("rain"), I("socks")], delivered=18.5,
          refunds=[RefundSpec(11.0, "100.00", "Goodwill: zipper pull broke in the first week; customer keeps the jacket")]),
        # grace — second return on one order
        O("G1", "grace", [I("headlamp"), I("poles"), I("mug")], delivered=21.0),
        # ben — final sale
        O("B1", "ben", [I("fleece")], created=200.0),
        O("B2", "ben", [I("softshell"), I("cap")], delivered=6.8),
        # jamal — extended window
        O("J1", "jamal", [I("socks")], created=300.0),
        O("J2", "jamal", [I("boots")], delivered=45.0),
        # sofia — high value
        O("S1", "sofia", [I("pants")], created=140.0),
        O("S2", "sofia", [I("parka")], delivered=13.0),
        # zoe — late
        O("Z1", "zoe", [I("beanie")], created=90.0),
        O("Z2", "zoe", [I("fleece")], delivered=52.0),
        # new orders for order review
        O("N1", "noah", [I("parka"), I("tent"), I("poles")], created=0.4, unfulfilled=True,
          scenario="order review: high value ($1,337), first-time customer"),
        O("A1", "ava", [I("shell")], created=700.0),
        O("A2", "ava", [I("boots"), I("socks")], created=200.0),
        O("N2", "ava", [I("down_jacket"), I("merino_crew")], created=1.2, unfulfilled=True,
          scenario="order review: VIP customer (tag)"),
        O("N3", "ryan", [I("down_jacket"), I("beanie")], created=0.8, unfulfilled=True, risk="HIGH",
          risk_facts=HIGH_RISK_FACTS[:1] + ("Card issued in a different country than the billing address",),
          scenario="order review: HIGH payment risk"),
        # isabel — large refund this week
        O("I1", "isabel", [I("rain", discount_pct=15)], created=380.0),
        O("I2", "isabel", [I("parka")], delivered=20.0),
        # a guest checkout
        O("GUEST", None, [I("mug", 2), I("socks")], created=230.0, email="trailrunner77@example.net"),
    ]


def _returns() -> list[ReturnSpec]:
    R = ReturnSpec
    L = ReturnLine
    return [
        # --- past returns: they build the histories -------------------------------------
        R("D4", "CLOSED", 200.0, (L("pants", "SIZE_TOO_LARGE"),), refunded=195.0),
        R("P3", "CLOSED", 95.0, (L("merino_crew", "SIZE_TOO_SMALL"),), refunded=88.0),
        R("T1", "CLOSED", 288.0, (L("down_jacket", "STYLE"),), refunded=280.0),
        R("T2", "CLOSED", 210.0, (L("sun_hoodie", "COLOR", customer_note="Colour looks nothing like the photos"),), refunded=204.0),
        R("T3", "DECLINED", 140.0, (L("vest", "UNWANTED"),)),
        R("T4", "CLOSED", 80.0, (L("shoes", "SIZE_TOO_SMALL"),), refunded=75.0),
        R("T5", "OPEN", 25.0, (L("fleece", "UNWANTED"),)),
        R("B1", "CANCELED", 185.0, (L("fleece", "SIZE_TOO_LARGE", customer_note="Never mind, my brother will wear it"),)),
        R("G1", "CLOSED", 12.0, (L("poles", "UNWANTED"),), refunded=8.5),
        R("I2", "CLOSED", 9.0, (L("parka", "NOT_AS_DESCRIBED", customer_note="Too warm for Portland winters"),), refunded=1.5,
          scenario="large refund ($649) this week"),
        # --- requested returns: the review queue ----------------------------------------
        R("M1", "REQUESTED", 0.9, (
            L("cap", "COLOR", customer_note="Wanted the olive, this one reads brown"),
            L("socks", "UNWANTED"),
        ), scenario="clean, $52, new customer: auto-approvable"),
        R("E3", "REQUESTED", 2.2, (L("merino_crew", "UNWANTED"),), scenario="clean, $71.10 after a 10% discount: auto-approvable"),
        R("D6", "REQUESTED", 1.6, (L("shoes", "SIZE_TOO_SMALL", customer_note="Need a 10.5, these pinch at the toe. Happy to exchange."),),
          scenario="clean size exchange, $149, loyal customer; the US 10.5 is out of stock",
          exchange=("shoes", "US 10.5", 0)),
        R("C2", "REQUESTED", 0.5, (L("sun_hoodie", "SIZE_TOO_LARGE", customer_note="Could I swap for a small?"),),
          scenario="clean size exchange, $54: auto-approvable", exchange=("sun_hoodie", "S / Sky", 6)),
        R("P4", "REQUESTED", 1.1, (L("shell", "STYLE", customer_note="Was travelling & couldn't send it back sooner. Store credit is fine."),),
          scenario="outside the 30-day window, VIP by tag: store credit"),
        R("K4", "REQUESTED", 2.7, (L("tent", "DEFECTIVE", customer_note="A pole section snapped on the first pitch."),),
          scenario="high value ($549), VIP by lifetime spend"),
        R("T6", "REQUESTED", 0.7, (L("pants", "SIZE_TOO_LARGE"),), scenario="serial returner (5 returns in the last year)"),
        R("KD1", "REQUESTED", 1.9, (L("sleeping_bag", "NOT_AS_DESCRIBED",
                                      customer_note="<!channel> this bag is NOT warm to 15°F & I froze on night one. Refund me NOW"),),
          scenario="HIGH payment risk order; hostile note"),
        R("L2", "REQUESTED", 2.5, (L("down_jacket", "DEFECTIVE", customer_note="Baffles are leaking down everywhere."),),
          scenario="open chargeback on the same order"),
        R("H2", "REQUESTED", 0.4, (L("daypack", "UNWANTED", customer_note="Found one locally, will send it back when it arrives"),),
          scenario="parcel still in transit"),
        R("O1", "REQUESTED", 1.3, (L("rain", "NOT_AS_DESCRIBED",
                                     customer_note="@here I was promised the rest of my money & nobody answers. Photos: <https://evil.example|click>"),),
          scenario="$129 asked, $53 left to refund after a goodwill refund; hostile note"),
        R("G1", "REQUESTED", 1.0, (L("headlamp", "DEFECTIVE", customer_note="Stopped charging after two hikes"),),
          scenario="second return on the same order"),
        R("B2", "REQUESTED", 0.8, (L("softshell", "UNWANTED", customer_note="Didn't realise it was final sale"),),
          scenario="final-sale item"),
        R("J2", "REQUESTED", 1.2, (L("boots", "SIZE_TOO_SMALL", customer_note="Need a half size up now they're broken in"),),
          scenario="45 days after delivery but on the 60-day extended-returns window: in time"),
        R("S2", "REQUESTED", 2.0, (L("parka", "NOT_AS_DESCRIBED", customer_note="Much heavier than the listing says & the hood won't fit over a helmet."),),
          scenario="high value ($649)"),
        R("Z2", "REQUESTED", 0.3, (L("fleece", "OTHER", reason_note="see <https://evil.example|my review> & <!everyone>"),),
          scenario="outside the 30-day window, not a VIP; hostile reason note"),
    ]


def _disputes() -> list[DisputeSpec]:
    return [
        DisputeSpec("D3", "WON", "UNRECOGNIZED", initiated=385.0, evidence_due_in=-378.0),
        DisputeSpec("L2", "NEEDS_RESPONSE", "PRODUCT_UNACCEPTABLE", initiated=1.4, evidence_due_in=5.6),
    ]


# --- building -----------------------------------------------------------------------------


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _days(x: float) -> float:
    return round(x, 2)


def _tracking(rng: random.Random) -> tuple[str, str, str]:
    carrier = rng.choice(("UPS", "USPS", "FedEx"))
    if carrier == "UPS":
        number = "1Z" + "".join(rng.choice("0123456789ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(6)) + "03" + "".join(
            rng.choice("0123456789") for _ in range(8)
        )
        url = f"https://www.ups.com/track?tracknum={number}"
    elif carrier == "USPS":
        number = "9400" + "".join(rng.choice("0123456789") for _ in range(18))
        url = f"https://tools.usps.com/go/TrackConfirmAction?tLabels={number}"
    else:
        number = "".join(rng.choice("0123456789") for _ in range(12))
        url = f"https://www.fedex.com/fedextrack/?trknbr={number}"
    return carrier, number, url


def _variant(product: Product, rng: random.Random) -> tuple[str | None, str]:
    if not product.options:
        return None, product.sku
    picks = [rng.choice(values) for values in product.options]
    code = "-".join(p.replace("US ", "").replace(" ", "").upper()[:4] for p in picks)
    return " / ".join(picks), f"{product.sku}-{code}"


def build(seed: int = SEED) -> dict[str, Any]:
    rng = random.Random(seed)
    people = {p.key: p for p in PEOPLE}
    customer_ids = {p.key: gid("Customer", i) for i, p in enumerate(PEOPLE, start=1)}

    # 1. times, variants and prices, in spec order (so the rng stream is fixed)
    drafts: list[dict[str, Any]] = []
    for spec in _orders():
        shipment: dict[str, Any] | None = None
        if spec.delivered is not None:
            delivered = spec.delivered
            shipped = delivered + _days(rng.uniform(2.0, 5.0))
            created = shipped + _days(rng.uniform(0.3, 1.5))
            shipment = {"status": "DELIVERED", "shipped_days_ago": _days(shipped), "delivered_days_ago": _days(delivered)}
        elif spec.in_transit is not None:
            shipped, eta = spec.in_transit
            assert spec.created is not None and spec.created > shipped
            created = spec.created
            shipment = {"status": "IN_TRANSIT", "shipped_days_ago": shipped, "estimated_delivery_in_days": eta}
        else:
            assert spec.created is not None
            created = spec.created
            if not spec.unfulfilled:
                shipped = created - _days(rng.uniform(0.3, 1.5))
                delivered = shipped - _days(rng.uniform(2.0, 5.0))
                shipment = {"status": "DELIVERED", "shipped_days_ago": _days(shipped), "delivered_days_ago": _days(delivered)}
        if shipment is not None:
            carrier, number, url = _tracking(rng)
            shipment = {"carrier": carrier, "tracking_number": number, "tracking_url": url, **shipment}

        lines = []
        for item in spec.items:
            product = CATALOG[item.product]
            variant, sku = _variant(product, rng)
            price = Decimal(product.price) * (100 - item.discount_pct) / 100
            lines.append({
                "product": item.product,
                "title": product.title,
                "variant_title": variant,
                "sku": sku,
                "quantity": item.qty,
                "unit_price": _money(price),
                "product_tags": list(product.tags),
            })
        subtotal = sum((Decimal(li["unit_price"]) * li["quantity"] for li in lines), Decimal("0"))
        shipping = Decimal("0.00") if subtotal >= FREE_SHIPPING_FROM else FLAT_SHIPPING
        drafts.append({"spec": spec, "created": _days(created), "shipment": shipment, "lines": lines,
                       "shipping": shipping, "total": subtotal + shipping})

    # 2. number the orders in the order they were placed
    drafts.sort(key=lambda d: -d["created"])
    by_key: dict[str, dict[str, Any]] = {}
    line_no = fulfil_no = 0
    for n, d in enumerate(drafts, start=1):
        d["id"] = gid("Order", n)
        d["name"] = f"#{1000 + n}"
        for li in d["lines"]:
            line_no += 1
            li["id"] = gid("LineItem", line_no)
        if d["shipment"] is not None:
            fulfil_no += 1
            d["shipment"] = {"id": gid("Fulfillment", fulfil_no), **d["shipment"]}
        d["refunds"] = []
        by_key[d["spec"].key] = d

    # 3. returns, numbered in the order they were requested; refunds for the closed ones
    refunds: list[tuple[float, dict[str, Any], dict[str, Any]]] = []  # (days ago, order draft, refund)
    returns: list[dict[str, Any]] = []
    per_order: dict[str, int] = {}
    rli_no = 0
    stock_no = 0
    stock: dict[str, int] = {}  # exchange variant id -> sellable units
    for n, spec in enumerate(sorted(_returns(), key=lambda r: -r.requested), start=1):
        d = by_key[spec.order]
        per_order[spec.order] = per_order.get(spec.order, 0) + 1
        lines = []
        amount = Decimal("0")
        for line in spec.lines:
            li = next(x for x in d["lines"] if x["product"] == line.product)
            assert line.qty <= li["quantity"]
            rli_no += 1
            lines.append({
                "id": gid("ReturnLineItem", rli_no),
                "line_item_id": li["id"],
                "quantity": line.qty,
                "reason": line.reason,
                "reason_note": line.reason_note,
                "customer_note": line.customer_note,
            })
            amount += Decimal(li["unit_price"]) * line.qty
        ret = {
            "id": gid("Return", n),
            "name": f"{d['name']}-R{per_order[spec.order]}",
            "order_id": d["id"],
            "status": spec.status,
            "requested_days_ago": spec.requested,
            "line_items": lines,
            "scenario": spec.scenario,
        }
        if spec.exchange is not None:
            product, variant, units = spec.exchange
            stock_no += 1
            variant_id = gid("ProductVariant", stock_no)
            ret["exchange_items"] = [{"id": gid("ExchangeLineItem", stock_no), "variant_id": variant_id,
                                      "title": f"{CATALOG[product].title} — {variant}", "quantity": 1}]
            stock[variant_id] = units
        returns.append(ret)
        if spec.refunded is not None:
            assert spec.status == "CLOSED" and spec.refunded < spec.requested
            refunds.append((spec.refunded, d, {"amount": _money(amount), "note": f"Refund for return {ret['name']}",
                                               "return_id": ret["id"]}))
    for d in drafts:
        for r in d["spec"].refunds:
            refunds.append((r.days_ago, d, {"amount": r.amount, "note": r.note, "return_id": None}))
    for n, (days_ago, d, refund) in enumerate(sorted(refunds, key=lambda r: -r[0]), start=1):
        d["refunds"].append({"id": gid("Refund", n), "created_days_ago": days_ago, **refund})

    # 4. disputes
    disputes = []
    for n, spec in enumerate(sorted(_disputes(), key=lambda s: -s.initiated), start=1):
        d = by_key[spec.order]
        disputes.append({
            "id": gid("ShopifyPaymentsDispute", n),
            "order_id": d["id"],
            "status": spec.status,
            "reason": spec.reason,
            "amount": _money(d["total"]),
            "currency": CURRENCY,
            "initiated_days_ago": spec.initiated,
            "evidence_due_in_days": spec.evidence_due_in,
        })

    # 5. assemble
    orders = []
    for d in drafts:
        ospec: OrderSpec = d["spec"]
        person = people[ospec.customer] if ospec.customer else None
        orders.append({
            "id": d["id"],
            "name": d["name"],
            "customer_id": customer_ids[ospec.customer] if ospec.customer else None,
            "email": person.email if person else ospec.email,
            "created_days_ago": d["created"],
            "currency": CURRENCY,
            "shipping": _money(d["shipping"]),
            "total": _money(d["total"]),
            "tags": list(ospec.tags),
            "risk": {"level": ospec.risk, "facts": list(ospec.risk_facts)},
            "line_items": [{"id": li["id"], **{k: v for k, v in li.items() if k not in ("id", "product")}} for li in d["lines"]],
            "shipments": [d["shipment"]] if d["shipment"] else [],
            "refunds": d["refunds"],
            "scenario": ospec.scenario,
        })
    customers = [
        {
            "id": customer_ids[p.key],
            "first_name": p.first,
            "last_name": p.last,
            "email": p.email,
            "tags": list(p.tags),
            "created_days_ago": p.created,
            "persona": p.persona,
        }
        for p in PEOPLE
    ]
    return {
        "format": FORMAT,
        "generated_by": "python -m integrations.sample.generate",
        "seed": seed,
        "shop": {"name": "Ridgeline Outfitters", "domain": "ridgeline-outfitters.example", "currency": CURRENCY,
                 "timezone": TIMEZONE},
        "feed_days": FEED_DAYS,
        "customers": customers,
        "orders": orders,
        "returns": returns,
        "disputes": disputes,
        "stock": stock,
    }


def render(seed: int = SEED) -> str:
    """The exact text of `sample_store.json`."""
    return json.dumps(build(seed), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m integrations.sample.generate", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUTPUT, help=f"where to write (default: {OUTPUT.name} beside this module)")
    parser.add_argument("--check", action="store_true", help="do not write; exit 1 if the file differs from the generator")
    args = parser.parse_args(argv)
    data = build()
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else None
        if current != text:
            print(f"{args.out} is stale: run python -m integrations.sample.generate", file=sys.stderr)
            return 1
        print(f"{args.out} is up to date")
        return 0
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out} ({len(data['customers'])} customers, {len(data['orders'])} orders, {len(data['returns'])} returns)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
