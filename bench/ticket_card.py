"""Benchmark: a ticket's webhook → its card posted in Slack, through the running app.

`returnsbot`'s server (the job lanes, the inbox, the card worker) over a temporary SQLite
database and the sample store; FakeGorgias on 127.0.0.1 (the bot fetches the ticket, its
customer's other tickets, the agents); a fake Slack Web API; and either FakeAnthropic
answering every call after `--latency` seconds (triage + draft: two calls) or no key at all
(the rules classifier and the template draft). Each ticket is a new Gorgias ticket about a
sample order; its HTTP-integration delivery is POSTed to `/webhooks/gorgias/<token>` and the
clock stops when the case's card has a Slack ts. One ticket at a time (`--spacing` apart),
so the figure is one ticket's latency, not a queue's.

    python -m bench.ticket_card [--tickets 30] [--latency 1.0] [--no-key]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from bench.triage import _responder
from bot.clock import utcnow
from bot.db import upgrade
from bot.llm.client import Claude
from integrations.sample.store import SampleStore
from policy.models import CaseKind
from policy.ticket_case import review_of
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.gorgias import FakeGorgias
from tests.helpdesk.helpers import GORGIAS_TOKEN, gorgias_conn
from tests.loop.harness import loop

ORDERS = ("#1001", "#1002", "#1003", "#1004", "#1005", "#1006")


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    pos = p * (len(ordered) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def run(tickets: int, latency: float, with_key: bool, spacing: float) -> dict:
    fake_gorgias, fake_model = FakeGorgias(), FakeAnthropic(responder=_responder, latency=latency)
    store = SampleStore.load(now=utcnow())
    with tempfile.TemporaryDirectory() as tmp, fake_gorgias.serve() as base, fake_model.serve():
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        conn = gorgias_conn(fake_gorgias, base, clock=utcnow)
        with loop(url, store=store, connectors=(conn,)) as lp:
            if with_key:
                lp.c.ingest.tickets.claude = Claude(
                    api_key=fake_model.api_key, classify_model="claude-haiku-5-5", draft_model="claude-sonnet-5-5",
                    base_url=fake_model.base_url)
            seconds, tokens, acks, opened = [], [], [], []
            for i in range(tickets):
                order = store.find_orders(ORDERS[i % len(ORDERS)])[0]
                customer = store.get_customer(order.customer_id)
                title = order.line_items[0].title
                tid = fake_gorgias.add_ticket(f"Return {order.name}", email=customer.email, name=customer.display_name,
                                              text=f"Hi, I want to return the {title} from {order.name}, it doesn't fit.")
                t0 = time.perf_counter()
                r = httpx.post(f"{lp.server.url}/webhooks/gorgias/{GORGIAS_TOKEN}", content=fake_gorgias.delivery(tid),
                               headers={"Content-Type": "application/json"}, timeout=10)
                assert r.status_code == 200, r.text
                answered = time.perf_counter() - t0
                stored = None
                while True:
                    case = lp.c.cases.find("gorgias", str(tid), CaseKind.TICKET)
                    if case is not None and stored is None:
                        stored = time.perf_counter() - t0
                    if case is not None and case.slack_ts:
                        break
                    if time.perf_counter() - t0 > 60:
                        raise SystemExit(f"ticket {tid}: no card after 60 s")
                    time.sleep(0.005)
                seconds.append(time.perf_counter() - t0)
                acks.append(answered)
                opened.append(stored)
                review = review_of(lp.c.cases.snapshot(case)[0])
                t = [review.classification.tokens, review.draft.tokens if review.draft else None]
                tokens.append(sum(x.input + x.output + x.cache_read + x.cache_creation for x in t if x is not None))
                if review.classification.by != ("claude" if with_key else "rules"):
                    raise SystemExit(f"ticket {tid} classified by {review.classification.by}")
                time.sleep(spacing)
            posts = len(lp.slack.calls_to("chat.postMessage"))
    return {"seconds": seconds, "acks": acks, "opened": opened, "tokens": tokens, "posts": posts, "model_calls": len(fake_model.requests),
            "gorgias_calls": len(fake_gorgias.calls)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=30)
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--spacing", type=float, default=0.2, help="seconds between two tickets")
    parser.add_argument("--no-key", action="store_true", help="no ANTHROPIC_API_KEY: the rules and the template")
    args = parser.parse_args()
    out = run(args.tickets, args.latency, not args.no_key, args.spacing)
    s = out["seconds"]
    how = "no key (rules + template)" if args.no_key else f"FakeAnthropic answering in {args.latency:g} s"
    print(f"{args.tickets} tickets, one at a time, {how}")
    print(f"webhook → card posted: p50 {_percentile(s, 0.5):.3f} s · p99 {_percentile(s, 0.99):.3f} s · "
          f"min {min(s):.3f} s · max {max(s):.3f} s")
    print(f"of which: webhook answered p50 {_percentile(out['acks'], 0.5):.3f} s · case stored (ticket fetched, "
          f"triaged, drafted) p50 {_percentile(out['opened'], 0.5):.3f} s · p99 {_percentile(out['opened'], 0.99):.3f} s")
    print(f"per ticket: {out['gorgias_calls'] / args.tickets:.1f} Gorgias requests, "
          f"{out['model_calls'] / args.tickets:.1f} model calls, {out['posts']} cards posted; "
          f"tokens (median) {statistics.median(out['tokens']):,.0f}")


if __name__ == "__main__":
    main()
