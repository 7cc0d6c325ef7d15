"""What cannot work, found before anything starts: one place for `serve` and `check`.

Each finding is one line. `serve` (and `poll`, `digest`, `db upgrade`, `demo`, for the
part they need) refuses to start on any failed finding — exit 2, its text on stderr —
before a worker, the scheduler or a Slack post starts; `returnsbot check` prints every
finding, a failed one as `FAIL  what: text` with the same text. What can only be known
with the settings in hand (a missing or malformed setting) is `bot.settings`' job and
is reported the same way, before this runs.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from bot.settings import Settings, SettingsError
from policy.config import Policy

SLACK_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Finding:
    what: str  # the topic, as `check` prints it: "database", "slack socket mode", …
    status: str  # "ok", "FAIL" or "note"
    text: str

    @property
    def failed(self) -> bool:
        return self.status == "FAIL"


def ok(what: str, text: str) -> Finding:
    return Finding(what, "ok", text)


def fail(what: str, text: str) -> Finding:
    return Finding(what, "FAIL", text)


def note(what: str, text: str) -> Finding:
    return Finding(what, "note", text)


def for_serve(settings: Settings, policy: Policy | None) -> list[Finding]:
    """Everything `serve` needs that settings validation cannot see. `check` runs exactly
    this, so the two cannot disagree. `policy` is None when it failed to load (reported
    by the caller): the findings that depend on it are skipped."""
    findings = database(settings)
    if policy is not None:
        findings += slack_channels(settings, policy)
    findings += shopify_webhooks(settings)
    findings += shipstation(settings)
    if not any(f.failed for f in findings if f.what == "database"):
        from bot.shopify_connect import mode_findings

        findings += mode_findings(settings)  # which auth mode; stored tokens readable with the key
    findings += socket_mode(settings)
    return findings


def refuse_on(findings: list[Finding]) -> None:
    """Raise the failed findings as one SettingsError, one line each."""
    failed = [f.text for f in findings if f.failed]
    if failed:
        raise SettingsError("\n".join(failed))


# --- the database -------------------------------------------------------------------------------

def database(settings: Settings, *, upgrading: bool = False, name: str = "DATABASE_URL") -> list[Finding]:
    """Reachable, and at the schema this code needs. SQLite may be behind (or not exist
    yet): `serve` migrates it. PostgreSQL must be current unless `upgrading` (`db upgrade`
    itself): replicas must not race through a migration."""
    from sqlalchemy.engine import make_url

    from bot.db import head_revision, known_revisions, shown

    url = settings.database_url
    display = shown(url)
    parsed = make_url(url)
    sqlite = parsed.get_backend_name() == "sqlite"
    what = "database"
    if sqlite and parsed.database not in (None, "", ":memory:"):
        path = Path(parsed.database)
        folder = path.parent if str(path.parent) else Path(".")
        if not folder.is_dir():
            return [fail(what, f"setting {name}: {display}: the directory {folder} does not exist")]
        if not path.exists():
            if not os.access(folder, os.W_OK):
                return [fail(what, f"setting {name}: {display}: the directory {folder} is not writable")]
            return [ok(what, f"{display} (does not exist yet)"),
                    note(what, "SQLite: `serve`, `poll` and `demo` create and migrate it; `returnsbot db upgrade` does it now")]
    try:
        rev = _revision(url)
    except Exception as exc:  # any failure to connect is this one line; never a traceback
        return [fail(what, f"setting {name}: cannot open {display}: {_reason(exc, parsed.password)}")]
    head = head_revision()
    if rev == head:
        return [ok(what, f"{display} (current)")]
    if rev is not None and rev not in known_revisions():
        return [fail(what, f"setting {name}: {display} is at revision {rev}, which this returnsbot does not know "
                           f"(the database is newer than the code; head here is {head})")]
    state = f"at revision {rev}" if rev else "empty"
    if upgrading:
        return [ok(what, f"{display} ({state}, head is {head})")]
    if sqlite:
        return [ok(what, f"{display} ({state}, head is {head})"),
                note(what, "SQLite: `serve`, `poll` and `demo` migrate it; `returnsbot db upgrade` does it now")]
    return [fail(what, f"setting {name}: {display} is {state}, head is {head}: run `returnsbot db upgrade`")]


def _revision(url: str) -> str | None:
    from bot.db import current_revision, make_engine

    engine = make_engine(url)
    try:
        return current_revision(engine)
    finally:
        engine.dispose()


def _reason(exc: BaseException, password: str | None) -> str:
    """The driver's first line (SQLAlchemy's wrapper adds SQL and a link), password masked."""
    orig = getattr(exc, "orig", None) or exc
    text = next((line.strip() for line in str(orig).splitlines() if line.strip()), type(orig).__name__)
    if password:
        text = text.replace(password, "***")
    return text


# --- Slack --------------------------------------------------------------------------------------

def slack_channels(settings: Settings, policy: Policy) -> list[Finding]:
    """Slack configured but no review channel: cases would open and no card would go out."""
    if settings.slack_configured and not policy.slack.review_channel:
        source = settings.returnsbot_policy or "the built-in policy (set RETURNSBOT_POLICY)"
        return [fail("policy", f"[slack] review_channel is not set in {source}: Slack is configured, "
                               f"so cards need a channel to go to")]
    return []


def socket_mode(settings: Settings) -> list[Finding]:
    """With SLACK_APP_TOKEN, ask Slack for a Socket Mode connection now, with that token:
    a token Slack refuses would otherwise fail only after the workers had started."""
    if not (settings.slack_configured and settings.slack_app_token):
        return []
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    what = "slack socket mode"
    token = settings.slack_app_token.get_secret_value()
    base = str(settings.slack_api_url)
    # The finding says what went wrong; slack_sdk's own error log would be a second line.
    quiet = logging.getLogger("bot.preflight.slack_sdk")
    quiet.disabled = True
    try:
        WebClient(base_url=base, timeout=SLACK_TIMEOUT_SECONDS, logger=quiet).apps_connections_open(app_token=token)
    except SlackApiError as exc:
        resp = exc.response
        if resp.status_code != 200:
            return [fail(what, f"setting SLACK_APP_TOKEN: could not verify it with Slack at {base} "
                               f"(apps.connections.open answered HTTP {resp.status_code})")]
        error = resp.data.get("error") if isinstance(resp.data, dict) else None
        return [fail(what, f"setting SLACK_APP_TOKEN: Slack refused it for Socket Mode "
                           f"(apps.connections.open: {error or 'not ok'})")]
    except Exception as exc:  # network: Socket Mode cannot connect either
        return [fail(what, f"setting SLACK_APP_TOKEN: could not verify it with Slack at {base} "
                           f"({type(exc).__name__}: {str(exc).replace(token, '***')})")]
    return [ok(what, "Slack accepts the app token (apps.connections.open)")]


# --- Shopify ------------------------------------------------------------------------------------

def shopify_webhooks(settings: Settings) -> list[Finding]:
    """A real shop without the webhook secret: `serve` would answer every delivery 401."""
    if settings.shopify_configured and settings.shopify_api_secret is None:
        return [fail("shopify webhooks", "setting SHOPIFY_API_SECRET: required with SHOPIFY_SHOP to verify "
                                         "webhooks; without it `serve` refuses every delivery")]
    return []


# --- ShipStation ---------------------------------------------------------------------------------

def shipstation(settings: Settings) -> list[Finding]:
    """What a partial ShipStation setup can't do (settings validation refused what can't
    work at all: a key without its secret, a short webhook token). Never a secret's value."""
    if not settings.shipstation_configured:
        return []
    out = []
    v1 = bool(settings.shipstation_api_key and settings.shipstation_api_secret)
    if not settings.shipstation_webhook_token:
        out.append(note("shipstation webhooks", "setting SHIPSTATION_WEBHOOK_TOKEN: not set, so there is no webhook "
                                                "route; the pollers catch up every RETURNSBOT_POLL_INTERVAL seconds"))
    if v1 and not settings.shipstation_v2_api_key:
        out.append(note("shipstation tracking", "setting SHIPSTATION_V2_API_KEY: not set, so there is no carrier "
                                                "status (V1 has none): only orders not shipped in time are found"))
    if not v1:
        out.append(note("shipstation orders", "setting SHIPSTATION_API_KEY and SHIPSTATION_API_SECRET: not set, so "
                                              "tracking updates can't be tied to orders (V1 knows which order a "
                                              "label is for) and orders not shipped in time are not found"))
    if settings.shipstation_webhook_token and settings.shipstation_jwks_url.scheme != "https":
        out.append(fail("shipstation webhooks", "setting SHIPSTATION_JWKS_URL: expected https:// (the keys that "
                                                "V2 webhook signatures are checked with)"))
    return out


# --- the shop's currency and time zone ---------------------------------------------------------

def shop(settings: Settings, policy: Policy, registry, *, unreachable: Exception | None = None) -> list[Finding]:
    """What start-up resolves (`bot.shop.resolve`: asked now, else stored, else the policy's),
    as `check` lines; a FAIL is word for word the line start-up refuses with. Nothing is
    stored, and a database that does not exist yet is not created. `unreachable`: the
    store already failed to answer (its ping), so it is not asked again."""
    from dataclasses import replace

    from bot.clock import utcnow
    from bot.shop import resolve

    what = "shop"
    store = registry.store
    if unreachable is not None and store.facts is not None:
        def failed():
            raise unreachable

        store = replace(store, facts=failed)
    repo = _facts_repo(settings)
    try:
        res = resolve(policy, store, repo, now=utcnow(), save=False)
    finally:
        if repo is not None:
            repo.engine.dispose()
    if res.problem:
        return [fail(what, line) for line in res.problem.splitlines()]
    findings = [note(what, res.text) if res.unchecked else ok(what, res.text)]
    if res.policy is not None and _default_thresholds_without_cents(res.policy):
        findings.append(note("policy", f"the money thresholds are the built-in ones (tier 1 up to "
                                       f"{res.policy.approval_tiers[0].up_to} {res.policy.shop_currency}, "
                                       f"auto-approve up to {res.policy.auto_approve.max_amount}), sized for a "
                                       f"currency with cents: set them for {res.policy.shop_currency}"))
    return findings


def _default_thresholds_without_cents(policy: Policy) -> bool:
    """A zero-decimal currency (JPY, KRW) with every money threshold left at its default:
    nearly every case would be high value and need the last tier."""
    from policy.models import Money

    default = Policy.default()
    return (Money.zero(policy.shop_currency).exponent == 0
            and policy.risk.high_value_threshold == default.risk.high_value_threshold
            and policy.auto_approve.max_amount == default.auto_approve.max_amount
            and policy.vip.lifetime_spend == default.vip.lifetime_spend
            and [t.up_to for t in policy.approval_tiers] == [t.up_to for t in default.approval_tiers])


def _facts_repo(settings: Settings):
    from sqlalchemy.engine import make_url

    from bot.db import make_engine
    from bot.store.shop import ShopFactsRepo

    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:") \
            and not Path(url.database).exists():
        return None  # connecting would create the file
    return ShopFactsRepo(make_engine(settings.database_url))


# --- the port (known only to `serve`) -----------------------------------------------------------

def listen_problem(exc: OSError, host: str, port: int) -> str:
    """The one line for a socket that cannot be bound."""
    if isinstance(exc, socket.gaierror):
        return f"--host {host}: not an address to listen on ({exc.strerror or exc})"
    if exc.errno == errno.EADDRINUSE:
        return f"--port {port}: {host}:{port} is already in use by another process"
    if exc.errno == errno.EACCES:
        return f"--port {port}: not allowed to listen on {host}:{port} (ports below 1024 need privileges)"
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"--host {host}: not an address of this machine"
    return f"--port {port}: cannot listen on {host}:{port} ({exc.strerror or exc})"
