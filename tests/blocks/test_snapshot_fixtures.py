"""Cards render from snapshots that older releases stored (tests/fixtures/snapshots/).

A snapshot is the context and assessment as they were when the case opened, stored as
JSON. The models change between releases; the card must still render: snapshots carry a
schema version, older versions are upcast, unknown keys are ignored, and one that still
cannot be read gives a degraded card from the case's own columns instead of an error.
"""

from __future__ import annotations

import copy
import json
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import insert, update

from blocks.card import render_case_card
from bot.schema import case_snapshots, cases
from bot.services.card_view import CaseViews
from bot.store import CaseRepo, OutboxRepo
from bot.store import snapshots
from policy.config import Policy
from policy.models import ShopFacts
from policy.models import SignalCode
from tests.bot.factories import NOW, new_case

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "snapshots"
V0 = json.loads((FIXTURES / "sample_store_v0.json").read_text(encoding="utf-8"))["cases"]


def _insert(engine, record: dict) -> int:
    """Store a fixture case and its snapshot as an old release left them."""
    row = {k: v for k, v in record["case"].items() if k in cases.c and k != "snapshot_id"}
    for k, v in list(row.items()):
        if isinstance(v, str) and k.endswith(("_at", "_until")):
            row[k] = datetime.fromisoformat(v)
    snap = record["snapshot"]
    with engine.begin() as conn:
        conn.execute(insert(cases).values(**row))
        snap_id = conn.execute(
            insert(case_snapshots).values(case_id=row["id"], taken_at=datetime.fromisoformat(snap["taken_at"]),
                                          context=snap["context"], assessment=snap["assessment"])
            .returning(case_snapshots.c.id)).scalar_one()
        conn.execute(update(cases).where(cases.c.id == row["id"]).values(snapshot_id=snap_id))
    return row["id"]


def _views(engine) -> CaseViews:
    policy = Policy.default().for_shop(ShopFacts(currency="USD", timezone="UTC"))  # the sample store's money
    return CaseViews(cases=CaseRepo(engine), outbox=OutboxRepo(engine), policy=policy, clock=lambda: NOW,
                     tier_for=lambda case: policy.tiers[min(case.required_tier, len(policy.tiers) - 1)])


def _text(card: dict) -> str:
    return json.dumps(card["blocks"], ensure_ascii=False)


def _record(order_name: str, kind: str = "return_request") -> dict:
    return copy.deepcopy(next(r for r in V0 if r["case"]["order_name"] == order_name and r["case"]["kind"] == kind))


# Signals added after the v0 release wrote these fixtures (no v0 snapshot can carry them).
NEWER_THAN_V0 = {SignalCode.SHIPMENT_DELAYED.value}


def test_the_fixtures_cover_every_signal_and_each_kind():
    codes = {c for r in V0 for c in r["case"]["signal_codes"].split(",") if c}
    assert codes == {s.value for s in SignalCode} - NEWER_THAN_V0
    assert {r["case"]["kind"] for r in V0} >= {"return_request", "order_review", "dispute"}
    assert all("_v" not in r["snapshot"]["context"] for r in V0)  # written before versions existed


@pytest.mark.parametrize("record", V0, ids=lambda r: f"{r['case']['id']}-{r['case']['kind']}-{r['case']['order_name']}")
def test_every_old_snapshot_renders_its_full_card(engine, record):
    case_id = _insert(engine, record)
    card = render_case_card(_views(engine).for_id(case_id))
    text = _text(card)
    assert "unavailable" not in text.lower()
    assert record["case"]["order_name"] in card["blocks"][0]["text"]["text"]
    ctx = record["snapshot"]["context"]
    if ctx.get("customer"):
        assert ctx["customer"]["display_name"].split()[0] in text
    for item in (ctx.get("return_request") or {}).get("line_items", []):
        assert item["title"][:20] in text
    for signal in record["snapshot"]["assessment"]["signals"]:
        assert signal["explanation"][:30].replace("<", "&lt;") in text


def test_unknown_keys_from_a_later_or_earlier_shape_are_ignored(engine):
    record = _record("#1034")
    record["snapshot"]["context"]["customer"]["loyalty_tier"] = "gold"
    record["snapshot"]["context"]["carbon_offset"] = {"kg": "1.2"}
    record["snapshot"]["assessment"]["recommendation"]["confidence"] = 0.9
    case_id = _insert(engine, record)
    text = _text(render_case_card(_views(engine).for_id(case_id)))
    assert "Marcus Webb" in text and "unavailable" not in text.lower()


def test_a_renamed_field_is_read_through_its_upcaster(engine, monkeypatch):
    """Simulates release N+1 renaming Customer.display_name: the snapshots it finds were
    written by release N (version 1) under the old name `full_name`."""
    record = _record("#1034")
    ctx, asm = record["snapshot"]["context"], record["snapshot"]["assessment"]
    ctx["customer"]["full_name"] = ctx["customer"].pop("display_name")
    ctx["_v"] = asm["_v"] = 1
    case_id = _insert(engine, record)

    def rename(context: dict, assessment: dict) -> tuple[dict, dict]:
        if context.get("customer"):
            context["customer"]["display_name"] = context["customer"].pop("full_name")
        return context, assessment

    monkeypatch.setattr(snapshots, "VERSION", 2)
    monkeypatch.setattr(snapshots, "UPCASTERS", {**snapshots.UPCASTERS, 1: rename})
    text = _text(render_case_card(_views(engine).for_id(case_id)))
    assert "Marcus Webb" in text and "unavailable" not in text.lower()

    # Without the upcaster the snapshot cannot be read: a degraded card, not an error.
    monkeypatch.setattr(snapshots, "UPCASTERS", {k: v for k, v in snapshots.UPCASTERS.items() if k != 1})
    card = render_case_card(_views(engine).for_id(case_id))
    text = _text(card)
    assert "Details unavailable" in text
    assert "#1034" in card["blocks"][0]["text"]["text"] and "$549.00" in card["blocks"][0]["text"]["text"]
    assert "Marcus Webb" in text  # the case's own column
    actions = [b for b in card["blocks"] if b["type"] == "actions"]
    assert actions, "a case whose details are unavailable can still be decided"


def test_a_snapshot_that_cannot_be_read_gives_a_degraded_card(engine):
    record = _record("#1029")
    del record["snapshot"]["context"]["order"]  # required: no upcaster can invent it
    record["snapshot"]["assessment"]["recommendation"]["risk_score"] = "very"
    case_id = _insert(engine, record)
    card = render_case_card(_views(engine).for_id(case_id))
    text = _text(card)
    assert "Details unavailable" in text
    assert "Outside the return window" in text or "outside window" in text.lower()  # signal codes column
    assert "Zoe Adams" in text and "$89.00" in card["blocks"][0]["text"]["text"]
    assert "Recommended: decline" in text or "Decline" in text


def test_new_snapshots_carry_the_current_version(engine):
    repo = CaseRepo(engine)
    case, _ = repo.open(new_case(2001))
    with engine.connect() as conn:
        row = conn.execute(case_snapshots.select().where(case_snapshots.c.id == case.snapshot_id)).one()
    assert row.context["_v"] == snapshots.VERSION and row.assessment["_v"] == snapshots.VERSION
    ctx, assessment = repo.snapshot(case)
    assert ctx == new_case(2001).context and assessment == new_case(2001).assessment
