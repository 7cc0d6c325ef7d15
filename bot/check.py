"""`returnsbot check`: settings, policy, and every configured connection, one line each.

The lines about what `serve` needs come from `bot.preflight.for_serve`, the function
`serve` refuses with, so a FAIL here is a refusal there, word for word. `check` then also
tries the Shopify and Slack credentials, which `serve` only finds out about when it uses
them (and reports in integration health), and asks the shop for its currency and time
zone exactly as start-up does (`bot.shop.resolve`, without storing the answer).
"""

from __future__ import annotations

from typing import Callable, TextIO

from bot import preflight
from bot.preflight import Finding, fail, note, ok


def run_check(out: TextIO) -> int:
    from bot.container import load_policy_for
    from bot.settings import SettingsError, load_settings
    from policy.config import PolicyError

    findings: list[Finding] = []
    try:
        settings = load_settings()
    except SettingsError as exc:
        return _print(out, [fail("settings", line) for line in str(exc).splitlines()])
    findings.append(ok("settings", "loaded"))
    try:
        policy = load_policy_for(settings)
        findings.append(ok("policy", str(settings.returnsbot_policy or "built-in defaults")))
    except PolicyError as exc:
        policy = None
        findings.append(fail("policy", str(exc)))
    else:
        if not any(t.approvers for t in policy.approval_tiers):
            findings.append(note("policy", "no approval tier names approvers yet, so nobody can approve a case"))

    findings += preflight.for_serve(settings, policy)

    registry, lines, store_error = _connectors(settings)
    findings += lines
    if registry is not None and policy is not None:
        if any(f.failed and f.what == "shopify auth" for f in lines):
            # No token, so no answer about the shop: one failure is one line.
            findings.append(note("shop", "not checked: Shopify refused returnsbot's credentials (see above)"))
        else:
            # The store just failed its ping: asking it again would only wait as long again.
            findings += preflight.shop(settings, policy, registry, unreachable=store_error)
    findings.append(_claude(settings))
    if settings.slack_configured:
        findings.append(_try("slack", lambda: _slack(settings)))
    else:
        findings.append(ok("slack", "not configured (SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET unset): no cards are posted"))
    return _print(out, findings)


def _print(out: TextIO, findings: list[Finding]) -> int:
    for f in findings:
        out.write(f"{f.status:<4}  {f.what}: {f.text}\n")
    return 1 if any(f.failed for f in findings) else 0


def _try(what: str, fn: Callable[[], str], errors: list[Exception] | None = None) -> Finding:
    try:
        return ok(what, fn())
    except Exception as exc:  # report every failure as a line; never a traceback
        if errors is not None:
            errors.append(exc)
        return fail(what, f"{type(exc).__name__}: {exc}")


# `check` tries each system briefly: two attempts, not serve's patient backoff, so an
# unreachable system is one line after about a second rather than after 12 s of retries.
CHECK_CLIENT = {"max_attempts": 2, "backoff_base": 0.2, "backoff_cap": 1.0}


def _connectors(settings):
    """The registry, one line per connected system (each tried with its ping), and the
    primary store's ping failure, if it failed."""
    from bot.container import build_registry

    try:
        registry = build_registry(settings, client_options=CHECK_CLIENT)
    except Exception as exc:  # building a connector failed: name it, never a traceback
        return None, [fail("connectors", f"{type(exc).__name__}: {exc}")], None
    lines = []
    store_errors: list[Exception] = []
    for connector in registry.connectors:
        if connector.sample:
            lines.append(ok(connector.name, "not configured (no SHOPIFY_* setting is set): using the sample store"))
            continue
        token: list[Finding] = []
        if connector.name == "shopify":  # its auth mode, a token now, and the token's scopes
            from bot.shopify_connect import token_findings

            token, provider = token_findings(settings, client_options=CHECK_CLIENT)
            lines += [f for f in token if f.what == "shopify auth"]
            if provider is None:
                continue
        if connector.ping is not None:
            lines.append(_try(connector.name, connector.ping, store_errors if connector is registry.store else None))
        lines += [f for f in token if f.what != "shopify auth"]
    return registry, lines, (store_errors[0] if store_errors else None)


def _slack(settings) -> str:
    from slack_sdk import WebClient

    client = WebClient(token=settings.slack_bot_token.get_secret_value(), base_url=str(settings.slack_api_url),
                       timeout=preflight.SLACK_TIMEOUT_SECONDS)
    resp = client.auth_test()
    return f"team {resp['team']} as {resp['user']}"


def _claude(settings) -> Finding:
    """One tiny call per model (a few tokens): a refused key or an unknown model id is a FAIL."""
    from bot.llm.client import ClaudeUnavailable, from_settings

    claude = from_settings(settings)
    if claude is None:
        return ok("claude", "not configured (ANTHROPIC_API_KEY unset): tickets are triaged by the rules and "
                            "answered from the templates")
    try:
        return ok("claude", claude.ping())
    except ClaudeUnavailable as exc:
        return fail("claude", f"{exc} (tickets fall back to the rules and templates)")
