"""Crash soak: approve a return, kill -9 the server at a random moment after Slack got its
200, restart it, and count what happened to the decision.

    .venv/bin/python -m bench.crash --runs 20            # SQLite, a fresh file per run
    .venv/bin/python -m bench.crash --runs 20 --database-url postgresql://postgres@127.0.0.1:5432/bench

Each run: a real `returnsbot serve` against FakeShopify (the Shopify adapter, check-before-
act) and FakeSlack, both in this process so they outlive the kill; the card is posted, the
approval is clicked, the server is killed 0–`--max-delay-ms` later (after the ack, during
the decision, the vendor calls or the card update, wherever it lands), restarted, and
watched until the case is done. Lost: the decision never carried out. Doubled: Shopify
received an approve or a refund mutation more than once.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

from bot.db import upgrade
from tests.conftest import reset_database
from tests.crash.test_kill9 import LEASE_SECONDS, Deployment, _card_posted, _wait, shop_with_a_return
from tests.fakes.slack import FakeSlack


def one_run(database_url: str, tmp: Path, delay: float) -> tuple[str, float]:
    shopify = shop_with_a_return()
    with shopify.serve() as shopify_url, FakeSlack() as slack:
        d = Deployment(database_url, tmp, shopify, shopify_url, slack)
        try:
            d.start()
            case = _card_posted(d)
            assert d.click_approve(case).status_code == 200
            time.sleep(delay)
            d.kill()
            restarted = d.start()
            try:
                _wait(lambda: (r := d.case()) is not None and r.status == "done", timeout=LEASE_SECONDS + 20,
                      what="done")
            except AssertionError:
                return "lost", float("nan")
            took = time.monotonic() - restarted
            applied = [name for name, _ in shopify.mutations]
            sent = len(shopify.calls_to("ReturnApproveRequest")) + len(shopify.calls_to("ReturnRefund"))
            if applied.count("returnApproveRequest") > 1 or applied.count("returnRefund") > 1:
                return "doubled", took
            return ("ok" if sent == 2 else "ok-resent"), took
        finally:
            d.stop()
            d.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--max-delay-ms", type=float, default=400.0)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    outcomes: dict[str, int] = {}
    recoveries: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(args.runs):
            url = args.database_url or f"sqlite:///{tmp}/crash-{n}.db"
            upgrade(url)
            if args.database_url:
                reset_database(url)
            delay = rng.uniform(0, args.max_delay_ms) / 1000
            outcome, took = one_run(url, Path(tmp), delay)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            if took == took:
                recoveries.append(took)
            print(f"run {n + 1:>3}: killed {delay * 1000:5.0f} ms after the ack → {outcome}"
                  + (f", done {took:.1f} s after the restart" if took == took else ""), flush=True)
    lost, doubled = outcomes.get("lost", 0), outcomes.get("doubled", 0)
    print(f"\n{args.runs} runs: {lost} lost, {doubled} doubled; "
          f"{outcomes.get('ok-resent', 0)} where a mutation was sent again after the restart "
          f"(check-before-act would have caught a second one)")
    if recoveries:
        print(f"recovery after restart: median {statistics.median(recoveries):.1f} s, max {max(recoveries):.1f} s "
              f"(job lease {LEASE_SECONDS} s)")


if __name__ == "__main__":
    main()
