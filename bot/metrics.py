"""`GET /metrics` in Prometheus' text format (prometheus-client).

Two sources: what this process saw (vendor errors, ack latency, cases opened and decided:
counters and a histogram), and what the shared database says at scrape time (job queue
depth, oldest due job and dead letters per kind and system, cases by status) — so every
replica reports the same queue and a scrape never double counts it.
"""

from __future__ import annotations

from typing import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import Engine, func, select

from bot.clock import Clock
from bot.schema import cases
from bot.store.jobs import JobRepo
from handlers.http import Request, Response


class Metrics:
    def __init__(self, *, engine: Engine, jobs: JobRepo, clock: Clock) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.vendor_errors = Counter(
            "returnsbot_vendor_errors", "Failed calls to a connected system, by system and error code.",
            ["system", "code"], registry=self.registry)
        self.ack_seconds = Histogram(
            "returnsbot_slack_ack_seconds", "Time to answer a Slack request (the ack).",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 3.0), registry=self.registry)
        self.cases_opened = Counter("returnsbot_cases_opened", "Cases opened by this process, by kind.",
                                    ["kind"], registry=self.registry)
        self.cases_decided = Counter("returnsbot_cases_decided", "Decisions recorded by this process, by event.",
                                     ["event"], registry=self.registry)
        self.registry.register(_DatabaseCollector(engine, jobs, clock))

    def endpoint(self) -> Callable[[Request], Response]:
        def metrics(_request: Request) -> Response:
            return Response(200, generate_latest(self.registry), {"Content-Type": CONTENT_TYPE_LATEST})

        return metrics


class _DatabaseCollector:
    def __init__(self, engine: Engine, jobs: JobRepo, clock: Clock) -> None:
        self.engine = engine
        self.jobs = jobs
        self.clock = clock

    def describe(self) -> Iterable:
        return []

    def collect(self) -> Iterable[GaugeMetricFamily]:
        depth = GaugeMetricFamily("returnsbot_jobs", "Unfinished background jobs, by kind, system and status.",
                                  labels=["kind", "system", "status"])
        oldest = GaugeMetricFamily("returnsbot_jobs_oldest_due_seconds",
                                   "Age of the oldest due pending job, by kind and system.", labels=["kind", "system"])
        dead = GaugeMetricFamily("returnsbot_dead_letters", "Jobs that gave up and wait for an operator.",
                                 labels=["kind", "system"])
        now = self.clock()
        for s in self.jobs.stats():
            depth.add_metric([s.kind, s.system, s.status], s.count)
            if s.status == "pending" and s.oldest is not None:
                oldest.add_metric([s.kind, s.system], max(0.0, (now - s.oldest).total_seconds()))
            if s.status == "dead":
                dead.add_metric([s.kind, s.system], s.count)
        by_status = GaugeMetricFamily("returnsbot_cases", "Cases by status.", labels=["status"])
        with self.engine.connect() as conn:
            for status, n in conn.execute(select(cases.c.status, func.count()).group_by(cases.c.status)):
                by_status.add_metric([status], n)
        yield from (depth, oldest, dead, by_status)


def error_code(exc: BaseException) -> str:
    """A short, bounded label for an error (never the message: labels must stay few)."""
    for attr in ("status", "error"):
        value = getattr(exc, attr, None)
        if value:
            return str(value)[:40]
    return type(exc).__name__
