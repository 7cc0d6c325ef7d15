"""The `returnsbot` command."""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

DEMO_DATABASE_URL = "sqlite:///returnsbot-demo.db"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="returnsbot", description="Return exceptions, decided once, in Slack.")
    sub = parser.add_subparsers(dest="command", required=True)
    db = sub.add_parser("db", help="database migrations")
    db.add_argument("action", choices=["upgrade"])
    serve = sub.add_parser("serve", help="HTTP server (webhooks, health) + workers + pollers")
    serve.add_argument("--host", default="0.0.0.0")
    serve.add_argument("--port", type=int, default=8080)
    sub.add_parser("poll", help="run every poller once")
    demo = sub.add_parser("demo", help="run the pipeline on the bundled sample store (no credentials)")
    demo.add_argument("--database-url", default=DEMO_DATABASE_URL,
                      help=f"where the demo stores its cases (default {DEMO_DATABASE_URL})")
    demo.add_argument("--sample", choices=["us", "eur"], default="us",
                      help="which sample shop: us (USD, America/Los_Angeles; the default) or eur (EUR, "
                           "Europe/Berlin, with an order a UK customer paid in GBP)")
    sub.add_parser("check", help="validate settings and the policy file; try each connection")
    digest = sub.add_parser("digest", help="the weekly digest")
    digest.add_argument("--now", action="store_true", required=True,
                        help="post the digest of the last 7 days to [slack] digest_channel now")
    from bot.jobs import cli as jobs_cli
    from bot import shopify_cli, simulate_cli

    jobs_cli.add_parser(sub)
    shopify_cli.add_parser(sub)
    simulate_cli.add_parser(sub)
    args = parser.parse_args(argv)
    if args.command == "shopify" and args.shopify_command == "key":
        return shopify_cli.print_key(sys.stdout)  # before settings: the key is what they lack

    from bot.logging_setup import configure
    from bot.settings import SettingsError, load_settings
    from policy.config import PolicyError

    try:
        if args.command == "check":
            configure("WARNING")  # its lines are the output
            from bot.check import run_check

            return run_check(sys.stdout)
        settings = load_settings(**({"database_url": args.database_url} if args.command == "demo" else {}))
        configure("WARNING" if args.command in ("demo", "jobs", "shopify", "simulate", "policy")
                  else settings.returnsbot_log_level,
                  settings.returnsbot_log_format)
        if args.command == "shopify":
            return shopify_cli.run(args, settings, sys.stdout)
        return _run(args, settings)
    except (SettingsError, PolicyError) as exc:
        # A configuration that cannot work: one line per problem, naming the setting.
        for line in str(exc).splitlines():
            print(f"returnsbot: {line}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace, settings) -> int:
    from bot import preflight
    from bot.container import Container, load_policy_for
    from bot.db import upgrade

    policy = load_policy_for(settings)
    if args.command == "serve":
        preflight.refuse_on(preflight.for_serve(settings, policy))
    else:
        preflight.refuse_on(preflight.database(
            settings, upgrading=args.command in ("db", "demo"),
            name="--database-url" if args.command == "demo" else "DATABASE_URL"))
    if args.command == "db":
        upgrade(settings.database_url)
        print("database is at the latest revision")
        return 0
    if args.command == "demo":
        from bot.clock import utcnow
        from bot.demo import demo_container, run_demo

        upgrade(settings.database_url)
        c, clock = demo_container(settings, policy, now=utcnow(), variant=args.sample)
        try:
            run_demo(c, sys.stdout, clock=clock)
        finally:
            c.engine.dispose()
        return 0
    if args.command in ("simulate", "policy"):
        from bot import simulate_cli
        from bot.clock import utcnow

        return simulate_cli.run(args, settings, now=utcnow(), out=sys.stdout, err=sys.stderr)
    if args.command == "jobs":
        import getpass

        from bot.clock import utcnow
        from bot.db import make_engine
        from bot.jobs import cli as jobs_cli
        from bot.store.jobs import JobRepo

        engine = make_engine(settings.database_url)
        try:
            return jobs_cli.run(args, JobRepo(engine), now=utcnow(), out=sys.stdout,
                                operator=f"cli:{getpass.getuser()}")
        finally:
            engine.dispose()
    # Before the container: building it stores the shop's facts, and SQLite may be new.
    _ensure_schema(settings.database_url)
    c = Container.build(settings, policy=policy)
    try:
        return _run_with(c, args)
    finally:
        c.engine.dispose()


def _run_with(c, args: argparse.Namespace) -> int:
    if args.command == "poll":
        failed = False
        for poller in c.pollers:
            report = poller.run_once()
            failed |= report.error is not None
            print(f"{report.name}: {report.seen} seen, {report.created} new cases" + (f", error: {report.error}" if report.error else ""))
        c.drain()
        return 1 if failed else 0
    if args.command == "digest":
        from integrations.slack.gateway import SlackGatewayError

        try:
            ts = c.digest.post_now()
        except SlackGatewayError as exc:
            print(f"returnsbot: Slack refused the digest: {exc}", file=sys.stderr)
            return 1
        print(f"digest posted to {c.policy.slack.digest_channel} (ts {ts})")
        return 0
    if args.command == "serve":
        from bot.server import serve_forever

        serve_forever(c, host=args.host, port=args.port)
        return 0
    raise AssertionError(args.command)


def _ensure_schema(url: str) -> None:
    """SQLite (embedded, one process) migrates itself; PostgreSQL is migrated once per
    deployment with `returnsbot db upgrade` (preflight refused an out-of-date one), so
    replicas never race each other."""
    from sqlalchemy.engine import make_url

    from bot.db import upgrade

    if make_url(url).get_backend_name() == "sqlite":
        upgrade(url)


if __name__ == "__main__":
    sys.exit(main())
