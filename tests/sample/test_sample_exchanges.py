"""The bundled sample store's exchanges: Chloe's hoodie swap (#1046) releases; Daniel's
US 10.5 (#1042) is out of stock, so approving his exchange opens the follow-up in the demo."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from integrations.sample import SampleStore
from policy.models import ReturnStatus
from policy.ports import ExchangeOutOfStock

NOW = datetime(2026, 11, 2, 14, 0, tzinfo=timezone.utc)


def requested(store: SampleStore, order_name: str):
    order = store.find_orders(order_name)[0]
    return next(r for r in store.get_order_returns(order.id) if r.status is ReturnStatus.REQUESTED)


@pytest.mark.parametrize("variant", ["us", "eur", "jpy"])
def test_the_bundled_exchanges(variant):
    store = SampleStore.load(now=NOW, variant=variant)
    chloe, daniel = requested(store, "#1046"), requested(store, "#1042")
    for ret in (chloe, daniel):
        store.approve_return(ret.id, notify_customer=False, idempotency_key=f"approve:{ret.id}")
    assert store.release_exchange(chloe.id, notify_customer=False, idempotency_key="release:chloe").ok
    assert store.exchange_released(chloe.id) == 1
    with pytest.raises(ExchangeOutOfStock) as err:
        store.release_exchange(daniel.id, notify_customer=False, idempotency_key="release:daniel")
    assert [i.title for i in err.value.items] == ["Ridge Trail Running Shoes — US 10.5"]
    assert store.exchange_released(daniel.id) == 0
