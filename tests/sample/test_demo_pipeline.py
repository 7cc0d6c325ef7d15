"""`returnsbot demo` shows the return after approval: the sample store's warehouse moves the
approved returns on the demo's clock, and the output says where each one is — refunded on
receipt, a damaged one and one with an item missing waiting on their follow-ups, one stalled
without a label — and prints the digest's return pipeline."""

from __future__ import annotations

from io import StringIO

import pytest

from bot.demo import DEMO_APPROVER, demo_container, demo_policy, run_demo
from bot.settings import Settings
from policy.config import Policy, RefundOn, parse_policy
from policy.models import CaseKind, CaseStatus
from tests.sample.helpers import NOW


@pytest.fixture
def demo(database_url):
    c, clock = demo_container(Settings(_env_file=None, database_url=database_url), Policy.default(), now=NOW)
    out = StringIO()
    run_demo(c, out, clock=clock)
    yield c, out.getvalue()
    c.engine.dispose()


def _section(text: str) -> list[str]:
    return text[text.index("The return after approval"):].splitlines()


def _line(lines: list[str], customer: str) -> str:
    (line,) = [ln for ln in lines if ln.startswith("  #") and customer in ln]
    return line


def test_the_demo_shows_each_approved_return_in_its_stage(demo):
    c, text = demo
    lines = _section(text)
    assert lines[0] == ("The return after approval: the sample store's warehouse, fast-forwarded 3 d 1 h "
                        "(refund on receipt).")
    assert f"{DEMO_APPROVER} (the demo's approver) approved #1 Marcus Webb (refund $549.00)." in lines
    assert f"{DEMO_APPROVER} (the demo's approver) approved #6 Daniel Okafor (exchange $149.00)." in lines
    assert _line(lines, "Marcus Webb").endswith("Refunded 3 d ago · $549.00 to original payment")  # on receipt
    assert _line(lines, "Elena Petrova").endswith("Received 3 d ago · not restocked · needs a decision")
    assert _line(lines, "Maya Chen").endswith("Received 3 d ago · 1 missing, 1 restocked · needs a decision")
    assert _line(lines, "Chloe Martin").endswith("Approved 3 d ago · waiting for a label")
    follow_ups = [ln.strip() for ln in lines if ln.strip().startswith("follow-up:")]
    assert follow_ups == [
        "follow-up: 1 of 1 item not restocked → no refund — recommended: no refund",
        "follow-up: Ridge Trail Running Shoes — US 10.5 is out of stock: the exchange can't ship ($149.00 to give "
        "back) — recommended: store credit",
        "follow-up: 1 of 2 items missing → partial refund $24.00 — recommended: partial refund",
    ]
    # what the lines say is what the store holds
    by_name = {k.customer_name: k for k in c.cases.list()  # the store's returns (Marcus also has a Loop one)
                   if k.kind is CaseKind.RETURN_REQUEST and k.decided_in == "shopify"}
    assert by_name["Elena Petrova"].status is CaseStatus.OPEN and by_name["Elena Petrova"].followup
    assert by_name["Maya Chen"].followup["reason"]
    refunds = [call for call in c.store.calls if call.method in ("refund_return", "issue_store_credit")]
    assert [(call.target_id, call.params["amount"].format(), call.replayed) for call in refunds] == [
        (by_name["Marcus Webb"].external_id, "$549.00", False)]  # once, on receipt; nothing else refunded


def test_the_demo_prints_the_digest_return_pipeline(demo):
    _, text = demo
    pipeline = text[text.index("Return pipeline"):].splitlines()
    assert pipeline[1] == "Now: Approved, no label 1 · Received 3 · Refunded / processed 1"
    assert pipeline[-2:] == ["Stalled (1):", "• #1046 — no label for 3 d"]
    assert "Refunds: 1 on receipt, 0 on approval" in pipeline  # paid, not merely approved to pay
    assert ("Exceptions at receipt: 1 × exchange out of stock, 1 × items missing, "
            "1 × not restocked (damaged, used, wrong item)") in pipeline
    assert "*" not in text and ":package:" not in text and "&amp;" not in text  # mrkdwn made plain


def test_the_demo_policy_moves_money_on_receipt_unless_the_policy_says_when():
    assert demo_policy(Policy.default()).returns.refund_on is RefundOn.RECEIPT
    stated = parse_policy('[returns]\nrefund_on = "approval"\n')
    assert demo_policy(stated).returns.refund_on is RefundOn.APPROVAL
    tiers = demo_policy(stated).approval_tiers
    assert tiers[-1].approvers == (DEMO_APPROVER,) and all(not t.approvers for t in tiers[:-1])


def test_the_demo_denies_one_loop_return_and_loop_closes_it_once(demo):
    """The sample Loop's outside-window return (#1022, in review, recommended deny): the
    demo approver's decision is a note and a close in Loop, each once; the closed return
    comes back as the case's stage."""
    from policy.lifecycle import ReturnStage

    c, text = demo
    lines = _section(text)
    (case,) = [k for k in c.cases.list() if k.order_name == "#1022" and k.decided_in == "loop"]
    assert (f"{DEMO_APPROVER} (the demo's approver) denied #{case.id} Sofía Álvarez (#1022), a Loop (sample data) "
            "return: noted and closed there.") in lines
    assert _line(lines, "Sofía Álvarez").endswith("Closed 3 d ago")
    assert case.status is CaseStatus.DONE and case.stage is ReturnStage.CLOSED
    loop = c.registry.get("sample_loop").source
    rid = case.external_id.removeprefix("loop:")
    assert [call for call in loop.api.calls if call[0] in ("close", "cancel", "process", "flag")] == [("close", rid)]
    assert [call for call in loop.api.calls if call[0] == "note"] == [("note", rid)]
    [note] = loop.api.notes_by_return[rid]
    assert note["content"].startswith(f"Denied in Slack by {DEMO_APPROVER} (close) — outside window")
    assert loop.api.returns[rid]["state"] == "closed"
