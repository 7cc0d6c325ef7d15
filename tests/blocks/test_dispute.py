"""The dispute card: countdown, the evidence packet, Submit evidence / Accept the loss with
confirmations, Assign, and hostile text from the packet escaped."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from blocks.card import render_case_card
from blocks.dispute import countdown
from blocks.ids import ActionId, BlockId
from blocks.views import DisputeView
from policy.disputes import EvidencePacket, EvidenceField, Section
from policy.models import Action, CaseKind, CaseStatus
from tests.blocks.limits import all_strings, check_limits
from tests.blocks.sample import INJECTION, NOW, RAW, case_view, recommendation

REF = "v1:case:42:3"


def packet(due=NOW + timedelta(days=2, hours=5), *, name="Ada Lovelace", gaps=()):
    return EvidencePacket(
        reason="product_not_received", due_by=due, gaps=gaps, strengths=("delivered",), answered=True,
        sections=(Section(title="Order", lines=("#1001 placed 2026-10-01, $149.00: 1 × Trail Jacket",)),
                  Section(title="Customer", lines=(f"{name} · ada@example.com", "ordered from IP 203.0.113.9")),
                  Section(title="Fulfilment and tracking", lines=("UPS, tracking 1Z999, delivered 2026-10-04, signed by ADA",))),
        submission=((EvidenceField.SUMMARY, "x"),))


def dispute_view(rec=Action.CONTEST, **changes):
    d = DisputeView(packet=changes.pop("packet", packet()), system="Stripe", network_reason_code="13.1",
                    **{k: changes.pop(k) for k in list(changes) if k in ("assignee", "external_status", "accept_by_api")})
    return case_view(kind=CaseKind.DISPUTE, recommendation=recommendation(rec), dispute=d, **changes)


def elements(payload):
    return {el["action_id"]: (b, el) for b in payload["blocks"] if b["type"] == "actions" for el in b["elements"]}


def text(payload):
    return "\n".join(b["text"]["text"] for b in payload["blocks"] if b.get("text") and b["type"] == "section")


def test_the_dispute_card_shows_reason_countdown_and_packet():
    payload = render_case_card(dispute_view())
    check_limits(payload)
    body = text(payload)
    assert "*Dispute: Product not received* (network code 13.1) · $149.00 · held by Stripe" in body
    assert "— *in 2 d 5 h*" in body and ":large_orange_circle:" in body
    assert "*Evidence packet*" in body and "signed by ADA" in body and "203.0.113.9" in body


def test_buttons_submit_accept_escalate_and_assign():
    payload = render_case_card(dispute_view())
    found = elements(payload)
    assert list(found) == [ActionId.CASE_APPROVE, ActionId.DISPUTE_CONCEDE, ActionId.CASE_ESCALATE, ActionId.DISPUTE_ASSIGN]
    _, submit = found[ActionId.CASE_APPROVE]
    assert submit["text"]["text"] == "Submit evidence" and submit["style"] == "primary" and submit["value"] == REF
    assert submit["confirm"]["title"]["text"] == "Submit the evidence to Stripe?"
    _, concede = found[ActionId.DISPUTE_CONCEDE]
    assert "style" not in concede and concede["confirm"]["confirm"]["text"] == "Accept the loss"
    block, picker = found[ActionId.DISPUTE_ASSIGN]
    assert picker["type"] == "users_select" and block["block_id"] == f"{BlockId.DISPUTE_ASSIGN}:{REF}"


def test_a_concede_recommendation_makes_accept_the_danger_button():
    found = elements(render_case_card(dispute_view(Action.CONCEDE)))
    assert found[ActionId.DISPUTE_CONCEDE][1]["style"] == "danger"
    assert "style" not in found[ActionId.CASE_APPROVE][1]


def test_past_due_offers_no_submission():
    payload = render_case_card(dispute_view(Action.CONCEDE, packet=packet(due=NOW - timedelta(hours=1))))
    assert ActionId.CASE_APPROVE not in elements(payload)
    assert "past due" in text(payload)


def test_assigned_and_after_the_decision():
    open_ = render_case_card(dispute_view(assignee="U0LEAD"))
    assert "Assigned to <@U0LEAD>" in text(open_)
    assert elements(open_)[ActionId.DISPUTE_ASSIGN][1]["initial_user"] == "U0LEAD"
    won = render_case_card(dispute_view(status=CaseStatus.DONE, external_status="WON"))
    assert ":trophy: Won" in text(won) and not elements(won)


def test_a_system_without_an_accept_call_is_named():
    body = text(render_case_card(dispute_view(accept_by_api=False, )))
    assert "has no call to accept a dispute" in body


@pytest.mark.parametrize("where", ["name", "gap"])
def test_hostile_text_in_the_packet_is_escaped(where):
    p = packet(name=INJECTION) if where == "name" else packet(gaps=(INJECTION,))
    payload = render_case_card(dispute_view(packet=p))
    check_limits(payload)
    strings = "\n".join(all_strings(payload))
    assert not any(raw in strings for raw in RAW)


def test_a_huge_packet_still_fits():
    long = packet().model_copy(update={"sections": tuple(
        Section(title=f"S{i}", lines=tuple("x" * 400 for _ in range(10))) for i in range(30))})
    check_limits(render_case_card(dispute_view(packet=long)))


def test_countdown():
    assert countdown(NOW + timedelta(minutes=30), NOW) == "in 30 min"
    assert countdown(NOW + timedelta(hours=5, minutes=10), NOW) == "in 5 h 10 min"
    assert countdown(NOW + timedelta(days=3, hours=4), NOW) == "in 3 d 4 h"
    assert countdown(NOW, NOW) == "past due"
