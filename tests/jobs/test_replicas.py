"""Two replicas on one database, webhooks, clicks and workers split across them, several
rounds: every delivery becomes its card within seconds (none waits out a lease), every
approval runs once, and nothing logs a traceback."""

from __future__ import annotations

import logging
import time

from slack_sdk import WebClient

from blocks.ids import ActionId
from blocks.refs import CaseRef
from bot.clock import utcnow
from bot.container import Container
from bot.server import Server
from bot.settings import Settings
from integrations.sample.store import SampleStore
from integrations.slack.gateway import SlackGateway
from policy.config import parse_policy
from policy.models import CaseKind, CaseStatus
from tests.conftest import reset_database
from tests.bot.app_harness import SHOPIFY_TEST_SETTINGS, WEBHOOK_SECRET, post, return_request_payload, shopify_delivery
from tests.fakes import slack_requests as sr
from tests.fakes.slack import FakeSlack
from tests.loop.harness import POLICY, SIGNING_SECRET, T2A, T2B, T3, wait_for

ROUNDS = 2


def _replica(database_url: str, store: SampleStore, slack: FakeSlack) -> tuple[Container, Server]:
    settings = Settings(_env_file=None, database_url=database_url, shopify_api_secret=WEBHOOK_SECRET,
                        **SHOPIFY_TEST_SETTINGS,
                        slack_bot_token=slack.token, slack_signing_secret=SIGNING_SECRET,
                        slack_api_url=slack.base_url)
    client = WebClient(token=slack.token, base_url=slack.base_url, timeout=5)
    gateway = SlackGateway(client, min_interval_per_channel=0.0, backoff_base=0.01, backoff_max=0.05)
    c = Container.build(settings, store=store, policy=parse_policy(POLICY), slack_client=client,
                        slack_gateway=gateway)
    return c, Server(c, host="127.0.0.1", port=0, threads=8, schedule=False)


def test_two_replicas_share_the_work_without_stalls_or_doubles(database_url, caplog):
    caplog.set_level(logging.WARNING)
    with FakeSlack() as slack:
        slack.user_groups = {"S0TIER2": [T2A, T2B]}
        for round_ in range(ROUNDS):
            store = SampleStore.load(now=utcnow())
            a, sa = _replica(database_url, store, slack)
            b, sb = _replica(database_url, store, slack)
            servers = (sa, sb)
            for s in servers:
                s.start()
            try:
                returns = [e for e in store.events() if e.kind.value == "return_requested"]
                sent = time.monotonic()
                for i, event in enumerate(returns):
                    body, headers = shopify_delivery("returns/request",
                                                     return_request_payload(event.resource_id, event.order_id),
                                                     delivery=f"r{round_}-{i}")
                    assert post(f"{servers[i % 2].url}/webhooks/shopify", body, headers).status_code == 200
                # every delivery is processed and every case that needs a person gets its card,
                # quickly, from whichever replica
                wait_for(lambda: a.receipts.counts() == {"done": len(returns)}, timeout=15, what="every delivery")

                def carded():
                    found = [a.cases.find("shopify", e.resource_id, CaseKind.RETURN_REQUEST) for e in returns]
                    return all(k is None or k.auto_approved or k.slack_ts for k in found) and found

                found = wait_for(carded, timeout=15, what="every card")
                assert time.monotonic() - sent < 15
                # clicks split across the replicas: tier-3 approves every open case
                open_cases = [k for k in found if k is not None and a.cases.get(k.id).status is CaseStatus.OPEN]
                for i, case in enumerate(open_cases):
                    case = a.cases.get(case.id)
                    body, ctype = sr.block_action(str(CaseRef(case.id, case.version)), ActionId.CASE_APPROVE,
                                                  user_id=T3, channel=case.slack_channel, message_ts=case.slack_ts)
                    assert sr.post(f"{servers[i % 2].url}/slack/events", body, ctype, SIGNING_SECRET).status_code == 200
                def carried_out(k) -> bool:  # or stopped at a follow-up (the sample's exchange out of stock)
                    now = a.cases.get(k.id)
                    return now.status in (CaseStatus.DONE, CaseStatus.FAILED) or bool(
                        now.status is CaseStatus.OPEN and now.followup)

                wait_for(lambda: all(carried_out(k) for k in open_cases), timeout=20,
                         what="every decision carried out")
                keys = [call.idempotency_key for call in store.calls if not call.replayed and call.error is None]
                assert len(keys) == len(set(keys)), "a side effect ran twice"
            finally:
                for s in servers:
                    s.stop()
                for c in (a, b):
                    c.engine.dispose()
            reset_database(database_url)  # the next round starts from an empty database
    tracebacks = [r for r in caplog.records if r.exc_info and r.levelno >= logging.ERROR]
    assert tracebacks == [], [r.getMessage() for r in tracebacks]
