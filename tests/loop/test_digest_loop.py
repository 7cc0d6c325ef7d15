"""The digest from the running app: decisions made through Slack show up in the post the
fake Web API records, and two replicas' schedulers post it once."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

from blocks.ids import ActionId
from bot.services.digest import DigestService
from bot.store.digest import DigestStore
from policy.models import CaseStatus
from tests.loop.harness import T2A, loop, wait_for

DIGEST = "C0DIGEST01"


def test_digest_now_reports_the_weeks_decisions(database_url):
    with loop(database_url) as lp:
        case = lp.open_case("#1034")
        lp.open_case("#1045")
        lp.click(case, ActionId.CASE_APPROVE, T2A)
        wait_for(lambda: lp.c.cases.get(case.id).status is CaseStatus.DONE, what="the decision")
        ts = lp.c.digest.post_now()
        message = lp.slack.message(DIGEST, ts)
        assert message is not None
        # Its first digest: only since returnsbot started, compared with nothing.
        assert "(since returnsbot started): 2 exceptions opened, 1 resolved" in message["text"]
        assert "100% followed the recommendation" in message["text"]
        assert "#1045" in json.dumps(message["blocks"])  # the oldest open case is listed


def test_two_replicas_post_the_scheduled_digest_once(database_url):
    with loop(database_url) as lp:
        lp.open_case("#1034")
        c = lp.c
        # A bot that has been running for weeks (a period before its start is never posted).
        DigestStore(c.engine).mark_started(holder="earlier", now=c.clock() - timedelta(days=30))
        replicas = [c.digest] + [
            DigestService(engine=c.engine, ops=c.ops, policy=c.policy, clock=c.clock, gateway=c.gateway)
            for _ in range(2)
        ]
        barrier = threading.Barrier(len(replicas))
        posted = []

        def run(service, holder):
            barrier.wait()
            posted.append(service.run_due(holder))

        threads = [threading.Thread(target=run, args=(r, f"replica-{i}")) for i, r in enumerate(replicas)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        assert posted.count(True) == 1
        assert len(lp.slack.messages(DIGEST)) == 1
        assert not any(r.run_due("replica-late") for r in replicas)  # and not again
        assert len(lp.slack.messages(DIGEST)) == 1
