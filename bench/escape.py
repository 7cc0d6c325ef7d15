"""Benchmark: escaping a megabyte of hostile text for a card — targets: `escape_mrkdwn(text,
3000)` under 20 ms and `plain(text, 150)` under 50 ms per megabyte, best of `--runs`.

A card field is cut to a few thousand characters, so the escaper reads only the head it
needs (a run of characters it drops, or of newlines `plain` folds, makes it read further).
Escaping the whole text is printed beside it for comparison. The same inputs are checked
for correctness, without a clock, in tests/blocks/test_escape.py.

    python -m bench.escape [--runs 5]
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Callable

from blocks.escape import escape_mrkdwn, plain

MEGABYTE = 1_000_000
TEXTS = {
    "ampersands": "&" * MEGABYTE,
    "mentions": "<!channel>" * (MEGABYTE // 10),
    "at-words": "@here " * (MEGABYTE // 6),
    "controls-then-text": "\x00\u202e" * (MEGABYTE // 2) + "<@U1> & co",
    "newlines": "\r\n" * (MEGABYTE // 2) + "x",
}
ESCAPE_TARGET, PLAIN_TARGET = 0.020, 0.050  # seconds


def fastest(fn: Callable[[], object], runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    missed = 0
    print(f"{'text':<20} {'escape_mrkdwn(3000)':>20} {'plain(150)':>12} {'whole text':>12}")
    for name, text in TEXTS.items():
        cut = fastest(lambda: escape_mrkdwn(text, 3000), args.runs)
        short = fastest(lambda: plain(text, 150), args.runs)
        whole = fastest(lambda: escape_mrkdwn(text), 1)
        over = cut >= ESCAPE_TARGET or short >= PLAIN_TARGET
        missed += over
        print(f"{name:<20} {cut * 1000:>17.2f} ms {short * 1000:>9.2f} ms {whole * 1000:>9.1f} ms"
              + ("  OVER TARGET" if over else ""))
    print(f"targets: escape_mrkdwn < {ESCAPE_TARGET * 1000:.0f} ms, plain < {PLAIN_TARGET * 1000:.0f} ms "
          f"per megabyte; {'all met' if not missed else f'{missed} text(s) over'}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
