"""The sample store's returns move through the stages on a clock after approval (issue 9)."""

from __future__ import annotations

from policy.lifecycle import Disposition, ReturnStage
from policy.models import EventKind, Money, ReturnStatus


def _requested(store):
    return sorted((r for r in (store.get_return(e.resource_id) for e in store.events()
                               if e.kind is EventKind.RETURN_REQUESTED) if r.status is ReturnStatus.REQUESTED),
                  key=lambda r: r.id)


def _stages(store, rid):
    return [e.stage for e in store.stage_events() if e.resource_id == rid]


def test_the_return_already_open_in_the_data_has_been_received_and_restocked(store):
    (open_return,) = {e.resource_id for e in store.stage_events()}
    stages = _stages(store, open_return)
    assert [s.stage for s in stages] == [ReturnStage.APPROVED, ReturnStage.LABEL_SENT, ReturnStage.IN_TRANSIT,
                                         ReturnStage.DELIVERED_BACK, ReturnStage.RECEIVED]
    assert all(d.disposition is Disposition.RESTOCKED for d in stages[-1].dispositions)
    assert stages[1].tracking.number and stages[1].tracking.label_url


def test_an_approved_return_walks_to_received_in_minutes_and_the_refund_is_processed(store, store_clock):
    ret = _requested(store)[0]
    store.approve_return(ret.id, notify_customer=False, idempotency_key="t:approve")
    assert [s.stage for s in _stages(store, ret.id)] == [ReturnStage.APPROVED]
    store_clock.advance(minutes=1)
    assert _stages(store, ret.id)[-1].stage is ReturnStage.LABEL_SENT
    store_clock.advance(minutes=3)
    assert _stages(store, ret.id)[-1].stage is ReturnStage.RECEIVED
    store.refund_return(ret.id, amount=Money.of("1.00", ret.currency), notify_customer=False, idempotency_key="t:refund")
    last = _stages(store, ret.id)[-1]
    assert last.stage is ReturnStage.PROCESSED and last.refund.amount == Money.of("1.00", ret.currency).amount


def test_the_scripts_give_one_damaged_one_missing_and_one_stalled(store, store_clock):
    for i, ret in enumerate(_requested(store)[:4]):
        store.approve_return(ret.id, notify_customer=False, idempotency_key=f"t:{i}")
    store_clock.advance(minutes=10)
    received = {e.resource_id: e.stage for e in store.stage_events() if e.stage.stage is ReturnStage.RECEIVED}
    kinds = sorted({d.disposition for s in received.values() for d in s.dispositions})
    assert Disposition.NOT_RESTOCKED in kinds and Disposition.MISSING in kinds
    approved = {e.resource_id for e in store.stage_events()}
    assert len(approved) == 5 and len(received) == 4  # the data's open one + 4; the fourth stalls without a label


def test_the_progress_poller_pages_by_time_and_replays_nothing(store, store_clock):
    page = store.poll_return_progress(None)
    assert page.events and all(e.kind is EventKind.RETURN_STAGE for e in page.events)
    assert store.poll_return_progress(page.cursor).events == []
    ret = _requested(store)[0]
    store.approve_return(ret.id, notify_customer=False, idempotency_key="t:p")
    store_clock.advance(minutes=1)
    later = store.poll_return_progress(page.cursor)
    assert [e.stage.stage for e in later.events] == [ReturnStage.APPROVED, ReturnStage.LABEL_SENT]
