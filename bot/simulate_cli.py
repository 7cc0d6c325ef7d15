"""`returnsbot simulate` and `returnsbot policy suggest`: the policy simulator from the shell.

    returnsbot simulate --policy new.toml [--since 90d] [--kind return_request] [--json]
    returnsbot simulate --set returns.window_days=45 [--set …]     # the running policy, changed
    returnsbot policy suggest [--since 90d] [--write DIR] [--json]

A policy file that cannot be used is reported like everywhere else (file:line: key: what)
by the CLI's PolicyError handler: exit 2, no traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TextIO

from bot.simulate import DEFAULT_SINCE
from policy.models import CaseKind


def add_parser(sub) -> None:
    sim = sub.add_parser("simulate", help="replay past cases through a proposed policy and compare")
    what = sim.add_mutually_exclusive_group(required=True)
    what.add_argument("--policy", help="the proposed policy file")
    what.add_argument("--set", action="append", metavar="TABLE.KEY=VALUE", dest="changes",
                      help="the running policy with this key changed (repeatable)")
    _scope_arguments(sim)
    sim.add_argument("--json", action="store_true", help="print JSON instead of the table")
    pol = sub.add_parser("policy", help="policy tools")
    verbs = pol.add_subparsers(dest="policy_command", required=True)
    sug = verbs.add_parser("suggest", help="policy changes that would match the team's overrides, each simulated")
    _scope_arguments(sug)
    sug.add_argument("--write", type=Path, metavar="DIR",
                     help="write each suggestion as a full policy file (suggestion-1.toml …) into DIR")
    sug.add_argument("--json", action="store_true")


def _scope_arguments(p) -> None:
    p.add_argument("--since", default=DEFAULT_SINCE, help=f"cases opened in the last Nd or Nw (default {DEFAULT_SINCE})")
    p.add_argument("--kind", choices=[k.value for k in CaseKind], help="only cases of this kind")
    p.add_argument("--workers", type=int, default=None,
                   help="processes replaying in parallel (default: the machine's cores, at most 4)")


def run(args: argparse.Namespace, settings, *, now, out: TextIO, err: TextIO) -> int:
    from bot.db import make_engine
    from bot.simulate import SimulateError

    engine = make_engine(settings.database_url)
    try:
        if args.command == "simulate":
            return _simulate(args, settings, engine, now=now, out=out)
        return _suggest(args, settings, engine, now=now, out=out)
    except SimulateError as exc:
        print(f"returnsbot: {exc}", file=err)
        return 2
    finally:
        engine.dispose()


def _scope(args, now):
    from bot.simulate import Scope, parse_since

    return Scope(since=parse_since(args.since, now), kind=CaseKind(args.kind) if args.kind else None)


def _simulate(args, settings, engine, *, now, out: TextIO) -> int:
    from blocks.simulate import render_text
    from bot.simulate import default_workers, proposed_policy, resolved, run, stored_shop_facts
    from policy.config import load_policy
    from policy.simulate import to_json

    scope = _scope(args, now)
    facts = stored_shop_facts(engine)
    current = resolved(load_policy(settings.returnsbot_policy or None), facts)
    if args.policy:
        proposed, name = proposed_policy(path=args.policy), args.policy
    else:
        changes = _changes(args.changes)
        proposed = proposed_policy(changes=changes, running=settings.returnsbot_policy)
        name = ", ".join(f"{k}={v}" for k, v in changes.items())
    proposed = resolved(proposed, facts)
    sim = run(engine, current, proposed, scope, workers=args.workers or default_workers())
    if args.json:
        out.write(json.dumps({"proposed_policy": name, "current_policy": settings.returnsbot_policy or "default",
                              "since": args.since,
                              "kind": args.kind, **to_json(sim)}, indent=2) + "\n")
    else:
        out.write(render_text(sim, title=_title(name, settings.returnsbot_policy, args)))
    return 0


def _title(name: str, running: str | None, args) -> str:
    scope = f"cases opened in the last {args.since}" + (f", {args.kind.replace('_', ' ')} only" if args.kind else "")
    return f"Simulated {name} against {running or 'the default policy'} ({scope})"


def _changes(items: list[str]) -> dict[str, str]:
    from policy.edit import parse_assignment

    return dict(parse_assignment(item) for item in items)


def _suggest(args, settings, engine, *, now, out: TextIO) -> int:
    from bot.simulate import default_workers
    from bot.suggest import suggest
    from blocks.simulate import agreement_line

    scope = _scope(args, now)
    found = suggest(engine, settings.returnsbot_policy, scope, since=args.since,
                    workers=args.workers or default_workers())
    if args.json:
        out.write(json.dumps([s.to_json() for s in found.tried], indent=2) + "\n")
        return 0
    if not found.overrides:
        out.write(f"No decisions against the current policy's recommendation in the last {args.since}: "
                  "nothing to suggest.\n")
        return 0
    out.write(f"{found.overrides:,} of {found.decided:,} decisions by people in the last {args.since} went against "
              f"the current policy's recommendation.\n")
    if not found.kept:
        out.write("No policy change expressible in the policy file would match more of them than it breaks.\n")
    for n, s in enumerate(found.kept, start=1):
        out.write(f"\n{n}. {s.evidence}\n   → `[{s.table}] {s.key} = {s.value}` would match {s.matched} of them.\n")
        out.write(f"   Simulated: {agreement_line(s.simulation)}\n")
        out.write(f"   {s.simulation.changed:,} of {s.simulation.cases:,} cases would be decided differently.\n")
        command = f"returnsbot simulate --set {s.dotted}={s.value} --since {args.since}"
        if args.write:
            args.write.mkdir(parents=True, exist_ok=True)
            path = args.write / f"suggestion-{n}.toml"
            path.write_text(s.policy_text, encoding="utf-8")
            command = f"returnsbot simulate --policy {path} --since {args.since}"
        out.write(f"   Try it: {command}   (in Slack: /policy simulate {s.dotted}={s.value})\n")
    for s in found.dropped:
        out.write(f"\nNot suggested: `[{s.table}] {s.key} = {s.value}` ({s.evidence.rstrip('.')}) — "
                  f"{agreement_line(s.simulation).lower()}\n")
    return 0
