"""`returnsbot jobs list|show|retry|skip`: what the background work is doing, for operators."""

from __future__ import annotations

import argparse
import json
from typing import TextIO

from bot.store.jobs import Job, JobRepo, JobStatus

UNFINISHED = (JobStatus.PENDING, JobStatus.RUNNING, JobStatus.DEAD)


def add_parser(sub) -> None:
    jobs = sub.add_parser("jobs", help="list, show, retry or skip background jobs")
    verbs = jobs.add_subparsers(dest="verb", required=True)
    ls = verbs.add_parser("list", help="unfinished jobs (pending, running, dead), newest first")
    ls.add_argument("--status", choices=[s.value for s in JobStatus], action="append",
                    help="only these statuses (repeatable); default: pending, running and dead")
    ls.add_argument("--kind", help="only this kind (inbox, ingest, poll, periodic, click, action, card)")
    ls.add_argument("--case", type=int, help="only this case's jobs")
    ls.add_argument("--limit", type=int, default=50)
    for verb, text in (("show", "one job in full"), ("retry", "run a dead or waiting job now, with a fresh budget"),
                       ("skip", "give up on a dead or pending job (the jobs after it on its case may run)")):
        p = verbs.add_parser(verb, help=text)
        p.add_argument("id", type=int)


def run(args: argparse.Namespace, repo: JobRepo, *, now, out: TextIO, operator: str) -> int:
    if args.verb == "list":
        statuses = args.status or [s.value for s in UNFINISHED]
        rows = repo.list(statuses=statuses, kind=args.kind, case_id=args.case, limit=args.limit)
        if not rows:
            out.write("no jobs\n")
            return 0
        out.write(f"{'id':>6}  {'kind':<8} {'system':<16} {'operation':<20} {'case':>5}  {'status':<8} "
                  f"{'tries':>5}  {'next / reason'}\n")
        for j in rows:
            out.write(f"{j.id:>6}  {j.kind:<8} {j.system[:16]:<16} {j.operation[:20]:<20} {j.case_id or '':>5}  "
                      f"{j.status:<8} {j.attempts:>5}  {_next(j, now)}\n")
        return 0
    job = repo.get(args.id)
    if job is None:
        out.write(f"returnsbot: no job {args.id}\n")
        return 1
    if args.verb == "show":
        out.write(json.dumps(_as_dict(job), indent=2, default=str) + "\n")
        return 0
    if args.verb == "retry":
        if not repo.retry(job.id, now=now):
            out.write(f"returnsbot: job {job.id} is {job.status}; only dead or pending jobs can be retried\n")
            return 1
        out.write(f"job {job.id} is due now, with a fresh retry budget\n")
        return 0
    if not repo.skip(job.id, now=now, by=operator):
        out.write(f"returnsbot: job {job.id} is {job.status}; only dead or pending jobs can be skipped\n")
        return 1
    out.write(f"job {job.id} skipped\n")
    return 0


def _next(job: Job, now) -> str:
    if job.status == JobStatus.DEAD:
        return (job.dead_reason or "")[:80]
    if job.status == JobStatus.RUNNING:
        return f"running on {job.holder}"
    wait = (job.next_attempt_at - now).total_seconds()
    due = "due now" if wait <= 0 else f"in {int(wait)} s"
    return due + (f" · last error: {job.last_error[:60]}" if job.last_error else "")


def _as_dict(job: Job) -> dict:
    return {k: getattr(job, k) for k in job.__dataclass_fields__}
