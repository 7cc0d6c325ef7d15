from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

import pytest

from blocks.card import render_case_card
from blocks.escape import ZWJ
from blocks.ids import ActionId, BlockId
from blocks.views import DeclineReason, PlaybookEntry
from policy.models import Action, CaseKind, CaseStatus, SignalCode
from tests.blocks.limits import all_strings, block_texts, check_limits, text_objects
from tests.blocks.sample import (
    APPROVER,
    DECIDED_AT,
    ESCALATION_URL,
    GROUP,
    INJECTION,
    LEAD,
    NOW,
    ORDER_URL,
    RAW,
    RETURN_URL,
    case_view,
    decided,
    escalation,
    huge_view,
    injected_view,
    recommendation,
    signal,
    usd,
)

WHEN = f"<!date^{int(DECIDED_AT.timestamp())}^{{date_short_pretty}} at {{time}}|2026-11-02 14:02 UTC>"
REF = "v1:case:42:3"


def actions(payload: dict) -> list[dict]:
    return [b for b in payload["blocks"] if b["type"] == "actions"]


def buttons(payload: dict) -> dict[str, dict]:
    found = actions(payload)
    assert len(found) <= 1
    return {el["action_id"]: el for el in found[0]["elements"]} if found else {}


def variants():
    """Every status × kind × signals, plus the card variants a status can have."""
    for kind in CaseKind:
        for status in CaseStatus:
            for sigs in ((), (signal(SignalCode.OUTSIDE_WINDOW, 30), signal(SignalCode.VIP_CUSTOMER, -20))):
                base = case_view(kind=kind, signals=sigs)
                action = Action.REFUND if kind is CaseKind.RETURN_REQUEST else Action.ACCEPT
                if status in (CaseStatus.OPEN,):
                    yield replace(base, status=status)
                elif status is CaseStatus.ESCALATED:
                    yield replace(base, status=status, escalation=escalation())
                    yield replace(base, status=status, escalation=escalation(), escalation_card=True)
                    yield replace(base, status=status)
                else:
                    yield decided(base, status, action, note="checked the photos")
                    yield replace(decided(base, status, action, by=None), auto_approved=True, results=("refund $149.00 issued",))
                    yield replace(base, status=status)  # no decision recorded


ALL = list(variants())


@pytest.mark.parametrize("view", ALL, ids=lambda v: f"{v.kind.value}-{v.status.value}-{len(v.signals)}")
def test_every_card_passes_slack_validation_and_limits(view) -> None:
    payload = render_case_card(view)
    check_limits(payload)
    assert set(payload) == {"blocks", "text"}


@pytest.mark.parametrize("status", list(CaseStatus))
@pytest.mark.parametrize("escalation_card", [False, True])
def test_huge_inputs_still_fit(status: CaseStatus, escalation_card: bool) -> None:
    view = replace(huge_view(status=status, escalation_card=escalation_card), decision=None)
    payload = render_case_card(view)
    check_limits(payload)
    texts = block_texts(payload)
    assert "…and 192 more items" in texts
    assert "…and " in texts and "more signals" in texts
    header = payload["blocks"][0]["text"]["text"]
    assert header.startswith("Return request · #999") and header.endswith("… · $123,456,789.99")  # amount kept
    payload = render_case_card(decided(view, status, Action.STORE_CREDIT, note="n" * 10_000))
    check_limits(payload)
    # The fallback keeps what happened, however long the names are.
    assert payload["text"].startswith("Return request · #999")
    assert "$123,456,789.99 · NNN" in payload["text"]
    if status is CaseStatus.FAILED:
        assert payload["text"].endswith("store credit $123,456,789.99 failed, retry from the card")


def test_header_customer_items_shipping_links() -> None:
    view = case_view(signals=(signal(SignalCode.OUTSIDE_WINDOW, 30, "Requested 45 days after delivery; the window is 30 days"),))
    payload = render_case_card(view)
    blocks = payload["blocks"]
    assert blocks[0] == {"type": "header", "text": {"type": "plain_text", "text": "Return request · #1001 · $149.00", "emoji": True}}
    texts = block_texts(payload)
    customer = next(b for b in blocks if "fields" in b)
    assert [f["text"] for f in customer["fields"]] == [
        "*Customer*\nJane Doe\njane@example.com",
        "*Orders*\n12",
        "*Lifetime spend*\n$2,340.00",
        "*Returns, last 12 months*\n1",
        "*Tags*\nnewsletter, wholesale",
    ]
    assert ":package: *1 × Trail Jacket* — $149.00 · SKU TJ-BLK-M" in texts
    assert "Reason: Size too small — “Runs small”" in texts
    assert "Customer note:\n>Please send a large instead." in texts
    assert "*Delivered* · UPS · <https://www.ups.com/track?tracknum=1Z999&amp;loc=en_US|Track 1Z999>" in texts
    assert "(3 days ago)" in texts
    assert ":small_red_triangle: *outside window* (+30) — Requested 45 days after delivery; the window is 30 days" in texts
    assert f"<{ORDER_URL}|Order #1001 in Shopify admin>" in texts
    assert f"<{RETURN_URL}|Return #1001-R1 in Shopify admin>" in texts
    assert all(t.get("verbatim") is True for t in text_objects(blocks) if t["type"] == "mrkdwn")


def test_vip_customer_and_no_signals() -> None:
    view = case_view(customer=replace(case_view().customer, vip=True))
    texts = block_texts(render_case_card(view))
    assert "Jane Doe :star: VIP" in texts
    assert "No risk signals." in texts


def test_recommendation_reasons_conflicts_and_who_decides() -> None:
    rec = recommendation(
        Action.STORE_CREDIT,
        reasons=("Store credit: a VIP exception to the return policy.",),
        conflicts=("outside window, but VIP with 1 return in 2 years → store credit",),
    )
    texts = block_texts(render_case_card(case_view(recommendation=rec)))
    assert "*Recommended: store credit $149.00* · risk 35/100" in texts
    assert "• Store credit: a VIP exception to the return policy." in texts
    assert ":scales: outside window, but VIP with 1 return in 2 years → store credit" in texts
    assert f"Needs *Tier 1 (≤ $250)*: <@{APPROVER}>, <!subteam^{GROUP}>" in texts


def test_open_card_buttons() -> None:
    payload = render_case_card(case_view())
    found = buttons(payload)
    assert list(found) == [ActionId.CASE_APPROVE, ActionId.CASE_DENY, ActionId.CASE_ESCALATE]
    assert found[ActionId.CASE_APPROVE]["text"]["text"] == "Approve refund $149.00"
    assert found[ActionId.CASE_APPROVE]["style"] == "primary"
    assert found[ActionId.CASE_DENY]["text"]["text"] == "Deny"
    assert found[ActionId.CASE_DENY]["style"] == "danger"
    assert "confirm" not in found[ActionId.CASE_DENY]  # Deny opens a modal instead
    assert found[ActionId.CASE_ESCALATE]["text"]["text"] == "Escalate"
    assert "style" not in found[ActionId.CASE_ESCALATE]
    assert {b["value"] for b in found.values()} == {REF}
    assert actions(payload)[0]["block_id"] == BlockId.CASE_ACTIONS


@pytest.mark.parametrize(
    ("action", "label"),
    [
        (Action.REFUND, "Approve refund $149.00"),
        (Action.STORE_CREDIT, "Approve store credit $149.00"),
        (Action.EXCHANGE, "Approve exchange"),
    ],
)
def test_approve_label_follows_the_recommendation(action: Action, label: str) -> None:
    payload = render_case_card(case_view(recommendation=recommendation(action)))
    assert buttons(payload)[ActionId.CASE_APPROVE]["text"]["text"] == label


def test_escalate_recommended_makes_escalate_the_primary_button() -> None:
    found = buttons(render_case_card(case_view(recommendation=recommendation(Action.ESCALATE))))
    assert found[ActionId.CASE_APPROVE]["text"]["text"] == "Approve refund $149.00"
    assert "style" not in found[ActionId.CASE_APPROVE]
    assert found[ActionId.CASE_ESCALATE]["style"] == "primary"


@pytest.mark.parametrize("kind", [CaseKind.HIGH_VALUE_REFUND, CaseKind.ORDER_REVIEW])
def test_reviews_offer_acknowledge_and_escalate_only(kind: CaseKind) -> None:
    payload = render_case_card(case_view(kind=kind, recommendation=recommendation(Action.ACCEPT)))
    found = buttons(payload)
    assert list(found) == [ActionId.CASE_APPROVE, ActionId.CASE_ESCALATE]
    assert found[ActionId.CASE_APPROVE]["text"]["text"] == "Acknowledge"
    assert payload["blocks"][0]["text"]["text"].startswith(
        {"high_value_refund": "High-value refund", "order_review": "Order review"}[kind.value]
    )


def test_buttons_only_while_decidable() -> None:
    for view in ALL:
        payload = render_case_card(view)
        found = buttons(payload)
        decidable = not view.auto_approved and (
            (view.status is CaseStatus.OPEN and not view.escalation_card)
            or (view.status is CaseStatus.ESCALATED and view.escalation_card)
        )
        if view.status is CaseStatus.FAILED:
            assert list(found) == [ActionId.CASE_RETRY], view
        elif decidable:
            # A ticket's own buttons: Edit & send always (Approve & send needs a draft, blocks/ticket.py).
            assert (ActionId.TICKET_EDIT if view.kind is CaseKind.TICKET else ActionId.CASE_APPROVE) in found, view
        else:
            assert found == {}, view
            assert actions(payload) == []


def test_a_new_version_goes_into_every_button() -> None:
    found = buttons(render_case_card(case_view(version=7)))
    assert {b["value"] for b in found.values()} == {"v1:case:42:7"}


def test_after_approval_the_card_says_who_what_when_and_has_no_buttons() -> None:
    view = replace(decided(case_view(), CaseStatus.DONE), results=("refund $149.00 issued",))
    payload = render_case_card(view)
    assert actions(payload) == []
    texts = block_texts(payload)
    assert f":white_check_mark: Approved by <@{APPROVER}> {WHEN} — refund $149.00 issued" in texts
    assert "Needs *Tier 1" not in texts  # nobody needs to decide any more
    assert payload["text"] == "Return request · #1001 · $149.00 · Jane Doe: approved at 2026-11-02 14:02 UTC — refund $149.00 issued"


@pytest.mark.parametrize("status", [CaseStatus.APPROVED, CaseStatus.EXECUTING])
def test_while_executing(status: CaseStatus) -> None:
    payload = render_case_card(decided(case_view(), status))
    assert f":hourglass_flowing_sand: Approved by <@{APPROVER}> {WHEN} — refund $149.00 · executing…" in block_texts(payload)
    assert actions(payload) == []


def test_partial_results_while_running_and_after_a_failure() -> None:
    running = replace(decided(case_view(), CaseStatus.EXECUTING), results=("return approved",))
    assert f"Approved by <@{APPROVER}> {WHEN} — return approved · executing…" in block_texts(render_case_card(running))
    failed = replace(running, status=CaseStatus.FAILED, error="timeout")
    assert f"Approved by <@{APPROVER}> {WHEN} — return approved; refund $149.00 failed" in block_texts(render_case_card(failed))


def test_done_without_results_says_done() -> None:
    view = decided(case_view(), CaseStatus.DONE, Action.EXCHANGE)
    assert f"Approved by <@{APPROVER}> {WHEN} — exchange: done" in block_texts(render_case_card(view))


def test_denied_shows_reason_and_note() -> None:
    view = decided(case_view(), CaseStatus.DONE, Action.DENY, decline_reason=DeclineReason.FINAL_SALE, note="Final sale, see tags")
    view = replace(view, results=("return declined",))
    texts = block_texts(render_case_card(view))
    assert f":no_entry_sign: Denied by <@{APPROVER}> {WHEN} — return declined\nReason: Final sale item\nNote:\n>Final sale, see tags" in texts


def test_failed_shows_the_error_and_a_retry_button() -> None:
    view = replace(decided(case_view(), CaseStatus.FAILED), error="Shopify: Refund amount exceeds the refundable amount")
    payload = render_case_card(view)
    texts = block_texts(payload)
    assert f":warning: Approved by <@{APPROVER}> {WHEN} — refund $149.00 failed" in texts
    assert ">Shopify: Refund amount exceeds the refundable amount" in texts
    assert "Retry runs it again" in texts
    found = buttons(payload)
    assert list(found) == [ActionId.CASE_RETRY]
    assert found[ActionId.CASE_RETRY]["text"]["text"] == "Retry"
    assert found[ActionId.CASE_RETRY]["value"] == REF
    assert payload["text"].endswith("refund $149.00 failed, retry from the card")


def test_auto_approved_is_an_fyi_card() -> None:
    view = replace(
        decided(case_view(amount=usd("42.00"), recommendation=recommendation(amount="42.00")), CaseStatus.DONE, by=None),
        auto_approved=True,
        results=("refund $42.00 issued",),
    )
    payload = render_case_card(view)
    assert actions(payload) == []
    texts = block_texts(payload)
    assert f"Auto-approved by policy {WHEN} — refund $42.00 issued" in texts
    assert "*Auto-approved*" in texts
    assert "auto-approved by policy" in payload["text"]


def test_closed_in_shopify_admin() -> None:
    view = decided(case_view(), CaseStatus.CLOSED, by=None)
    payload = render_case_card(view)
    assert f"Approved in Shopify admin {WHEN}" in block_texts(payload)
    assert actions(payload) == []
    declined = decided(case_view(), CaseStatus.CLOSED, Action.DENY, by=None)
    assert "Declined in Shopify admin" in block_texts(render_case_card(declined))
    assert "Closed in Shopify admin" in block_texts(render_case_card(case_view(status=CaseStatus.CLOSED)))


def test_escalated_owner_card_points_to_the_escalation_card() -> None:
    payload = render_case_card(case_view(status=CaseStatus.ESCALATED, escalation=escalation()))
    texts = block_texts(payload)
    assert f":arrow_double_up: Escalated by <@{APPROVER}> {WHEN} to *Tier 2 (≤ $1,000)*" in texts
    assert ">Customer says it never arrived" in texts
    assert f"Waiting for a decision on <{ESCALATION_URL}|the escalation card>." in texts
    assert actions(payload) == []


def test_escalation_card_has_approve_and_deny_but_no_escalate() -> None:
    view = case_view(status=CaseStatus.ESCALATED, escalation=escalation(), escalation_card=True, approvers=(LEAD,))
    payload = render_case_card(view)
    found = buttons(payload)
    assert list(found) == [ActionId.CASE_APPROVE, ActionId.CASE_DENY]
    texts = block_texts(payload)
    assert "Decide here: this card has the buttons now." in texts
    assert f"<@{LEAD}>" in texts


def test_decided_after_escalation_keeps_the_escalation_line() -> None:
    view = replace(decided(case_view(escalation=escalation()), CaseStatus.DONE, by=LEAD), results=("refund $149.00 issued",))
    texts = block_texts(render_case_card(view))
    assert f"Approved by <@{LEAD}> {WHEN} — refund $149.00 issued" in texts
    assert f"Escalated by <@{APPROVER}> {WHEN} · <{ESCALATION_URL}|escalation card>" in texts


def test_acknowledged_review() -> None:
    view = decided(case_view(kind=CaseKind.ORDER_REVIEW, recommendation=recommendation(Action.ACCEPT)), CaseStatus.DONE, Action.ACCEPT)
    payload = render_case_card(view)
    assert f":white_check_mark: Acknowledged by <@{APPROVER}> {WHEN}" in block_texts(payload)
    assert "Order review · #1001 · $149.00 · Jane Doe: acknowledged at 2026-11-02 14:02 UTC" == payload["text"]


def test_playbook_shows_three_entries() -> None:
    entries = tuple(PlaybookEntry(author=LEAD, created_at=NOW - timedelta(days=d), text=f"tip {d}") for d in range(1, 6))
    texts = block_texts(render_case_card(case_view(playbook=entries)))
    assert ":notebook: *Playbook from earlier cases*" in texts
    assert f"<@{LEAD}> · 1 day ago\n>tip 1" in texts
    assert ">tip 3" in texts and ">tip 4" not in texts


def test_open_fallback_text() -> None:
    payload = render_case_card(case_view())
    assert payload["text"] == "Return request · #1001 · $149.00 · Jane Doe: needs a decision (recommended: refund $149.00)"


# --- injection ------------------------------------------------------------------------------

# The only tokens the card itself may contain.
OURS = re.compile(
    r"<@(U0APPROVER1|U0LEAD0001)>"
    r"|<!subteam\^S0OPSLEADS>"
    r"|<!date\^\d+\^\{date_short_pretty\}( at \{time\})?\|[0-9: -]+(UTC)?>"
    r"|<https://(admin\.shopify\.com|www\.ups\.com|ups\.example|demo\.slack\.com)/[^|<>\s]*\|[^<>]*>"
)


def injected_variants():
    for status in CaseStatus:
        base = injected_view(status=status)
        yield base
        yield replace(base, escalation_card=True)
        yield decided(base, status, Action.DENY, note=INJECTION, decline_reason=DeclineReason.OTHER)
        yield replace(decided(base, status, by=None), auto_approved=True)


@pytest.mark.parametrize("view", list(injected_variants()), ids=lambda v: f"{v.status.value}")
def test_customer_text_can_never_ping_or_link(view) -> None:
    payload = render_case_card(view)
    check_limits(payload)
    for s in all_strings(payload):
        for raw in RAW:
            assert raw not in s, (raw, s)
    for t in text_objects(payload["blocks"]):
        if t["type"] == "mrkdwn":
            leftover = OURS.sub("", t["text"])
            assert "<" not in leftover and ">" not in leftover.replace("\n>", "\n").lstrip(">"), t["text"]
    assert "<" not in payload["text"] and ">" not in payload["text"]
    assert "&amp;amp;" in block_texts(payload)
    assert f"@{ZWJ}here" in block_texts(payload)


def test_fallback_text_is_escaped() -> None:
    view = case_view(customer=replace(case_view().customer, name="Tom &amp; <!here> @here"))
    text = render_case_card(view)["text"]
    assert text.startswith(f"Return request · #1001 · $149.00 · Tom &amp;amp; &lt;!here&gt; @{ZWJ}here: needs a decision")


def test_forged_tracking_link_is_defused() -> None:
    texts = block_texts(render_case_card(injected_view()))
    assert "<https://ups.example/t?x=%7C%3C!channel%3E" in texts


def test_customer_note_cannot_fake_a_quote_or_break_out() -> None:
    texts = block_texts(render_case_card(injected_view()))
    assert ">&gt; fake quote" in texts


# --- one primary action: a "deny" recommendation ------------------------------------------------


@pytest.mark.parametrize(
    ("signals", "label"),
    [
        ((signal(SignalCode.OUTSIDE_WINDOW, 25),), "Decline — outside window"),
        ((signal(SignalCode.FINAL_SALE, 20),), "Decline — final sale"),
        ((signal(SignalCode.FINAL_SALE, 20), signal(SignalCode.OUTSIDE_WINDOW, 25)), "Decline — outside window"),
        ((), "Decline return"),
    ],
)
def test_deny_recommended_the_primary_button_declines_and_the_alternative_is_an_override(signals, label) -> None:
    view = case_view(recommendation=recommendation(Action.DENY, amount="64.50"), signals=signals)
    found = buttons(render_case_card(view))
    assert list(found) == [ActionId.CASE_APPROVE, ActionId.CASE_OVERRIDE, ActionId.CASE_ESCALATE]
    assert ActionId.CASE_DENY not in found  # no second way to decline
    primary = [b for b in found.values() if b.get("style") == "primary"]
    assert primary == [found[ActionId.CASE_APPROVE]]
    assert found[ActionId.CASE_APPROVE]["text"]["text"] == label
    assert found[ActionId.CASE_OVERRIDE]["text"]["text"] == "Override: refund $64.50"
    assert "style" not in found[ActionId.CASE_OVERRIDE] and "style" not in found[ActionId.CASE_ESCALATE]
    assert {b["value"] for b in found.values()} == {REF}


def test_deny_recommended_on_the_escalation_card_has_no_escalate() -> None:
    view = case_view(status=CaseStatus.ESCALATED, escalation=escalation(), escalation_card=True, approvers=(LEAD,),
                     recommendation=recommendation(Action.DENY), signals=(signal(SignalCode.OUTSIDE_WINDOW, 25),))
    found = buttons(render_case_card(view))
    assert list(found) == [ActionId.CASE_APPROVE, ActionId.CASE_OVERRIDE]
    assert found[ActionId.CASE_APPROVE]["text"]["text"] == "Decline — outside window"


@pytest.mark.parametrize("action", [Action.REFUND, Action.STORE_CREDIT, Action.EXCHANGE, Action.ESCALATE])
def test_other_recommendations_keep_approve_deny_escalate(action) -> None:
    found = buttons(render_case_card(case_view(recommendation=recommendation(action))))
    assert list(found) == [ActionId.CASE_APPROVE, ActionId.CASE_DENY, ActionId.CASE_ESCALATE]
    assert sum(1 for b in found.values() if b.get("style") == "primary") == 1


# --- the sample store, and a snapshot that could not be read ---------------------------------------


def test_a_card_from_the_sample_store_says_so() -> None:
    payload = render_case_card(case_view(sample_store=True))
    assert "Sample store — not a real shop" in block_texts(payload)
    assert "sample store" in payload["text"].lower()
    plain = render_case_card(case_view())
    assert "sample store" not in (block_texts(plain) + plain["text"]).lower()


def test_details_unavailable_card_shows_the_case_columns_and_stays_decidable() -> None:
    view = case_view(details_unavailable=True, items=(), shipments=(), signals=(
        signal(SignalCode.OUTSIDE_WINDOW, 0, explanation=""),), recommendation=recommendation(Action.DENY, reasons=()))
    payload = render_case_card(view)
    texts = block_texts(payload)
    assert "Details unavailable" in texts
    assert "outside window" in texts
    assert "(0)" not in texts and " — \n" not in texts
    assert ActionId.CASE_APPROVE in buttons(payload)
    check_limits(payload)


def test_delayed_shipment_offers_reship_only_once_the_order_shipped() -> None:
    from blocks.views import ShippingView
    from policy.models import DeliveryStatus

    in_transit = case_view(kind=CaseKind.DELAYED_SHIPMENT, recommendation=recommendation(Action.ACCEPT),
                           shipments=(ShippingView(status=DeliveryStatus.IN_TRANSIT),))
    assert list(buttons(render_case_card(in_transit))) == [
        ActionId.CASE_APPROVE, ActionId.SHIPMENT_RESHIP, ActionId.SHIPMENT_REFUND_SHIPPING, ActionId.CASE_ESCALATE]
    unshipped = replace(in_transit, shipments=(ShippingView(status=DeliveryStatus.UNFULFILLED),))
    found = buttons(render_case_card(unshipped))
    assert ActionId.SHIPMENT_RESHIP not in found  # the order itself still owes the items
    assert found[ActionId.SHIPMENT_REFUND_SHIPPING]["confirm"]["title"]["text"] == "Refund the shipping?"
