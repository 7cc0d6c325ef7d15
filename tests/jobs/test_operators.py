"""What an operator sees and does: `returnsbot jobs` and `GET /metrics`."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from bot.cli import main
from bot.store import CaseRepo, OutboxOp
from bot.store.jobs import JobRepo, NewJob
from policy.models import CaseStatus
from tests.bot.app_harness import container_for, running
from tests.bot.cli_support import restore_logging  # noqa: F401
from tests.bot.factories import NOW, new_case


@pytest.fixture
def dead_refund(engine, database_url, monkeypatch):
    """A case whose approval went through and whose refund Shopify refused."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    repo, jobs = CaseRepo(engine), JobRepo(engine)
    case, _ = repo.open(new_case(1001))
    repo.transition(case.id, expected=CaseStatus.OPEN, to=CaseStatus.APPROVED, actor="U1", at=NOW,
                    event="case.approved", ops=[OutboxOp("refund_return", {}, "k-refund")])
    [job] = jobs.claim(now=NOW, holder="w", lease=timedelta(seconds=30), kinds=["action"])
    jobs.bury(job, now=NOW, reason="Shopify: refund exceeds the refundable amount")
    return job.id


def test_jobs_list_shows_the_dead_refund_with_its_reason(dead_refund, capsys):
    assert main(["jobs", "list"]) == 0
    out = capsys.readouterr().out
    line = next(l for l in out.splitlines() if l.strip().startswith(str(dead_refund)))
    assert "action" in line and "refund_return" in line and "dead" in line
    assert "refund exceeds the refundable amount" in line
    assert main(["jobs", "list", "--kind", "inbox"]) == 0
    assert capsys.readouterr().out == "no jobs\n"


def test_jobs_show_retry_and_skip(dead_refund, engine, capsys):
    assert main(["jobs", "show", str(dead_refund)]) == 0
    assert '"dead_reason": "Shopify: refund exceeds the refundable amount"' in capsys.readouterr().out
    assert main(["jobs", "retry", str(dead_refund)]) == 0
    assert "due now, with a fresh retry budget" in capsys.readouterr().out
    job = JobRepo(engine).get(dead_refund)
    assert (job.status, job.attempts) == ("pending", 0)
    assert main(["jobs", "skip", str(dead_refund)]) == 0
    assert JobRepo(engine).get(dead_refund).status == "skipped"
    assert main(["jobs", "retry", str(dead_refund)]) == 1
    assert "only dead or pending jobs can be retried" in capsys.readouterr().out
    assert main(["jobs", "show", "999999"]) == 1
    assert "no job 999999" in capsys.readouterr().out


def test_metrics_report_queue_depth_dead_letters_cases_and_vendor_errors(database_url, clock):
    c = container_for(database_url, clock)
    event = next(e for e in c.store.events() if e.kind.value == "return_requested")
    c.ingest.ingest(event)
    assert c.jobs.enqueue(NewJob(kind="ingest", system="shopify.returns", operation="unmapped",
                                 dead_reason="could not map"), now=clock())
    c.metrics.vendor_errors.labels("shopify", "503").inc()
    with running(c, start_workers=False) as server:
        resp = httpx.get(f"{server.url}/metrics")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain")
    text = resp.text
    assert 'returnsbot_dead_letters{kind="ingest",system="shopify.returns"} 1.0' in text
    assert 'returnsbot_cases{status="open"} 1.0' in text
    assert 'returnsbot_cases_opened_total{kind="return_request"} 1.0' in text
    assert 'returnsbot_vendor_errors_total{code="503",system="shopify"} 1.0' in text
    assert "returnsbot_slack_ack_seconds_bucket" in text
