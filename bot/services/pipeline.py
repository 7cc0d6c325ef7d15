"""The digest's return pipeline, computed from plain data (the SQL is in bot.store.digest).

- in each stage now: returns whose current stage is each watched stage (closed, cancelled
  and processed left out: they are out of the pipeline);
- cycle time: for returns processed in the period, request → the first `processed`
  (refund, store credit or exchange done); median and p90 interpolated as PostgreSQL's
  `percentile_cont`, and each stage's share of the summed cycle time (time in a stage runs
  from reaching it to reaching the next one the return reached);
- refunds on receipt vs on approval: decisions of the period with a refund or store credit,
  by their detail's `refund_on` (absent: approval, today's behaviour);
- exceptions at receipt: follow-ups opened in the period, by `followup.reason`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from blocks.digest import ReturnPipeline, StalledReturn
from bot.services.stalls import StallStep
from policy.lifecycle import ReturnStage

# The stages a return passes through on its way to processed, in order.
PIPELINE = (ReturnStage.REQUESTED, ReturnStage.APPROVED, ReturnStage.LABEL_SENT, ReturnStage.IN_TRANSIT,
            ReturnStage.DELIVERED_BACK, ReturnStage.RECEIVED)
NOW_SHOWN = PIPELINE + (ReturnStage.PROCESSED,)


def percentile(values: Sequence[float], p: float) -> float | None:
    """`percentile_cont(p)`: linear interpolation between the closest ranks."""
    if not values:
        return None
    s = sorted(values)
    pos = p * (len(s) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def cycle_times(histories: Mapping[int, Iterable[tuple[ReturnStage | str, datetime]]],
                requested_at: Mapping[int, datetime]) -> tuple[list[float], dict[ReturnStage, float]]:
    """(cycle seconds per processed return, seconds spent in each stage summed over them).

    `histories`: case id → its (stage, at) facts (any order, duplicates fine: the first time
    it reached each stage counts). `requested_at`: the case's request (opened) time, used
    when the history has no `requested` row. Returns not yet processed are left out."""
    cycles: list[float] = []
    spent: dict[ReturnStage, float] = {s: 0.0 for s in PIPELINE}
    for case_id, facts in histories.items():
        first: dict[ReturnStage, datetime] = {}
        for stage, at in facts:
            stage = ReturnStage(stage)
            if stage not in first or at < first[stage]:
                first[stage] = at
        done = first.get(ReturnStage.PROCESSED)
        start = first.get(ReturnStage.REQUESTED) or requested_at.get(case_id)
        if done is None or start is None or done < start:
            continue
        first[ReturnStage.REQUESTED] = start
        cycles.append((done - start).total_seconds())
        reached = sorted(((at, s) for s, at in first.items() if s in PIPELINE and at <= done),
                         key=lambda x: (x[0], x[1].rank))
        edges = reached + [(done, ReturnStage.PROCESSED)]
        for (at, stage), (nxt, _) in zip(edges, edges[1:]):
            spent[stage] += (nxt - at).total_seconds()
    return cycles, spent


def build(*, in_stage: Mapping[str, int], histories, requested_at, refund_on: Iterable[str | None],
          followup_reasons: Iterable[str], stalled: Sequence[StalledReturn] = ()) -> ReturnPipeline:
    cycles, spent = cycle_times(histories, requested_at)
    total = sum(spent.values())
    shares = tuple((s.value, spent[s] / total) for s in PIPELINE if total and spent[s])
    on = list(refund_on)
    reasons: dict[str, int] = {}
    for r in followup_reasons:
        reasons[r] = reasons.get(r, 0) + 1
    return ReturnPipeline(
        in_stage=tuple((s.value, int(in_stage.get(s.value, 0))) for s in NOW_SHOWN if in_stage.get(s.value)),
        cycles=len(cycles), cycle_median_s=percentile(cycles, 0.5), cycle_p90_s=percentile(cycles, 0.9),
        stage_share=shares,
        refunds_on_receipt=sum(1 for x in on if x == "receipt"),
        refunds_on_approval=sum(1 for x in on if x != "receipt"),
        exceptions=tuple(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
        stalled=tuple(stalled),
    )


def stalled_entries(steps: Sequence[StallStep], cases: Mapping[int, Mapping]) -> list[StalledReturn]:
    """The stall rules' list with what the digest shows of each case (order, card)."""
    out = []
    for s in steps:
        c = cases.get(s.case_id, {})
        out.append(StalledReturn(case_id=s.case_id, stage=s.stage.value, days=s.days, since=s.stage_at,
                                 order_name=c.get("order_name"), slack_channel=c.get("slack_channel"),
                                 slack_ts=c.get("slack_ts")))
    return out
