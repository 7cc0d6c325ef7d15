"""What ShipStation adds to context assembly: p50/p99 of the connector's `contribute` and of
the whole fold (store + ShipStation through `bot.services.context.contribute`), over the
sample store's cases, against FakeShipStation served over real local HTTP (V2 tracking for
every fulfilment; V1 only for orders the store lists no tracked parcel for).

    python -m bench.shipstation_context
"""

from __future__ import annotations

import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.services.context import assemble, contribute  # noqa: E402
from integrations.sample import SampleStore  # noqa: E402
from integrations.shipstation.connector import connector_for  # noqa: E402
from tests.fakes.shipstation import FakeShipStation  # noqa: E402
from tests.shipstation.helpers import shipstation  # noqa: E402


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p * (len(ordered) - 1))))]


def main(rounds: int = 5) -> None:
    now = datetime.now(timezone.utc)
    store = SampleStore.load(now=now)
    fake = FakeShipStation()
    events = store.events()
    for event in events:
        for o in store.find_orders(event.order_id or "", limit=1):
            for s in o.shipments:
                if s.tracking_number and s.tracking_number not in fake.tracking:
                    fake.set_tracking(s.tracking_number, "IT", carrier_code=(s.carrier or "ups").lower())
    with fake.serve() as base:
        conn = connector_for(shipstation(fake, base, clock=lambda: now))
        own, fold = [], []
        for _ in range(rounds):
            for event in events:
                ctx = assemble(event, store, now=now, lookback_days=365)
                started = time.perf_counter()
                conn.contribute(ctx)
                own.append(time.perf_counter() - started)
                started = time.perf_counter()
                contribute(ctx, [conn])
                fold.append(time.perf_counter() - started)
    calls = len(fake.calls)
    print(f"{len(events)} cases x {rounds} rounds, {calls} requests to the fake "
          f"({calls / (2 * rounds * len(events)):.1f} per contribution)")
    for name, values in (("ShipStation contribute", own), ("context fold with ShipStation", fold)):
        print(f"{name}: p50 {statistics.median(values) * 1000:.1f} ms, p99 {_pct(values, 0.99) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
