"""Context assembly with every system at once: the store's assembly, then Stripe and
ShipStation contributed in parallel (`bot.services.context.contribute`), over the sample
store's cases, against FakeStripe and FakeShipStation on real local HTTP. Reports p50/p99 of
the store's part, of the fold, and of the whole (target: p99 under 1.5 s).

A local fake answers in ~0 ms; against the real APIs each round trip adds its latency once
per contributor (they run side by side), and the fold's per-connector timeout
(`Connector.contribute_timeout`, 5 s) bounds a slow one.

    python -m bench.context_all [--rounds 5]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.stripe_context import _q  # noqa: E402
from tests.fakes.stripe import StoreWithPayments  # noqa: E402
from bot.clock import utcnow  # noqa: E402
from bot.services.context import CASE_KIND_FOR_EVENT, assemble, contribute  # noqa: E402
from integrations.sample.store import SampleStore  # noqa: E402
from integrations.shipstation.connector import connector_for as shipstation_connector  # noqa: E402
from integrations.stripe.client import StripeAPI  # noqa: E402
from integrations.stripe.connector import connector_for as stripe_connector  # noqa: E402
from policy.payments import PaymentReference  # noqa: E402
from tests.fakes.shipstation import FakeShipStation  # noqa: E402
from tests.fakes.stripe import FakeStripe  # noqa: E402
from tests.shipstation.helpers import shipstation  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    now = utcnow()
    store = SampleStore.load(now=now)
    paid = StoreWithPayments(store)
    stripe_fake, ship_fake = FakeStripe(), FakeShipStation()
    events = [e for e in store.events() if e.kind in CASE_KIND_FOR_EVENT]
    for order in store._state.orders.values():
        for s in order.shipments:
            if s.tracking_number and s.tracking_number not in ship_fake.tracking:
                ship_fake.set_tracking(s.tracking_number, "IT", carrier_code=(s.carrier or "ups").lower())
    with stripe_fake.serve(), ship_fake.serve() as ship_base:
        for order in store._state.orders.values():
            charge = stripe_fake.add_charge(amount=max(order.received.to_minor(), 1),
                                            outcome={"type": "authorized", "risk_level": "normal", "risk_score": 20})
            paid.references[order.id] = [PaymentReference(gateway="stripe", reference=charge["id"])]
        api = StripeAPI(stripe_fake.api_key, base=stripe_fake.base_url, max_network_retries=0)
        connectors = [stripe_connector(api, store=paid, webhook_secret=None, clock=utcnow),
                      shipstation_connector(shipstation(ship_fake, ship_base, clock=lambda: now))]
        base, fold, whole, missing = [], [], [], 0
        for _ in range(args.rounds):
            for event in events:
                t0 = time.perf_counter()
                ctx = assemble(event, paid, now=now, lookback_days=365)
                t1 = time.perf_counter()
                out = contribute(ctx, connectors)
                t2 = time.perf_counter()
                base.append(t1 - t0)
                fold.append(t2 - t1)
                whole.append(t2 - t0)
                missing += len(out.unavailable)
    n = len(whole)
    print(f"{n} assemblies over {len(events)} sample cases; {len(stripe_fake.calls) / n:.1f} Stripe and "
          f"{len(ship_fake.calls) / n:.1f} ShipStation requests per case; {missing} contributions left out")
    for name, values in (("store only", base), ("Stripe + ShipStation fold", fold), ("whole context", whole)):
        print(f"{name:<26} p50 {_q(values, .5):7.1f} ms   p99 {_q(values, .99):7.1f} ms")


if __name__ == "__main__":
    main()
