"""The return's progress on the card: status line per stage, stages list, follow-up decision."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from blocks.card import render_case_card
from blocks.ids import ActionId
from blocks.stages import StagesView, stages_text, status_line, thread_line
from blocks.views import FollowupView
from policy.lifecycle import DisposedLine, Disposition, ReturnStage, StageUpdate, Tracking
from policy.models import CaseStatus, Money
from tests.blocks.limits import all_strings, check_limits
from tests.blocks.sample import INJECTION, NOW, RAW, case_view

EUR = "EUR"


def eur(amount: str) -> Money:
    return Money.of(amount, EUR)


def update(stage: ReturnStage, ago: timedelta, **kw) -> StageUpdate:
    return StageUpdate(return_id="gid://shopify/Return/77", stage=stage, at=NOW - ago, source="shopify",
                       ref=f"{stage.value}-1", **kw)


UPS = Tracking(carrier="UPS", number="1Z999AA10123456784", url="https://www.ups.com/track?tracknum=1Z999")


def view(stage: ReturnStage, ago: timedelta, *history: StageUpdate, **kw) -> StagesView:
    return StagesView(stage=stage, stage_at=NOW - ago, history=history or (update(stage, ago),), **kw)


def test_approved_waits_for_a_label() -> None:
    assert status_line(view(ReturnStage.APPROVED, timedelta(days=1)), NOW) == "*Approved 1 d ago* · waiting for a label"


def test_label_sent_shows_carrier_and_tracking_link() -> None:
    v = view(ReturnStage.LABEL_SENT, timedelta(days=3), update(ReturnStage.LABEL_SENT, timedelta(days=3), tracking=UPS))
    assert status_line(v, NOW) == ("*Label sent 3 d ago* · UPS "
                                   "<https://www.ups.com/track?tracknum=1Z999|1Z999AA10123456784>")


def test_received_restocked_with_the_refund_that_runs_on_receipt() -> None:
    lines = (DisposedLine(return_line_id="rl1", quantity=1, disposition=Disposition.RESTOCKED),)
    v = view(ReturnStage.RECEIVED, timedelta(hours=2),
             update(ReturnStage.RECEIVED, timedelta(hours=2), dispositions=lines), pending=eur("64.50"))
    assert status_line(v, NOW) == "*Received 2 h ago* · restocked · refund €64.50 runs automatically"


@pytest.mark.parametrize("stage, expected", [
    (ReturnStage.IN_TRANSIT, "*In transit 12 min ago*"),
    (ReturnStage.DELIVERED_BACK, "*Delivered back 12 min ago* · waiting for inspection"),
    (ReturnStage.CLOSED, "*Closed 12 min ago*"),
    (ReturnStage.CANCELLED, "*Cancelled 12 min ago*"),
])
def test_every_stage_has_a_line(stage: ReturnStage, expected: str) -> None:
    assert status_line(view(stage, timedelta(minutes=12)), NOW) == expected


def test_processed_names_the_refund() -> None:
    v = view(ReturnStage.PROCESSED, timedelta(seconds=5),
             update(ReturnStage.PROCESSED, timedelta(seconds=5), refund=eur("64.50"), refund_method="original payment"))
    assert status_line(v, NOW) == "*Refunded just now* · €64.50 to original payment"


def test_no_stage_no_line() -> None:
    assert status_line(StagesView(stage=None, stage_at=None), NOW) is None


def test_hostile_carrier_and_tracking_text_is_escaped_and_a_bad_link_dropped() -> None:
    hostile = Tracking(carrier=INJECTION, number="1Z<!here>", url="https://evil.example|x>", status=INJECTION)
    v = view(ReturnStage.IN_TRANSIT, timedelta(hours=1), update(ReturnStage.IN_TRANSIT, timedelta(hours=1),
                                                                tracking=hostile, note=INJECTION))
    card = render_case_card(case_view(stages=v))
    check_limits(card)
    for text in all_strings(card):
        for raw in RAW:
            assert raw not in text
    assert "evil.example|x>" not in str(card)


def test_stages_list_in_the_shop_zone() -> None:
    v = view(ReturnStage.LABEL_SENT, timedelta(hours=1),
             update(ReturnStage.APPROVED, timedelta(days=1), by="Ana"),
             update(ReturnStage.LABEL_SENT, timedelta(hours=1), tracking=UPS), tz="Europe/Berlin")
    # NOW is 14:00 UTC on Nov 2: 15:00 and 14:00 the day before in Berlin (CET).
    text = stages_text(v)
    assert text.splitlines()[0] == "Approved Nov 1 15:00 CET · by Ana"
    assert text.splitlines()[1].startswith("Label sent Nov 2 14:00 CET · UPS <https://www.ups.com/")
    assert stages_text(replace(v, tz=None)).splitlines()[0] == "Approved Nov 1 14:00 UTC · by Ana"


def test_card_shows_status_line_and_stages() -> None:
    v = view(ReturnStage.APPROVED, timedelta(days=1), tz="Europe/Berlin")
    card = render_case_card(case_view(status=CaseStatus.DONE, stages=v))
    check_limits(card)
    texts = list(all_strings(card))
    assert "*Approved 1 d ago* · waiting for a label" in texts
    assert "Approved Nov 1 15:00 CET" in texts


def test_several_pending_stages_collapse_into_one_thread_line() -> None:
    line = thread_line([update(ReturnStage.IN_TRANSIT, timedelta(hours=3)),
                        update(ReturnStage.LABEL_SENT, timedelta(hours=5), tracking=UPS)], None)
    assert line.startswith(":package: Label sent → In transit Nov 2 11:00 UTC")
    assert line.count("\n") == 0
    assert thread_line([], None) is None


FOLLOWUP = FollowupView(reason="missing", summary="1 of 2 items missing", recommended="partial_refund",
                        suggested_amount=eur("32.25"), refundable=eur("64.50"))
FOLLOWUP_IDS = {ActionId.FOLLOWUP_REFUND, ActionId.FOLLOWUP_PARTIAL, ActionId.FOLLOWUP_CREDIT,
                ActionId.FOLLOWUP_NO_REFUND}


def _action_ids(card: dict) -> set[str]:
    return {el["action_id"] for b in card["blocks"] if b["type"] == "actions" for el in b["elements"]}


def test_open_followup_shows_the_exception_and_its_own_buttons() -> None:
    card = render_case_card(case_view(followup=FOLLOWUP))
    check_limits(card)
    assert _action_ids(card) == FOLLOWUP_IDS
    text = "\n".join(all_strings(card))
    assert "Recommended: 1 of 2 items missing → *partial refund €32.25*" in text
    assert "Left to refund: €64.50" in text
    primary = [el for b in card["blocks"] if b["type"] == "actions" for el in b["elements"] if el.get("style")]
    assert [el["action_id"] for el in primary] == [ActionId.FOLLOWUP_PARTIAL]


@pytest.mark.parametrize("status", [s for s in CaseStatus if s is not CaseStatus.OPEN])
def test_followup_buttons_only_while_open(status: CaseStatus) -> None:
    card = render_case_card(case_view(followup=FOLLOWUP, status=status))
    assert not (_action_ids(card) & FOLLOWUP_IDS)


def test_no_followup_no_followup_buttons() -> None:
    assert not (_action_ids(render_case_card(case_view())) & FOLLOWUP_IDS)


def test_hostile_followup_summary_is_escaped() -> None:
    card = render_case_card(case_view(followup=replace(FOLLOWUP, summary=INJECTION, reason=INJECTION)))
    for text in all_strings(card):
        for raw in RAW:
            assert raw not in text
