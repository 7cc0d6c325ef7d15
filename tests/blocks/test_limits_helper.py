"""The limit checker must itself catch what it claims to (else every green test is hollow)."""

from __future__ import annotations

import copy

import pytest

from blocks.card import render_case_card
from tests.blocks.limits import check_limits
from tests.blocks.sample import case_view

GOOD = render_case_card(case_view())


def broken(mutate) -> dict:
    payload = copy.deepcopy(GOOD)
    mutate(payload)
    return payload


@pytest.mark.parametrize(
    "mutate",
    [
        lambda p: p["blocks"][0]["text"].update(text="x" * 151),
        lambda p: p["blocks"].extend([{"type": "divider"}] * 50),
        lambda p: p["blocks"].extend([{"type": "divider", "block_id": "a"}, {"type": "divider", "block_id": "a"}]),
        lambda p: p["blocks"].append({"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}),
        lambda p: p["blocks"].append({"type": "section", "fields": [{"type": "mrkdwn", "text": "x"}] * 11}),
        lambda p: p["blocks"].append({"type": "section", "fields": [{"type": "mrkdwn", "text": "x" * 2001}]}),
        lambda p: p["blocks"].append({"type": "context", "elements": [{"type": "mrkdwn", "text": "x"}] * 11}),
        lambda p: p["blocks"][-1]["elements"][0]["text"].update(text="x" * 76),
        lambda p: p["blocks"][-1]["elements"][0].update(value="x" * 2001),
        lambda p: p["blocks"][-1]["elements"][0].update(action_id="x" * 256),
        lambda p: p["blocks"][-1]["elements"][1].update(action_id=p["blocks"][-1]["elements"][0]["action_id"]),
        lambda p: p["blocks"][-1].update(elements=p["blocks"][-1]["elements"] * 9),
        lambda p: p.update(text=""),
        lambda p: p["blocks"][1]["elements"][0].update(text=" "),
    ],
)
def test_check_limits_catches(mutate) -> None:
    check_limits(GOOD)
    with pytest.raises(Exception):
        check_limits(broken(mutate))
