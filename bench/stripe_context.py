"""Benchmark: what the Stripe connector adds to context assembly, over the sample store's
cases, against FakeStripe on 127.0.0.1 (every order paid by a Stripe charge its
transactions name; Radar risk on each).

Per case: the store's assembly alone, then the Stripe contribution (the order's charge and
the customer's other recent orders' charges: charge, warnings, disputes). Reports p50/p99
of both and the Stripe requests made. A local fake has ~0 network latency: against Stripe
each round trip adds its latency, which is why the charges are read in parallel.

    python -m bench.stripe_context [--rounds 5]
"""

from __future__ import annotations

import argparse
import time

from bot.clock import utcnow
from bot.services.context import CASE_KIND_FOR_EVENT, assemble, contribute
from integrations.sample.store import SampleStore
from integrations.stripe.client import StripeAPI
from integrations.stripe.connector import connector_for
from policy.payments import PaymentReference
from tests.fakes.stripe import FakeStripe, StoreWithPayments


def _q(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    store = SampleStore.load(now=utcnow())
    paid = StoreWithPayments(store)
    fake = FakeStripe()
    with fake.serve():
        for order in store._state.orders.values():
            charge = fake.add_charge(amount=max(order.received.to_minor(), 1),
                                     outcome={"type": "authorized", "risk_level": "normal", "risk_score": 20})
            paid.references[order.id] = [PaymentReference(gateway="stripe", reference=charge["id"])]
        api = StripeAPI(fake.api_key, base=fake.base_url, max_network_retries=0)
        stripe = connector_for(api, store=paid, webhook_secret=None, clock=utcnow)
        events = [e for e in store.events() if e.kind in CASE_KIND_FOR_EVENT]
        base, extra = [], []
        for _ in range(args.rounds):
            for event in events:
                t0 = time.perf_counter()
                ctx = assemble(event, store, now=utcnow(), lookback_days=365)
                t1 = time.perf_counter()
                contribute(ctx, [stripe])
                base.append(t1 - t0)
                extra.append(time.perf_counter() - t1)
    print(f"{len(extra)} assemblies over {len(events)} sample cases")
    print(f"store only:        p50 {_q(base, .5):6.1f} ms   p99 {_q(base, .99):6.1f} ms")
    print(f"+ Stripe (local):  p50 {_q(extra, .5):6.1f} ms   p99 {_q(extra, .99):6.1f} ms   "
          f"{len(fake.calls) / len(extra):.1f} requests per case")


if __name__ == "__main__":
    main()
