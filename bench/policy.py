"""Benchmark: policy evaluations per second (detect + recommend, pure, no I/O).

Assembles the context of every requested return in the bundled sample store once, then
runs `assess` over them round-robin.

    python -m bench.policy [--seconds 3]
"""

from __future__ import annotations

import argparse
import sys
import time

from bot.services.context import assemble
from integrations.sample.store import SampleStore
from policy.assess import assess
from policy.config import Policy


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=3.0)
    args = ap.parse_args()
    store = SampleStore.load()
    policy = Policy.default().for_shop(store.shop_facts())
    now = store.now if hasattr(store, "now") else None
    from bot.clock import utcnow

    now = now or utcnow()
    contexts = [assemble(e, store, now=now, lookback_days=policy.risk.lookback_days)
                for e in store.poll_requested_returns(None).events]
    n = 0
    t0 = time.perf_counter()
    deadline = t0 + args.seconds
    while time.perf_counter() < deadline:
        for ctx in contexts:
            assess(ctx, policy)
        n += len(contexts)
    elapsed = time.perf_counter() - t0
    print(f"policy evaluation: {n:,} assessments of {len(contexts)} sample contexts in {elapsed:.2f} s "
          f"= {n / elapsed:,.0f} evaluations/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
