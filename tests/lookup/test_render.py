"""blocks/order.py: the order context card, the pick-list and the usage line."""

from __future__ import annotations

import re

from datetime import datetime, timedelta, timezone

import pytest

from blocks.escape import ZWJ
from blocks.ids import ORDER_OPEN_PATTERN
from blocks.order import (
    CaseLink,
    OrderChoicesView,
    OrderContextView,
    Problem,
    UsageView,
    render_order_answer,
    render_order_choices,
    render_order_context,
    render_usage,
)
from blocks.views import PlaybookEntry
from policy.models import (
    DisputeStatus,
    CaseKind,
    CaseStatus,
    Customer,
    CustomerHistory,
    DeliveryStatus,
    Dispute,
    LineItem,
    Money,
    Order,
    PastReturn,
    PaymentRisk,
    Refund,
    ReturnLineItem,
    ReturnRequest,
    ReturnStatus,
    RiskLevel,
    Shipment,
    Signal,
    SignalCode,
)
from tests.blocks.limits import all_strings, block_texts, check_limits, text_objects
from tests.blocks.sample import INJECTION, RAW

NOW = datetime(2026, 11, 2, 14, 0, tzinfo=timezone.utc)
CARD_URL = "https://returnsbot-test.slack.com/archives/C0REVIEW01/p1700000000000100"
ORDER_URL = "https://admin.shopify.com/store/demo/orders/1001"


def usd(a: str) -> Money:
    return Money.of(a, "USD")


def order(**kw) -> Order:
    base = dict(
        id="gid://shopify/Order/1001", name="#1001", created_at=NOW - timedelta(days=20), currency="USD",
        total=usd("304.00"), received=usd("304.00"), refunded=usd("50.00"), financial_status="PARTIALLY_REFUNDED",
        fulfillment_status="FULFILLED", customer_id="gid://shopify/Customer/7", email="jane@example.com",
        line_items=(
            LineItem(id="li1", title="Trail Jacket", sku="TJ-1", variant_title="M / Red", quantity=1,
                     unit_price=usd("254.00")),
            LineItem(id="li2", title="Wool Socks", sku="WS-2", quantity=2, unit_price=usd("25.00")),
        ),
        shipments=(Shipment(id="f1", status=DeliveryStatus.DELIVERED, carrier="UPS", tracking_number="1Z999",
                            tracking_url="https://www.ups.com/track?tracknum=1Z999", shipped_at=NOW - timedelta(days=19),
                            delivered_at=NOW - timedelta(days=16)),),
        refunds=(Refund(id="r1", order_id="gid://shopify/Order/1001", created_at=NOW - timedelta(days=3),
                        amount=usd("50.00"), note="Socks returned"),),
        risk=PaymentRisk(source="shopify", level=RiskLevel.LOW),
    )
    base.update(kw)
    return Order(**base)


def customer(**kw) -> Customer:
    base = dict(id="gid://shopify/Customer/7", display_name="Jane Doe", email="jane@example.com", tags=("VIP",),
                orders_count=7, lifetime_spend=usd("2140.50"))
    base.update(kw)
    return Customer(**base)


def a_return(status=ReturnStatus.CLOSED, name="#1001-R1", note=None, title="Wool Socks") -> ReturnRequest:
    return ReturnRequest(
        id="gid://shopify/Return/1", name=name, order_id="gid://shopify/Order/1001", status=status,
        requested_at=NOW - timedelta(days=5),
        line_items=(ReturnLineItem(id="rli1", line_item_id="li2", title=title, quantity=2, unit_price=usd("25.00"),
                                   reason="SIZE_TOO_SMALL", customer_note=note),),
    )


def view(**kw) -> OrderContextView:
    base = dict(
        order=order(), now=NOW, customer=customer(),
        history=CustomerHistory(since=NOW - timedelta(days=365), orders_count=3, returns=(
            PastReturn(return_id="gid://shopify/Return/1", order_id="gid://shopify/Order/1001",
                       requested_at=NOW - timedelta(days=5), amount=usd("50.00"), status=ReturnStatus.CLOSED),)),
        returns=(a_return(),),
        disputes=(Dispute(id="d1", order_id="gid://shopify/Order/1001", status="NEEDS_RESPONSE", reason="FRAUDULENT",
                          amount=usd("304.00"), initiated_at=NOW - timedelta(days=1),
                          evidence_due_by=NOW + timedelta(days=13)),),
        signals=(Signal(code=SignalCode.OPEN_DISPUTE, weight=40, explanation="A chargeback is open"),
                 Signal(code=SignalCode.VIP_CUSTOMER, weight=-20, explanation="VIP customer: tagged VIP")),
        risk_score=20,
        cases=(CaseLink(case_id=12, kind=CaseKind.DISPUTE, status=CaseStatus.OPEN, amount=usd("304.00"),
                        opened_at=NOW - timedelta(hours=3), card_url=CARD_URL),),
        playbook=(PlaybookEntry(author="U0LEAD0001", created_at=NOW - timedelta(days=2), text="Send the UPS proof."),),
        order_url=ORDER_URL,
    )
    base.update(kw)
    return OrderContextView(**base)


def test_the_order_card_shows_what_a_person_needs():
    payload = render_order_context(view())
    check_limits(payload)
    texts = block_texts(payload)
    assert payload["blocks"][0] == {"type": "header", "text": {"type": "plain_text", "text": "Order #1001 · $304.00",
                                                               "emoji": True}}
    for expected in ("*Partially refunded*", "*Fulfilled*", "risk 20/100",  # status
                     "Jane Doe :star: VIP", "*Lifetime spend*\n$2,140.50 · 7 orders", "*Last 365 days*\n3 orders · 1 return",
                     "$304.00 received · $50.00 refunded\n$254.00 left to refund",  # payment
                     "1 × Trail Jacket (M / Red) — $254.00 · SKU TJ-1", "2 × Wool Socks — $50.00",  # items
                     "*Delivered* · UPS · <https://www.ups.com/track?tracknum=1Z999|Track 1Z999>",  # delivery
                     "Return *#1001-R1* · Closed · $50.00", "2 × Wool Socks (Size too small)",  # returns
                     "Refund *$50.00*", "“Socks returned”", "Refunded so far: *$50.00* of $304.00",  # refunds
                     ":rotating_light: Dispute · Needs response · $304.00 · Fraudulent", "evidence due",  # disputes
                     "*open dispute* (+40) — A chargeback is open", "*VIP customer* (−20)",  # signals
                     f"*Case 12* · Dispute · $304.00 · *Needs a decision* · opened 3 hours ago · <{CARD_URL}|open the card>",
                     "<@U0LEAD0001> · 2 days ago\n>Send the UPS proof.",  # playbook
                     f"<{ORDER_URL}|Order #1001 in Shopify admin>"):
        assert expected in texts, expected
    assert payload["text"] == ("Order #1001 · $304.00 · Jane Doe: Partially refunded, Fulfilled; 3 items; "
                               "lifetime spend $2,140.50; 1 return, $50.00 refunded; signals: open dispute, VIP customer; "
                               "case 12: needs a decision")


def test_guest_checkout_no_returns_no_signals_no_case():
    payload = render_order_context(view(customer=None, history=None, returns=(), disputes=(), signals=(), cases=(),
                                        playbook=(), order_url=None, risk_score=0,
                                        order=order(customer_id=None, refunds=(), refunded=usd("0"),
                                                    financial_status="PAID", shipments=())))
    check_limits(payload)
    texts = block_texts(payload)
    assert "*Customer*\nGuest checkout\njane@example.com" in texts
    assert "None so far." in texts and "No risk signals" in texts and "No case on this order." in texts
    assert "Not shipped yet." in texts and "left to refund" not in texts
    assert "lifetime spend" not in payload["text"]


def test_parts_that_could_not_be_read_are_named():
    texts = block_texts(render_order_context(view(history=None, unavailable=("customer history", "disputes"))))
    assert ":warning: Couldn't load customer history, disputes just now; the rest is current." in texts
    assert "*Last 365 days*" not in texts


def test_escalated_and_auto_approved_cases():
    cases = (
        CaseLink(case_id=3, kind=CaseKind.RETURN_REQUEST, status=CaseStatus.ESCALATED, amount=usd("50.00"),
                 opened_at=NOW - timedelta(days=1), card_url=CARD_URL, escalation_url=CARD_URL + "9"),
        CaseLink(case_id=2, kind=CaseKind.ORDER_REVIEW, status=CaseStatus.DONE, amount=usd("304.00"),
                 opened_at=NOW - timedelta(days=20), auto_approved=True),
    )
    texts = block_texts(render_order_context(view(cases=cases)))
    assert "*Cases on this order*" in texts
    assert f"*Escalated* · opened 1 day ago · <{CARD_URL}|open the card> · <{CARD_URL}9|escalation card>" in texts
    assert "*Case 2* · Order review · $304.00 · *Auto-approved*" in texts


def huge_view() -> OrderContextView:
    long = "W" * 5000
    items = tuple(LineItem(id=f"li{i}", title=long, sku=long, variant_title=long, quantity=1, unit_price=usd("1.00"))
                  for i in range(250))
    ships = tuple(Shipment(id=f"s{i}", status=DeliveryStatus.IN_TRANSIT, carrier=long, tracking_number=long,
                           tracking_url="https://ups.example/" + "a" * 1900) for i in range(20))
    refunds = tuple(Refund(id=f"r{i}", order_id="o", created_at=NOW, amount=usd("1.00"), note="&" * 3000)
                    for i in range(100))
    returns = tuple(a_return(name=long, note=long, title=long).model_copy(update={"id": f"ret{i}"}) for i in range(50))
    disputes = tuple(Dispute(id=f"d{i}", order_id="o", status=DisputeStatus.UNDER_REVIEW, reason=long, amount=usd("1"), initiated_at=NOW)
                     for i in range(20))
    signals = tuple(Signal(code=c, weight=10, explanation="<&>" * 1000) for c in SignalCode)
    cases = tuple(CaseLink(case_id=i, kind=CaseKind.RETURN_REQUEST, status=CaseStatus.OPEN, amount=usd("1"),
                           opened_at=NOW, card_url=CARD_URL) for i in range(1, 30))
    playbook = tuple(PlaybookEntry(author="U0LEAD0001", created_at=NOW, text="&" * 3000) for _ in range(10))
    return view(order=order(name=long, tags=(long,) * 50, line_items=items, shipments=ships, refunds=refunds),
                customer=customer(display_name=long, email=long, tags=(long,) * 100), returns=returns,
                disputes=disputes, signals=signals, cases=cases, playbook=playbook,
                unavailable=(long,) * 10)


def test_huge_inputs_still_fit():
    payload = render_order_context(huge_view())
    check_limits(payload)
    texts = block_texts(payload)
    assert "…and 230 more items" in texts or "more items" in texts
    assert "…and 26 older cases" in texts


def test_customer_text_can_never_ping_or_link():
    evil = INJECTION
    v = view(order=order(name=evil, email=evil, tags=(evil,),
                         line_items=(LineItem(id="x", title=evil, sku=evil, variant_title=evil, quantity=1,
                                              unit_price=usd("1")),),
                         shipments=(Shipment(id="s", status=DeliveryStatus.IN_TRANSIT, carrier=evil,
                                             tracking_number=evil, tracking_url="https://ups.example/t?x=|<!channel>"),),
                         refunds=(Refund(id="r", order_id="o", created_at=NOW, amount=usd("1"), note=evil),)),
             customer=customer(display_name=evil, email=evil, tags=(evil,)),
             returns=(a_return(name=evil, title=evil),),
             disputes=(Dispute(id="d", order_id="o", status=DisputeStatus.NEEDS_RESPONSE, reason=evil, amount=usd("1"), initiated_at=NOW),),
             signals=(Signal(code=SignalCode.HIGH_VALUE, weight=10, explanation=evil),),
             playbook=(PlaybookEntry(author="U0LEAD0001", created_at=NOW, text=evil),),
             unavailable=(evil,))
    payloads = [render_order_context(v),
                render_order_choices(OrderChoicesView(query=evil, orders=(v.order, order()), now=NOW)),
                *(render_usage(UsageView(p, evil, reference=evil)) for p in Problem)]
    ours = re.compile(r"<@U0LEAD0001>|<!date\^\d+\^\{date_short_pretty\}( at \{time\})?\|[0-9: -]+(UTC)?>"
                      r"|<https://(admin\.shopify\.com|ups\.example|returnsbot-test\.slack\.com)/[^|<>\s]*\|[^<>]*>")
    for payload in payloads:
        check_limits(payload)
        for s in all_strings(payload):
            for raw in RAW:
                assert raw not in s, (raw, s)
        for t in text_objects(payload["blocks"]):
            if t["type"] == "mrkdwn":
                leftover = ours.sub("", t["text"]).replace("\n>", "\n").lstrip(">")
                assert "<" not in leftover and ">" not in leftover, t["text"]
        assert "<" not in payload["text"] and ">" not in payload["text"]
    assert f"@{ZWJ}here" in block_texts(payloads[0])


def test_pick_list_newest_first_with_buttons_and_commands():
    orders = tuple(order(id=f"gid://shopify/Order/{n}", name=f"#{n}", created_at=NOW - timedelta(days=n - 1000))
                   for n in (1042, 1025, 1001))
    payload = render_order_choices(OrderChoicesView(query="d.okafor@example.net", orders=orders, now=NOW))
    check_limits(payload)
    assert payload["blocks"][0]["text"]["text"] == "*3 orders* for d.okafor@example.net, newest first:"
    buttons = [b["accessory"] for b in payload["blocks"][1:]]
    assert [b["value"] for b in buttons] == [o.id for o in orders]
    assert [b["text"]["text"] for b in buttons] == ["Show #1042", "Show #1025", "Show #1001"]
    assert all(re.match(ORDER_OPEN_PATTERN, b["action_id"]) for b in buttons)
    assert "or type `/order #1042`" in block_texts(payload)
    assert payload["text"].startswith("3 orders for d.okafor@example.net: #1042, #1025, #1001.")


def test_pick_list_caps_at_ten_and_says_there_may_be_more():
    orders = tuple(order(id=f"gid://shopify/Order/{n}", name=f"#{n}") for n in range(1, 16))
    payload = render_order_choices(OrderChoicesView(query="x@y.z", orders=orders, now=NOW, maybe_more=True))
    check_limits(payload)
    assert sum(1 for b in payload["blocks"] if "accessory" in b) == 10
    assert "Showing the newest 10" in block_texts(payload)


@pytest.mark.parametrize("problem, expected", [
    (Problem.EMPTY, "Look an order up with `/order 1001`"),
    (Problem.MALFORMED, "“foo bar” isn't an order number, an email or an order gid."),
    (Problem.NOT_FOUND, "No order matches “foo bar”."),
    (Problem.UNAVAILABLE, "Couldn't reach the store to look up “foo bar”"),
    (Problem.FAILED, "Reference: `abc12345`"),
])
def test_usage_lines(problem, expected):
    payload = render_order_answer(UsageView(problem, "foo bar", reference="abc12345"))
    check_limits(payload)
    assert expected in payload["text"] and expected in block_texts(payload)
    if problem in (Problem.EMPTY, Problem.MALFORMED, Problem.NOT_FOUND):
        assert "`/order customer@example.com`" in payload["text"]


def test_render_order_answer_dispatches():
    assert render_order_answer(view()) == render_order_context(view())
    with pytest.raises(ValueError):
        OrderContextView(order=order(), now=datetime(2026, 1, 1))


def test_a_returns_stages_show_on_its_case_line():
    from blocks.stages import StagesView
    from policy.lifecycle import ReturnStage, StageUpdate, Tracking

    def upd(stage, at, **kw):
        return StageUpdate(return_id="r1", stage=stage, at=at, source="shopify", ref=stage.value, **kw)

    history = (upd(ReturnStage.APPROVED, NOW - timedelta(days=3), by="Ana"),
               upd(ReturnStage.LABEL_SENT, NOW - timedelta(days=2),
                   tracking=Tracking(carrier="<!channel> UPS", number="1Z999")))
    stages = StagesView(stage=ReturnStage.LABEL_SENT, stage_at=NOW - timedelta(days=2), history=history,
                        tz="America/New_York")
    link = CaseLink(case_id=7, kind=CaseKind.RETURN_REQUEST, status=CaseStatus.DONE, amount=usd("50.00"),
                    opened_at=NOW - timedelta(days=4), stages=stages)
    payload = render_order_context(view(cases=(link,)))
    check_limits(payload)
    text = block_texts(payload)
    assert "*Label sent 2 d ago* · " in text and "UPS 1Z999" in text
    # Times in the shop's zone (New York: EDT until Nov 1, EST after).
    assert "Approved Oct 30 10:00 EDT → Label sent Oct 31 10:00 EDT" in text
    assert "<!channel>" not in text


@pytest.mark.parametrize(("state", "words"), [
    ("review", "*in its review queue*"),
    ("flagged", "*flagged (it won't process until unflagged there)*"),
    ("open", "*open*"),
    ("processing", "*processing (queued there)*"),
    ("processed", "*processed and closed*"),
    ("closed", "*closed without its outcomes*"),
    ("cancelled", "*cancelled*"),
])
def test_a_platform_owned_return_shows_its_state_there_and_the_link(state, words):
    from blocks.views import PlatformView

    platform = PlatformView(label="Loop", state=state, admin_url="https://admin.loopreturns.com/returns/880001")
    link = CaseLink(case_id=7, kind=CaseKind.RETURN_REQUEST, status=CaseStatus.OPEN, amount=usd("50.00"),
                    opened_at=NOW - timedelta(days=1), platform=platform)
    payload = render_order_context(view(cases=(link,)))
    check_limits(payload)
    text = block_texts(payload)
    assert f":arrows_counterclockwise: Loop owns this return: {words}" in text
    assert "<https://admin.loopreturns.com/returns/880001|open it in Loop>" in text


def test_a_platform_label_and_state_cannot_ping_and_a_bad_link_is_dropped():
    from blocks.views import PlatformView

    platform = PlatformView(label="<!channel> Loop", state="<!here>", admin_url="javascript:alert(1)")
    link = CaseLink(case_id=7, kind=CaseKind.RETURN_REQUEST, status=CaseStatus.OPEN, amount=usd("50.00"),
                    opened_at=NOW - timedelta(days=1), platform=platform)
    text = block_texts(render_order_context(view(cases=(link,))))
    assert "<!channel>" not in text and "<!here>" not in text and "javascript:" not in text
