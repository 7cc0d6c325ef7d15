"""How returnsbot connects to the shop, built from settings: the token provider for the
auth mode, the GraphQL client on it, the install and compliance routes, and what `check`
says about the connection (the mode, the token, its scopes).

Modes (`Settings.shopify_auth`): `static` (SHOPIFY_ACCESS_TOKEN, a custom app created in
the Shopify admin), `client_credentials` (SHOPIFY_CLIENT_ID + SHOPIFY_API_SECRET, a Dev
Dashboard app of the shop's own organization) and `authorization_code` (the same two,
plus RETURNSBOT_PUBLIC_URL and RETURNSBOT_ENCRYPTION_KEY: an app of another organization,
installed through /shopify/install).
"""

from __future__ import annotations

import logging
import os
import socket
import time
from typing import Callable

import httpx
from sqlalchemy import Engine

from bot.clock import Clock, utcnow
from bot.preflight import Finding, fail, note, ok
from bot.settings import Settings
from integrations.shopify import auth
from integrations.shopify.install import CALLBACK_PATH, INSTALL_PATH

log = logging.getLogger(__name__)

MODE_NAMES = {
    "static": "static token (SHOPIFY_ACCESS_TOKEN, a custom app created in the Shopify admin)",
    "client_credentials": "client credentials grant (SHOPIFY_CLIENT_ID, a Dev Dashboard app of the shop's "
                          "organization)",
    "authorization_code": "authorization-code install (SHOPIFY_AUTH_MODE=authorization_code, an app of another "
                          "organization)",
}

CURRENT_SCOPES = """
query CurrentAppScopes {
  currentAppInstallation { accessScopes { handle } }
}
"""


def holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def install_url(settings: Settings) -> str:
    return f"{settings.public_url or ''}{INSTALL_PATH}"


def token_endpoint(settings: Settings, *, http: httpx.Client | None = None, clock: Clock = utcnow
                   ) -> auth.TokenEndpoint:
    return auth.TokenEndpoint(settings.shopify_base_url, settings.shopify_client_id or "",
                              settings.shopify_api_secret.get_secret_value() if settings.shopify_api_secret else "",
                              http=http, now=clock)


def token_repo(settings: Settings, engine: Engine):
    from bot.store.tokens import TokenCipher, TokenRepo

    return TokenRepo(engine, TokenCipher(settings.returnsbot_encryption_key.get_secret_value()))


def token_provider(settings: Settings, *, engine: Engine | None = None, http: httpx.Client | None = None,
                   clock: Clock = utcnow, sleep: Callable[[float], None] = time.sleep) -> auth.TokenProvider:
    """The provider for the configured mode (settings validation made sure its settings
    are there). The authorization-code mode needs the database; without an engine one is
    made from DATABASE_URL."""
    mode = settings.shopify_auth
    if mode == "static":
        return auth.StaticToken(settings.shopify_access_token.get_secret_value())
    endpoint = token_endpoint(settings, http=http, clock=clock)
    if mode == "client_credentials":
        return auth.ClientCredentials(endpoint, now=clock)
    if engine is None:
        from bot.db import make_engine

        engine = make_engine(settings.database_url)
    return auth.AuthorizationCode(endpoint, token_repo(settings, engine), shop=settings.shopify_shop,
                                  holder=holder(), install_url=install_url(settings), now=clock, sleep=sleep)


def graphql_client(settings: Settings, provider: auth.TokenProvider | None = None, **kwargs):
    """A ShopifyGraphQL authenticated by the provider: it asks for the current token on every
    request and tells the provider about a 401 (`access_token=provider.token,
    on_unauthorized=provider.on_unauthorized`)."""
    from integrations.shopify.client import ShopifyGraphQL

    provider = provider or token_provider(settings)
    # A static token can't be renewed: a 401 is then reported as it is, not after a
    # pretend renewal.
    renew = None if getattr(provider, "mode", None) == "static" else provider.on_unauthorized
    return ShopifyGraphQL(settings.shopify_graphql_url, access_token=provider.token, on_unauthorized=renew, **kwargs)


def routes(settings: Settings, engine: Engine, *, clock: Clock = utcnow, http: httpx.Client | None = None
           ) -> list[tuple[str, str, Callable]]:
    """(method, path, handler) for server.build_router: the compliance webhooks always (a
    sample store or a missing secret answers every delivery 401), the install routes in the
    authorization-code mode."""
    from handlers.shopify_app import CallbackEndpoint, ComplianceEndpoint, InstallEndpoint
    from integrations.shopify import compliance, subscriptions
    from integrations.shopify import webhooks as shw

    secret = settings.shopify_api_secret.get_secret_value().encode() if settings.shopify_api_secret else None
    handle = compliance_handler(settings, engine, clock=clock)

    def verify(body: bytes, headers) -> bool:
        return secret is not None and shw.verify_hmac(secret, body, headers.get(shw.HMAC_HEADER))

    found: list[tuple[str, str, Callable]] = [(
        "POST", subscriptions.COMPLIANCE_PATH,
        ComplianceEndpoint(verify=verify, topic=lambda h: h.get(shw.TOPIC_HEADER), decode=compliance.decode,
                           handle=handle),
    )]
    if settings.shopify_configured and settings.shopify_auth == "authorization_code":
        flow = install_flow(settings, engine, clock=clock, http=http)
        found += [("GET", INSTALL_PATH, InstallEndpoint(flow.begin)),
                  ("GET", CALLBACK_PATH, CallbackEndpoint(flow.callback))]
    return found


def install_flow(settings: Settings, engine: Engine, *, clock: Clock = utcnow, http: httpx.Client | None = None):
    from integrations.shopify.install import InstallFlow

    endpoint = token_endpoint(settings, http=http, clock=clock)
    repo = token_repo(settings, engine)
    return InstallFlow(
        shop=settings.shopify_shop, client_id=settings.shopify_client_id,
        client_secret=settings.shopify_api_secret.get_secret_value(), public_url=settings.public_url,
        authorize_base=settings.shopify_base_url, exchange=endpoint.authorization_code,
        save=lambda grant: repo.save(settings.shopify_shop, grant, now=clock()), now=clock,
    )


def redactor(settings: Settings, engine: Engine, *, clock: Clock = utcnow):
    """Pseudonyms are keyed with the app's client secret (the key every compliance delivery
    is verified with, so it is always there when one arrives)."""
    from bot.services.redact import Redactor

    key = settings.shopify_api_secret.get_secret_value().encode() if settings.shopify_api_secret else b"unset"
    return Redactor(engine, key=key, clock=clock)


def compliance_handler(settings: Settings, engine: Engine, *, clock: Clock = utcnow) -> Callable[[object], str]:
    from bot.services.redact import Subject
    from integrations.shopify import compliance

    redact = redactor(settings, engine, clock=clock)

    def handle(request: compliance.ComplianceRequest) -> str:
        if settings.shopify_shop and request.shop_domain != settings.shopify_shop.lower():
            log.warning("compliance.other_shop topic=%s shop=%s: returnsbot serves %s and holds nothing of it",
                        request.topic, request.shop_domain, settings.shopify_shop)
            return "nothing held for that shop"
        if request.whole_shop:
            report = redact.redact_shop(shop=request.shop_domain)
            if settings.shopify_auth == "authorization_code" and settings.returnsbot_encryption_key:
                token_repo(settings, engine).delete(request.shop_domain)  # useless after an uninstall anyway
            return f"{len(report.changed)} cases redacted"
        s = request.subject
        subject = Subject(customer_ids=s.customer_ids, emails=s.emails, phones=s.phones, order_ids=s.order_ids)
        if request.topic == compliance.DATA_REQUEST:
            report = redact.data_request(subject, shop=request.shop_domain, ref=request.request_id)
            return f"recorded: {len(report.cases)} cases hold data of this customer"
        report = redact.redact_customer(subject, shop=request.shop_domain)
        return f"{len(report.changed)} of {len(report.cases)} cases redacted"

    return handle


# --- what check and serve say ---------------------------------------------------------------------


def mode_findings(settings: Settings) -> list[Finding]:
    """Which mode is in use, and in the authorization-code mode whether stored tokens open
    with RETURNSBOT_ENCRYPTION_KEY (serve refuses a key that can't: every Shopify call would
    fail). Needs no network; not being installed yet is `check`'s to say (serve must run
    for the install to happen)."""
    if not settings.shopify_configured:
        return []
    findings = [ok("shopify auth", MODE_NAMES[settings.shopify_auth])]
    if settings.shopify_auth == "authorization_code":
        from bot.store.tokens import TokenKeyError

        try:
            _installed(settings)
        except TokenKeyError as exc:
            findings.append(fail("shopify auth", str(exc)))
    return findings


def _installed(settings: Settings) -> bool:
    """Whether the install's tokens are stored (raises TokenKeyError when the key can't open
    them). A database that does not exist yet, or has no table yet, holds none; a SQLite file
    is never created by asking."""
    from pathlib import Path

    from sqlalchemy.engine import make_url

    from bot.db import make_engine
    from bot.store.tokens import TokenKeyError

    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and not (url.database and Path(url.database).exists()):
        return False
    engine = make_engine(settings.database_url)
    try:
        return token_repo(settings, engine).load(settings.shopify_shop) is not None
    except TokenKeyError:
        raise
    except Exception:  # unreachable or not migrated: the database finding says why
        return False
    finally:
        engine.dispose()


def token_findings(settings: Settings, *, http: httpx.Client | None = None, client_options=None
                   ) -> tuple[list[Finding], object]:
    """Get a token now (check only) and say whether its scopes cover what returnsbot needs.
    Returns the findings and the provider (for the ping that follows)."""
    from bot.store.tokens import TokenKeyError

    try:
        if settings.shopify_auth == "authorization_code" and not _installed(settings):
            return [fail("shopify auth", f"not connected yet: once `serve` runs, open {install_url(settings)} in a "
                                         f"browser logged in to {settings.shopify_shop}'s admin")], None
    except TokenKeyError:
        return [], None  # the preflight line has said it
    try:
        provider = token_provider(settings, http=http)
        provider.token()
    except Exception as exc:  # one line, never a traceback or a secret
        return [fail("shopify auth", _one_line(exc))], None
    findings = []
    grant = getattr(provider, "grant", None)
    if grant is not None and grant.expires_at is not None:
        hours = (grant.expires_at - grant.issued_at).total_seconds() / 3600
        findings.append(ok("shopify auth", f"token issued, valid for {hours:.1f} h, renewed 5 min before it "
                                           f"expires"))
    scopes = None
    try:
        data = graphql_client(settings, provider, **({"http": http} if http else {}),
                              **(client_options or {})).execute(CURRENT_SCOPES)
        scopes = {s["handle"] for s in ((data.get("currentAppInstallation") or {}).get("accessScopes") or [])
                  if isinstance(s, dict) and isinstance(s.get("handle"), str)}
    except Exception as exc:
        if grant is not None and grant.scopes:
            scopes = set(grant.scopes)  # what the token endpoint said it granted
        else:
            findings.append(fail("shopify scopes", f"could not read the app's access scopes: {_one_line(exc)}"))
    if scopes is not None:
        findings += scope_findings(scopes)
    return findings, provider


def scope_findings(scopes: set[str]) -> list[Finding]:
    missing = auth.missing_scopes(scopes, auth.REQUIRED_SCOPES)
    found: list[Finding] = []
    if missing:
        found.append(fail("shopify scopes", "missing " + "; ".join(f"{s} ({auth.REQUIRED_SCOPES[s]})" for s in missing)
                          + " — add them to the app's version in the Dev Dashboard (or the custom app's Admin API "
                            "scopes) and release it"))
    else:
        found.append(ok("shopify scopes", f"the token's scopes cover what returnsbot needs ({len(auth.REQUIRED_SCOPES)} "
                                          f"scopes)"))
    for scope in auth.missing_scopes(scopes, auth.RECOMMENDED_SCOPES):
        found.append(note("shopify scopes", f"{scope} is not granted: {auth.RECOMMENDED_SCOPES[scope]}"))
    return found


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text
