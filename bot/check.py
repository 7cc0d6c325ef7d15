"""`returnsbot check`: settings, policy, and every configured connection, one line each."""

from __future__ import annotations

from typing import Callable, TextIO


def run_check(out: TextIO) -> int:
    from bot.settings import SettingsError, load_settings

    failures = 0

    def line(ok: bool, what: str, detail: str) -> None:
        nonlocal failures
        failures += not ok
        out.write(f"{'ok  ' if ok else 'FAIL'}  {what}: {detail}\n")

    try:
        settings = load_settings()
    except SettingsError as exc:
        line(False, "settings", str(exc))
        return 1
    line(True, "settings", "loaded")

    from bot.container import load_policy_for
    from policy.config import PolicyError

    try:
        policy = load_policy_for(settings)
        line(True, "policy", str(settings.returnsbot_policy or "built-in defaults"))
    except PolicyError as exc:
        line(False, "policy", str(exc))
    else:
        if settings.slack_configured and not policy.slack.review_channel:
            line(False, "policy", "Slack is configured but [slack] review_channel is not set: cards have nowhere to go")
        if not any(t.approvers for t in policy.approval_tiers):
            out.write("note  policy: no approval tier names approvers yet, so nobody can approve a case\n")

    _try(line, "database", lambda: _database(settings.database_url))
    if settings.shopify_configured:
        _try(line, "shopify", lambda: _shopify(settings))
    else:
        line(True, "shopify", "not configured (SHOPIFY_SHOP/SHOPIFY_ACCESS_TOKEN unset): using the sample store")
    if settings.shopify_api_secret is None:
        out.write("note  shopify webhooks: SHOPIFY_API_SECRET unset, deliveries cannot be verified and are refused\n")
    if settings.slack_bot_token:
        _try(line, "slack", lambda: _slack(settings))
    else:
        line(True, "slack", "not configured (SLACK_BOT_TOKEN unset)")
    return 1 if failures else 0


def _try(line: Callable[[bool, str, str], None], what: str, fn: Callable[[], str]) -> None:
    try:
        line(True, what, fn())
    except Exception as exc:  # report every failure as a line; never a traceback
        line(False, what, f"{type(exc).__name__}: {exc}")


def _database(url: str) -> str:
    from bot.db import current_revision, head_revision, make_engine

    engine = make_engine(url)
    try:
        rev, head = current_revision(engine), head_revision()
    finally:
        engine.dispose()
    state = "current" if rev == head else f"at {rev or 'nothing'}, head is {head}: run `returnsbot db upgrade`"
    return f"{engine.url.render_as_string(hide_password=True)} ({state})"


def _shopify(settings) -> str:
    from bot.container import build_store

    return build_store(settings).ping()


def _slack(settings) -> str:
    from slack_sdk import WebClient

    client = WebClient(token=settings.slack_bot_token.get_secret_value(), base_url=str(settings.slack_api_url))
    resp = client.auth_test()
    return f"team {resp['team']} as {resp['user']}"
