from __future__ import annotations

import ast
import sys
from dataclasses import FrozenInstanceError
from datetime import datetime
from pathlib import Path

import pytest

from blocks.views import DecisionView, EscalationView, PlaybookEntry, ShippingView
from policy.models import Action, DeliveryStatus
from tests.blocks.sample import case_view, escalation

NAIVE = datetime(2026, 11, 2, 14, 2)


@pytest.mark.parametrize(
    "build",
    [
        lambda: DecisionView(action=Action.REFUND, at=NAIVE, by="U0APPROVER1"),
        lambda: EscalationView(by="U0APPROVER1", at=NAIVE),
        lambda: PlaybookEntry(author="U0LEAD0001", created_at=NAIVE, text="x"),
        lambda: ShippingView(status=DeliveryStatus.DELIVERED, delivered_at=NAIVE),
        lambda: case_view(now=NAIVE),
    ],
)
def test_naive_datetimes_are_refused(build) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        build()


def test_views_are_frozen_and_know_when_escalated() -> None:
    view = case_view()
    with pytest.raises(FrozenInstanceError):
        view.status = "done"  # type: ignore[misc]
    assert not view.escalated
    assert case_view(escalation=escalation()).escalated


def test_blocks_imports_only_policy_slack_sdk_models_and_the_stdlib() -> None:
    root = Path(__file__).resolve().parents[2] / "blocks"
    allowed = {"blocks", "policy", "__future__"} | set(sys.stdlib_module_names)
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                modules = [node.module or ""]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                ok = top in allowed or module == "slack_sdk.models" or module.startswith("slack_sdk.models.")
                assert ok, f"{path.name} imports {module}"
