"""The Shopify catch-up poller for returns in progress, against FakeShopify playing the warehouse."""

from __future__ import annotations

from integrations.shopify.webhooks import event_from_webhook
from policy.lifecycle import ReturnStage
from policy.models import EventKind


def test_the_poller_sees_the_label_the_webhook_reported_with_the_same_ref(fake, store):
    order = fake.add_order(line_items=[{"title": "Scarf", "price": "40.00"}])
    rid = fake.add_return(order)
    store.approve_return(rid, notify_customer=False, idempotency_key="t:approve")
    body = fake.attach_label(rid)
    calls = len(fake.requests) if hasattr(fake, "requests") else None
    page = store.poll_return_progress(None)
    stages = [e.stage for e in page.events if e.kind is EventKind.RETURN_STAGE and e.resource_id == rid]
    assert [s.stage for s in stages] == [ReturnStage.APPROVED, ReturnStage.LABEL_SENT]
    hook = event_from_webhook("reverse_deliveries/attach_deliverable", body).stage
    assert hook.ref == stages[1].ref and hook.return_id == rid
    if calls is not None:
        assert len(fake.requests) - calls == 2  # one listing page, one progress read
