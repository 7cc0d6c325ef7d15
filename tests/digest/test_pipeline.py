"""The digest's return pipeline from a constructed history: the figures a person would
check by hand."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from blocks.digest import StalledReturn, pipeline_text
from bot.services.pipeline import build, cycle_times, percentile
from policy.lifecycle import ReturnStage as S

T0 = datetime(2026, 11, 16, 9, 0, tzinfo=timezone.utc)
H = timedelta(hours=1)
D = timedelta(days=1)


def _history(requested_days_ago_offset: timedelta, *legs: tuple[S, timedelta]):
    """Stages reached one after another, each `delta` after the one before."""
    at = T0 + requested_days_ago_offset
    out = [(S.REQUESTED, at)]
    for stage, delta in legs:
        at += delta
        out.append((stage, at))
    return out


def test_percentiles_interpolate_like_percentile_cont():
    assert percentile([], 0.5) is None
    assert percentile([10.0], 0.9) == 10.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0], 0.9) == 9.1


def test_cycle_time_and_each_stages_share():
    # Three refunded returns: 4 d, 6 d and 10 d from request to refund.
    histories = {
        1: _history(0 * D, (S.APPROVED, 1 * D), (S.LABEL_SENT, 1 * D), (S.DELIVERED_BACK, 1 * D),
                    (S.RECEIVED, 1 * D), (S.PROCESSED, 0 * D)),  # 4 d: 1 d in each of four stages
        2: _history(0 * D, (S.APPROVED, 2 * D), (S.LABEL_SENT, 1 * D), (S.IN_TRANSIT, 1 * D),
                    (S.DELIVERED_BACK, 1 * D), (S.RECEIVED, 1 * D), (S.PROCESSED, 0 * D)),  # 6 d
        3: _history(0 * D, (S.APPROVED, 1 * D), (S.LABEL_SENT, 5 * D), (S.DELIVERED_BACK, 2 * D),
                    (S.RECEIVED, 2 * D), (S.PROCESSED, 0 * D)),  # 10 d, 5 d waiting on the label
        4: _history(0 * D, (S.APPROVED, 1 * D)),  # not refunded yet: not timed
    }
    # A replayed (later) copy of a stage doesn't move the first time it was reached.
    histories[1] = histories[1] + [(S.APPROVED, T0 + 3 * D)]
    cycles, spent = cycle_times(histories, {})
    assert sorted(c / 86400 for c in cycles) == [4, 6, 10]
    assert spent[S.REQUESTED] / 86400 == 1 + 2 + 1  # request → approval
    assert spent[S.APPROVED] / 86400 == 1 + 1 + 5  # approval → label
    p = build(in_stage={"approved": 2, "in_transit": 1, "closed": 9}, histories=histories, requested_at={},
              refund_on=["receipt", "receipt", None, "approval"], followup_reasons=["missing", "not_restocked",
                                                                                  "missing"])
    assert p.cycles == 3
    assert p.cycle_median_s == 6 * 86400
    assert p.cycle_p90_s == pytest.approx(9.2 * 86400)  # 6 d + 0.8 × (10 d − 6 d)
    shares = dict(p.stage_share)
    assert round(shares["approved"] * 20) == 7  # 7 of the 20 days waited on a label
    assert abs(sum(shares.values()) - 1) < 1e-9
    assert p.in_stage == (("approved", 2), ("in_transit", 1))  # closed returns are out of the pipeline
    assert (p.refunds_on_receipt, p.refunds_on_approval) == (2, 2)
    assert p.exceptions == (("missing", 2), ("not_restocked", 1))
    text = pipeline_text(p, T0 + 20 * D)
    assert "Now: Approved, no label 2 · In transit 1" in text
    assert "median 6 d, p90 9 d 4 h (3 returns)" in text
    assert "approved, no label 35%" in text
    assert "Refunds: 2 on receipt, 2 on approval" in text
    assert "Exceptions at receipt: 2 × items missing, 1 × not restocked (damaged, used, wrong item)" in text


def test_request_time_falls_back_to_when_the_case_opened():
    histories = {7: [(S.APPROVED, T0 + H), (S.PROCESSED, T0 + 5 * H)]}
    cycles, spent = cycle_times(histories, {7: T0})
    assert cycles == [5 * 3600]
    assert spent[S.REQUESTED] == 3600 and spent[S.APPROVED] == 4 * 3600


def test_stalled_returns_are_linked():
    stalled = [StalledReturn(case_id=3, stage="approved", days=5, since=T0, order_name="#1034",
                             url="https://slack.example/p1")] + [
        StalledReturn(case_id=10 + i, stage="in_transit", days=9, since=T0) for i in range(6)]
    p = build(in_stage={}, histories={}, requested_at={}, refund_on=[], followup_reasons=[], stalled=stalled)
    text = pipeline_text(p, T0)
    assert "Now: no return between approval and refund." in text
    assert "<https://slack.example/p1|#1034> — no label for 5 d" in text
    assert "Stalled (7):" in text and "… and 2 more" in text
    assert "Cycle time" not in text and "Refunds:" not in text
