"""Benchmark: tickets triaged (and drafted) per minute against FakeAnthropic answering in
1 s, with the number of tickets in flight bounded; tokens per ticket.

Each ticket runs `classify` (Haiku's forced tool) and then `draft_reply` (Sonnet's forced
tool, the voice's system prompt cached) with its guardrail check: two model calls, so at
1 s an answer a ticket takes ≈2 s and the rate is ≈ concurrency × 30 per minute. In the
bot the bound is the helpdesk's rate limit (Gorgias: 40 requests per 20 s), not this.

    python -m bench.triage [--tickets 120] [--concurrency 8] [--latency 1.0]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from bot.llm.client import Claude
from bot.llm.drafting import draft_reply
from bot.llm.triage import TOOL_NAME as TRIAGE_TOOL, classify
from policy.drafting import DraftContext, DraftDecision
from policy.models import Customer, LineItem, Money, Order
from policy.voice import Voice
from tests.fakes.anthropic import FakeAnthropic, tool_use

TEXTS = [
    ("en", "Hi, I'd like to return the sweater from order #{n}, it is too big."),
    ("de", "Hallo, wo ist mein Paket? Bestellung {n} ist seit einer Woche unterwegs."),
    ("en", "Do you offer wholesale prices? We run a boutique. (re order #{n})"),
    ("de", "Ich möchte mich beschweren: der Pullover aus Bestellung #{n} kam kaputt an!"),
]


def _responder(body: dict):
    tool = (body.get("tool_choice") or {}).get("name")
    user = body["messages"][0]["content"]
    if tool == TRIAGE_TOOL:
        number = re.search(r"#(\d+)", user)
        language = "de" if "Bestellung" in user else "en"
        return tool_use({"intent": "return", "sentiment": "neutral", "urgency": "normal", "language": language,
                         "order_ref": f"#{number.group(1)}" if number else None})
    facts = json.loads(user.split("<reply_facts>")[1].split("</reply_facts>")[0])["facts"]
    return tool_use({"reply": f"Hi {facts.get('customer_first_name', 'there')},\n\nthanks for your message about "
                              f"order {facts.get('order_number', '')}. We are on it and will write again shortly."
                              f"\n\nWarm wishes,\nThe Acme team"})


def _ticket(i: int) -> tuple[str, Order, Customer, str]:
    lang, template = TEXTS[i % len(TEXTS)]
    number = 2000 + i
    now = datetime.now(timezone.utc)
    order = Order(id=f"gid://shopify/Order/{number}", name=f"#{number}", created_at=now - timedelta(days=9),
                  currency="EUR", total=Money.of("89.00", "EUR"), received=Money.of("89.00", "EUR"),
                  refunded=Money.of("0", "EUR"),
                  line_items=(LineItem(id="li", title="Merino Sweater", quantity=1, unit_price=Money.of("89.00", "EUR")),))
    customer = Customer(id=f"c{i}", display_name=f"Kim Example{i}", lifetime_spend=Money.of("89.00", "EUR"))
    return template.format(n=number), order, customer, lang


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=120)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--latency", type=float, default=1.0)
    args = parser.parse_args()
    fake = FakeAnthropic(responder=_responder, latency=args.latency)
    voice = Voice(brand_name="Acme", sign_off="The Acme team", examples=("Hi Sam,\n\nHappy to help!\n\nThe Acme team",))
    with fake.serve():
        claude = Claude(api_key=fake.api_key, classify_model="claude-haiku-5-5", draft_model="claude-sonnet-5-5",
                        base_url=fake.base_url)

        def one(i: int):
            text, order, customer, _ = _ticket(i)
            t0 = time.perf_counter()
            triage = classify(text, subject="", candidates=[order], claude=claude)
            t1 = time.perf_counter()
            context = DraftContext.for_order(order, customer, language=triage.language, intent=triage.intent,
                                             message=text, tz=ZoneInfo("Europe/Berlin"))
            draft = draft_reply(context, DraftDecision(), voice, claude=claude)
            return triage, draft, t1 - t0, time.perf_counter() - t0

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
            results = list(pool.map(one, range(args.tickets)))
        elapsed = time.perf_counter() - started
    by_claude = sum(1 for t, d, _, _ in results if t.by == "claude" and d.by == "claude")
    tokens = [t.tokens + d.tokens for t, d, _, _ in results]
    per_ticket = statistics.median([t.input + t.output + t.cache_read + t.cache_creation for t in tokens])
    print(f"{args.tickets} tickets, {args.concurrency} in flight, model answers in {args.latency:g} s")
    print(f"triaged and drafted: {args.tickets / elapsed * 60:,.0f} tickets/min ({elapsed:.1f} s); "
          f"{by_claude}/{args.tickets} by Claude (the rest fell back)")
    print(f"per ticket: triage p50 {statistics.median(r[2] for r in results):.2f} s, "
          f"triage+draft p50 {statistics.median(r[3] for r in results):.2f} s, {len(fake.requests) / args.tickets:.1f} calls")
    print(f"tokens per ticket (median): {per_ticket:,.0f} in all — input {statistics.median(t.input for t in tokens):,.0f}, "
          f"output {statistics.median(t.output for t in tokens):,.0f}, cache read "
          f"{statistics.median(t.cache_read for t in tokens):,.0f}, cache write "
          f"{statistics.median(t.cache_creation for t in tokens):,.0f} (the fake counts ≈4 characters a token)")


if __name__ == "__main__":
    main()
