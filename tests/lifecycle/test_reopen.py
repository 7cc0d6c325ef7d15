"""Reopen: the one way back from a closed or cancelled return, and only that."""

from datetime import datetime, timedelta, timezone

import pytest

from bot.services.lifecycle import LifecycleService
from bot.store import CaseRepo
from bot.store.stages import StageRepo
from integrations.shopify.webhooks import event_from_webhook
from policy.config import Policy
from policy.lifecycle import ReturnStage, StageUpdate, becomes_current
from tests.bot.factories import NOW, new_case
from tests.lifecycle.orders import Orders

AT = datetime(2026, 11, 3, 9, 30, tzinfo=timezone.utc)


def _fact(case, stage, ref, hours, **kw):
    return StageUpdate(return_id=case.external_id, stage=stage, at=NOW + timedelta(hours=hours),
                       source=case.source, ref=ref, **kw)


@pytest.mark.parametrize("current, stage, reopened, expected", [
    (ReturnStage.CLOSED, ReturnStage.APPROVED, True, True),
    (ReturnStage.CANCELLED, ReturnStage.APPROVED, True, True),
    (ReturnStage.CLOSED, ReturnStage.APPROVED, False, False),  # a late approve is history
    (ReturnStage.CLOSED, ReturnStage.CANCELLED, True, False),  # a reopen never lands on a terminal stage
    (ReturnStage.RECEIVED, ReturnStage.APPROVED, True, False),  # not closed: open already, no way back
    (ReturnStage.APPROVED, ReturnStage.RECEIVED, False, True),
    (None, ReturnStage.APPROVED, True, True),
])
def test_becomes_current(current, stage, reopened, expected):
    update = StageUpdate(return_id="r", stage=stage, at=AT, source="shopify", ref="x", reopened=reopened)
    assert becomes_current(current, update) is expected


def test_only_the_reopen_topic_is_marked_reopened():
    body = {"id": 945000954, "admin_graphql_api_id": "gid://shopify/Return/945000954", "status": "open",
            "order": {"id": 450789469, "admin_graphql_api_id": "gid://shopify/Order/450789469"}}
    assert event_from_webhook("returns/reopen", body, triggered_at=AT).stage.reopened is True
    for topic in ("returns/close", "returns/cancel", "returns/process"):
        assert event_from_webhook(topic, body, triggered_at=AT).stage.reopened is False


def test_reopen_of_a_closed_return_makes_it_current_and_a_later_stage_moves_forward(engine, clock):
    cases, stages = CaseRepo(engine), StageRepo(engine)
    svc = LifecycleService(cases=cases, stages=stages, source=Orders(), policy=Policy.default(), clock=clock)
    case, _ = cases.open(new_case())
    svc.apply(_fact(case, ReturnStage.APPROVED, "approve-1", 1))
    svc.apply(_fact(case, ReturnStage.CLOSED, "close-1", 2))
    assert cases.get(case.id).stage is ReturnStage.CLOSED

    svc.apply(_fact(case, ReturnStage.APPROVED, "late-approve", 3))  # not a reopen: history only
    assert cases.get(case.id).stage is ReturnStage.CLOSED
    version = cases.get(case.id).version

    reopened = svc.apply(_fact(case, ReturnStage.APPROVED, "reopen-1", 4, reopened=True))
    assert reopened.stage is ReturnStage.APPROVED and reopened.version == version + 1
    assert stages.current(case.id).ref == "reopen-1"
    assert svc.apply(_fact(case, ReturnStage.APPROVED, "reopen-1", 4, reopened=True)).version == reopened.version

    labelled = svc.apply(_fact(case, ReturnStage.LABEL_SENT, "label-1", 5))
    assert labelled.stage is ReturnStage.LABEL_SENT
    assert svc.apply(_fact(case, ReturnStage.CLOSED, "close-2", 6)).stage is ReturnStage.CLOSED
