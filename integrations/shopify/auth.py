"""Admin API access tokens: where they come from, how long they last, how they are renewed.

Three providers with one contract, the one `ShopifyGraphQL` takes
(`access_token=provider.token, on_unauthorized=provider.on_unauthorized`):

* `StaticToken` — a custom app created in the Shopify admin before 2026 (`shpat_…` that
  never expires).
* `ClientCredentials` — a Dev Dashboard app of the shop's own organization: client ID +
  secret posted to `/admin/oauth/access_token` (`grant_type=client_credentials`, form
  encoded as Shopify documents it) for a token that expires (`expires_in`; 24 h when the
  answer does not say — Shopify's library guide says 24 h, the manual page was only
  seen cut off), cached and requested again five minutes before it expires or when
  Shopify answers 401.
* `AuthorizationCode` — an app of another organization (an agency), installed through
  `/shopify/install` (see `install.py`): an expiring offline token (one hour) with a
  rotating refresh token, kept encrypted in the database (`TokenStore`) and refreshed by
  one replica at a time (a lease), written back with compare-and-set.

Tokens, secrets, codes and refresh tokens are never logged and never put in an exception
message (a server echoing one back is scrubbed). Token endpoint failures are
`TokenEndpointError`s: an `IntegrationError` whose `retryable` says whether waiting helps
(network, 5xx, 429) or a person must act (400/401/403: wrong credentials, app not
installed, refresh token revoked), with one line saying what to do.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterable, Protocol

import httpx

from policy.ports import IntegrationError

log = logging.getLogger(__name__)

SYSTEM = "shopify"
TOKEN_PATH = "/admin/oauth/access_token"
RENEW_MARGIN = timedelta(minutes=5)  # renew this long before expiry (Shopify's Express adapter does the same)
DEFAULT_CLIENT_CREDENTIALS_LIFETIME = timedelta(hours=24)  # when the answer has no expires_in
# A 401 on a token issued less than this ago is not about its age: a new one would be
# refused too (scopes revoked, app uninstalled), so it is not requested again at once.
MIN_REISSUE_AGE = timedelta(seconds=30)
# After a failed renewal while the old token still works, wait this long before asking again.
RENEW_RETRY = timedelta(seconds=30)
REFRESH_LEASE = timedelta(seconds=30)  # one replica refreshes; the others wait for its result
TIMEOUT_SECONDS = 10.0

# --- the scopes the bot needs, with why (README "Connecting Shopify" lists the same) --------

REQUIRED_SCOPES: dict[str, str] = {
    "write_orders": "refunds (refundCreate); with it read_orders: orders, transactions, fulfilments, "
                    "refunds, order risk, the orders/create and refunds/create webhooks",
    "write_returns": "approve, decline and process returns; with it read_returns: returns, reverse "
                     "fulfilment orders and deliveries, the returns/* webhooks",
    "write_customers": "the store-credit ledger kept in a customer metafield; with it read_customers: "
                       "the customer, their tags (VIP), order count and lifetime spend",
    "read_products": "the ordered products' tags: final-sale tags and per-tag return windows "
                     "(without it Shopify denies the order queries' product field, and they fail); "
                     "an exchange variant's stock before releasing it",
    "read_locations": "where a returned item goes back in stock: the location of the fulfilment it came "
                      "from, for returnProcess's restock dispositions",
    "read_shopify_payments_disputes": "disputes and chargebacks on the order, the disputes/create and "
                                      "disputes/update webhooks",
    "write_shopify_payments_dispute_evidences": "submit a dispute's evidence from its card (disputeEvidenceUpdate); "
                                                "with it read_shopify_payments_dispute_evidences: whether it was "
                                                "submitted already",
    "read_store_credit_accounts": "the customer's store credit balance before crediting it",
    "write_store_credit_account_transactions": "store credit as a return outcome (storeCreditAccountCredit)",
    "write_draft_orders": "reshipping a delayed order: the replacement is a draft order at no charge, "
                          "completed into an order (draftOrderCreate, draftOrderComplete)",
}
RECOMMENDED_SCOPES: dict[str, str] = {
    "read_all_orders": "without it Shopify shows only the last 60 days of orders, so returns on older orders "
                       "and the customer history beyond 60 days are missed",
}


def covers(granted: Iterable[str], needed: str) -> bool:
    """Shopify: a scope that writes a resource also grants reading it."""
    granted = set(granted)
    if needed in granted:
        return True
    return needed.startswith("read_") and "write_" + needed[len("read_"):] in granted


def missing_scopes(granted: Iterable[str], needed: Iterable[str]) -> list[str]:
    granted = set(granted)
    return [s for s in needed if not covers(granted, s)]


def parse_scopes(text: str | None) -> frozenset[str]:
    return frozenset(s.strip() for s in (text or "").split(",") if s.strip())


# --- a grant ----------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class Grant:
    """What the token endpoint gave. `repr` shows no token."""

    access_token: str
    scopes: frozenset[str]
    issued_at: datetime
    expires_at: datetime | None  # None: a token that does not expire
    refresh_token: str | None = None
    refresh_expires_at: datetime | None = None

    def __repr__(self) -> str:
        return (f"Grant(scopes={sorted(self.scopes)}, issued_at={self.issued_at.isoformat()}, "
                f"expires_at={self.expires_at.isoformat() if self.expires_at else None}, "
                f"refresh={'yes' if self.refresh_token else 'no'})")

    def due(self, now: datetime, margin: timedelta = RENEW_MARGIN) -> bool:
        """Time to renew: within `margin` of expiry (never, for a non-expiring token)."""
        return self.expires_at is not None and now >= self.expires_at - margin

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and now >= self.expires_at


class TokenEndpointError(IntegrationError):
    """The token endpoint failed or refused. `code` is Shopify's OAuth error code when it
    gave one (invalid_client, shop_not_permitted, app_not_installed, invalid_grant …)."""

    def __init__(self, message: str, *, retryable: bool, status: int | None = None, code: str | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message, retryable=retryable, system=SYSTEM, retry_after=retry_after)
        self.status = status
        self.code = code


# What a person can do about a refusal, by Shopify's OAuth error code.
_HINTS = {
    "invalid_client": "check SHOPIFY_CLIENT_ID and SHOPIFY_API_SECRET (Dev Dashboard → the app → Settings)",
    "shop_not_permitted": "the client credentials grant works only for an app of the shop's own organization "
                          "installed on that shop; for an app made by another organization use "
                          "SHOPIFY_AUTH_MODE=authorization_code",
    "app_not_installed": "install the app on the shop (Dev Dashboard → the app → Install app), then try again",
    "invalid_grant": "the refresh token is no longer valid: install the app again (open /shopify/install)",
    "invalid_scope": "a requested scope is not configured on the app's version in the Dev Dashboard",
    "unsupported_grant_type": "this app cannot use that grant",
}


class TokenEndpoint:
    """`POST {base}/admin/oauth/access_token`, form encoded, for the three grants."""

    def __init__(self, base_url: str, client_id: str, client_secret: str, *, http: httpx.Client | None = None,
                 timeout: float = TIMEOUT_SECONDS, now: Callable[[], datetime] | None = None) -> None:
        if not client_id or not client_secret:
            raise ValueError("a client ID and a client secret are required")
        self.url = base_url.rstrip("/") + TOKEN_PATH
        self._client_id = client_id
        self._secret = client_secret
        self._own_http = http is None
        self._http = http or httpx.Client()
        self.timeout = timeout
        self._now = now or _utcnow

    def __repr__(self) -> str:  # never the secret
        return f"TokenEndpoint(url={self.url!r})"

    def close(self) -> None:
        if self._own_http:
            self._http.close()

    def client_credentials(self) -> Grant:
        return self._post({"grant_type": "client_credentials"}, "client credentials grant",
                          default_lifetime=DEFAULT_CLIENT_CREDENTIALS_LIFETIME, secrets=())

    def authorization_code(self, code: str) -> Grant:
        # `expiring=1`: an offline token that expires (one hour) with a refresh token,
        # Shopify's stated best practice; without it the token would never expire.
        return self._post({"code": code, "expiring": "1"}, "authorization code exchange",
                          default_lifetime=None, secrets=(code,))

    def refresh(self, refresh_token: str) -> Grant:
        return self._post({"grant_type": "refresh_token", "refresh_token": refresh_token}, "token refresh",
                          default_lifetime=None, secrets=(refresh_token,))

    # ---------------------------------------------------------------------------------------

    def _post(self, form: dict[str, str], what: str, *, default_lifetime: timedelta | None,
              secrets: tuple[str, ...]) -> Grant:
        hide = (self._secret, *secrets)
        body = {"client_id": self._client_id, "client_secret": self._secret, **form}
        issued = self._now()
        try:
            resp = self._http.post(self.url, data=body, headers={"Accept": "application/json"}, timeout=self.timeout)
        except httpx.TimeoutException as exc:
            raise TokenEndpointError(f"Shopify's token endpoint at {self.url} did not answer the {what} in time "
                                     f"({type(exc).__name__})", retryable=True) from None
        except httpx.TransportError as exc:
            raise TokenEndpointError(f"could not reach Shopify's token endpoint at {self.url} for the {what} "
                                     f"({type(exc).__name__})", retryable=True) from None
        status = resp.status_code
        if status == 429 or status >= 500:
            retry_after = _seconds(resp.headers.get("Retry-After"))
            raise TokenEndpointError(f"Shopify's token endpoint answered HTTP {status} to the {what}; trying again "
                                     f"later", retryable=True, status=status, retry_after=retry_after)
        if status >= 400:
            code, description = _oauth_error(resp)
            hint = _HINTS.get(code or "")
            text = f"Shopify refused the {what} (HTTP {status}" + (f" {code}" if code else "") + ")"
            if description:
                text += f": {description}"
            if hint:
                text += f" — {hint}"
            raise TokenEndpointError(_scrub(text, hide), retryable=False, status=status, code=code)
        try:
            data = resp.json()
        except ValueError:
            data = None
        token = data.get("access_token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise TokenEndpointError(f"Shopify's token endpoint answered the {what} without an access token "
                                     f"(HTTP {status})", retryable=True, status=status)
        lifetime = _seconds(data.get("expires_in"))
        refresh_lifetime = _seconds(data.get("refresh_token_expires_in"))
        refresh = data.get("refresh_token") if isinstance(data.get("refresh_token"), str) else None
        expires_at = (issued + timedelta(seconds=lifetime) if lifetime is not None
                      else (issued + default_lifetime if default_lifetime else None))
        return Grant(
            access_token=token,
            scopes=parse_scopes(data.get("scope") if isinstance(data.get("scope"), str) else None),
            issued_at=issued,
            expires_at=expires_at,
            refresh_token=refresh or None,
            refresh_expires_at=issued + timedelta(seconds=refresh_lifetime) if refresh and refresh_lifetime else None,
        )


def _oauth_error(resp: httpx.Response) -> tuple[str | None, str | None]:
    """Shopify answers OAuth errors as JSON ({"error", "error_description"}) or as a line of
    text ("Oauth error shop_not_permitted: Client credentials cannot be performed …")."""
    try:
        data = resp.json()
    except ValueError:
        data = None
    if isinstance(data, dict):
        code = data.get("error") if isinstance(data.get("error"), str) else None
        desc = data.get("error_description") or data.get("errors")
        return code, _short(desc if isinstance(desc, str) else json.dumps(desc) if desc else None)
    text = " ".join(resp.text.split())
    if text.lower().startswith("oauth error "):
        rest = text[len("oauth error "):]
        code, _, desc = rest.partition(":")
        return code.strip() or None, _short(desc.strip() or None)
    return None, _short(text or None) if "<" not in text else None  # an HTML page says nothing useful


def _short(text: str | None) -> str | None:
    if not text:
        return None
    return text[:200] + ("…" if len(text) > 200 else "")


def _seconds(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return seconds if seconds >= 0 else None


def _scrub(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    return text


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


# --- providers --------------------------------------------------------------------------------


class TokenProvider(Protocol):
    mode: str

    def token(self) -> str: ...

    def on_unauthorized(self, token: str | None = None) -> None: ...


class StaticToken:
    """A custom app's Admin API token: it does not expire and cannot be renewed, so a 401
    is for the GraphQL client to report (the token was revoked or the app uninstalled)."""

    mode = "static"

    def __init__(self, token: str) -> None:
        if not token:
            raise ValueError("a Shopify access token is required")
        self._token = token

    def __repr__(self) -> str:
        return "StaticToken()"

    def token(self) -> str:
        return self._token

    def on_unauthorized(self, token: str | None = None) -> None:
        return None

    @property
    def scopes(self) -> frozenset[str] | None:
        return None  # unknown without asking Shopify (currentAppInstallation.accessScopes)


class _Renewing:
    """A cached grant, renewed before it expires and after a 401; thread-safe.

    Threads that find the token still valid never wait. When it is due, one thread renews
    while the others keep using the current token until it has actually expired; a failed
    renewal while the token still works is logged and tried again after RENEW_RETRY."""

    mode = ""

    def __init__(self, *, now: Callable[[], datetime] | None = None, margin: timedelta = RENEW_MARGIN) -> None:
        self._now = now or _utcnow
        self.margin = margin
        self._lock = threading.Lock()
        self._grant: Grant | None = None
        self._retry_at: datetime | None = None
        self._rejected: str | None = None  # a token Shopify answered 401 to

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._grant!r})"

    @property
    def grant(self) -> Grant | None:
        return self._grant

    @property
    def scopes(self) -> frozenset[str] | None:
        grant = self._grant
        return grant.scopes if grant is not None else None

    def token(self) -> str:
        grant = self._grant
        now = self._now()
        if grant is not None and not grant.due(now, self.margin):
            return grant.access_token
        usable = grant is not None and not grant.expired(now)
        if usable:
            if not self._lock.acquire(blocking=False):
                return grant.access_token  # another thread is renewing it
        else:
            self._lock.acquire()
        try:
            grant, now = self._grant, self._now()
            if grant is not None and not grant.due(now, self.margin):
                return grant.access_token
            still_valid = grant is not None and not grant.expired(now)
            if still_valid and self._retry_at is not None and now < self._retry_at:
                return grant.access_token
            try:
                new = self._fetch(grant)
            except Exception as exc:  # the token endpoint, or the token store's database
                if still_valid:
                    log.warning("shopify.token_renewal_failed mode=%s expires_at=%s error=%s", self.mode,
                                grant.expires_at.isoformat() if grant.expires_at else None, exc)
                    self._retry_at = now + RENEW_RETRY
                    return grant.access_token
                raise
            if grant is None or new.access_token != grant.access_token:
                log.info("shopify.token_renewed mode=%s expires_at=%s", self.mode,
                         new.expires_at.isoformat() if new.expires_at else None)
            self._grant, self._retry_at = new, None
            if new.access_token != self._rejected:
                self._rejected = None
            return new.access_token
        finally:
            self._lock.release()

    def on_unauthorized(self, token: str | None = None) -> None:
        """Shopify answered 401 with `token` (or with the current one): drop it, so the next
        `token()` gets a new one — unless it was just issued, when a new one would not help."""
        with self._lock:
            grant = self._grant
            if grant is None or (token is not None and token != grant.access_token):
                return  # already replaced
            if self._now() - grant.issued_at < MIN_REISSUE_AGE:
                log.warning("shopify.token_rejected_fresh mode=%s: Shopify refused a token issued moments ago; "
                            "not asking for another at once", self.mode)
                return
            self._rejected = grant.access_token
            self._grant = None
            self._retry_at = None

    def _fetch(self, current: Grant | None) -> Grant:
        raise NotImplementedError


class ClientCredentials(_Renewing):
    mode = "client_credentials"

    def __init__(self, endpoint: TokenEndpoint, *, now: Callable[[], datetime] | None = None,
                 margin: timedelta = RENEW_MARGIN) -> None:
        super().__init__(now=now, margin=margin)
        self.endpoint = endpoint

    def _fetch(self, current: Grant | None) -> Grant:
        return self.endpoint.client_credentials()


# --- the authorization-code install's tokens, stored -----------------------------------------


@dataclass(frozen=True)
class StoredGrant:
    grant: Grant
    generation: int  # bumped by every write: the compare-and-set's version


class TokenStore(Protocol):
    """Where an installed shop's tokens live (encrypted: bot/store/tokens.py)."""

    def load(self, shop: str) -> StoredGrant | None: ...

    def save(self, shop: str, grant: Grant, *, now: datetime) -> StoredGrant: ...

    def claim_refresh(self, shop: str, generation: int, *, holder: str, until: datetime, now: datetime) -> bool: ...

    def replace(self, shop: str, generation: int, grant: Grant, *, now: datetime) -> bool: ...

    def release(self, shop: str, holder: str) -> None: ...

    def delete(self, shop: str) -> bool: ...


class AuthorizationCode(_Renewing):
    """Tokens from the install, refreshed with the rotating refresh token.

    Several replicas share the stored grant. The one that finds it due claims a lease
    (`claim_refresh`: only on the generation it read, only if no live claim), refreshes,
    and writes the new pair with compare-and-set on that generation; the others wait for
    the new generation (or keep using the current token while it is valid). So the newest
    refresh token is never overwritten by an older one.

    Shopify's 2026-08-28 change keeps the previous refresh token valid until the new one is
    used; the code works under either reading: a refresh whose answer was lost is simply
    tried again with the stored refresh token (which works if the old token is still
    valid); a refusal (`invalid_grant`) first re-reads the store — another replica may have
    rotated it — and only then says the app must be installed again."""

    mode = "authorization_code"

    def __init__(self, endpoint: TokenEndpoint, store: TokenStore, *, shop: str, holder: str,
                 install_url: str | None = None, now: Callable[[], datetime] | None = None,
                 sleep: Callable[[float], None] = time.sleep, margin: timedelta = RENEW_MARGIN,
                 lease: timedelta = REFRESH_LEASE, wait_step: float = 0.25) -> None:
        super().__init__(now=now, margin=margin)
        self.endpoint = endpoint
        self.store = store
        self.shop = shop
        self.holder = holder
        self.install_url = install_url or "/shopify/install"
        self._sleep = sleep
        self.lease = lease
        self.wait_step = wait_step

    def _fetch(self, current: Grant | None) -> Grant:
        now = self._now()
        stored = self.store.load(self.shop)
        if stored is None:
            raise IntegrationError(f"Shopify is not connected yet: open {self.install_url} to install the app on "
                                   f"{self.shop}", retryable=False, system=SYSTEM)
        grant = stored.grant
        rejected = self._rejected is not None and grant.access_token == self._rejected
        if not rejected and not grant.due(now, self.margin):
            return grant  # another replica refreshed it, or this one just started
        if grant.refresh_token is None:
            if grant.expires_at is None and not rejected:
                return grant
            raise IntegrationError(f"the stored Shopify token {'was refused' if rejected else 'has expired'} and "
                                   f"there is no refresh token: install the app again at {self.install_url}",
                                   retryable=False, system=SYSTEM)
        if grant.refresh_expires_at is not None and now >= grant.refresh_expires_at:
            raise IntegrationError(f"the Shopify refresh token expired on {grant.refresh_expires_at:%Y-%m-%d %H:%M} "
                                   f"UTC: install the app again at {self.install_url}", retryable=False, system=SYSTEM)
        if not self.store.claim_refresh(self.shop, stored.generation, holder=self.holder, until=now + self.lease,
                                        now=now):
            return self._await_other(stored, rejected=rejected)
        try:
            new = self.endpoint.refresh(grant.refresh_token)
        except TokenEndpointError as exc:
            self.store.release(self.shop, self.holder)
            if exc.code == "invalid_grant":
                latest = self.store.load(self.shop)
                if latest is not None and latest.generation != stored.generation:
                    return latest.grant  # rotated by another replica meanwhile
                raise TokenEndpointError(f"{exc} (at {self.install_url})", retryable=False, status=exc.status,
                                         code=exc.code) from None
            raise
        except BaseException:
            self.store.release(self.shop, self.holder)
            raise
        if new.refresh_token is None:  # not expected from a rotating grant; keep the one we have
            new = replace(new, refresh_token=grant.refresh_token, refresh_expires_at=grant.refresh_expires_at)
        if self.store.replace(self.shop, stored.generation, new, now=self._now()):
            return new
        # Our lease ran out and another replica wrote a newer pair first: theirs wins.
        latest = self.store.load(self.shop)
        log.warning("shopify.token_refresh_lost_race shop=%s: another replica stored a newer token", self.shop)
        return latest.grant if latest is not None else new

    def _await_other(self, stored: StoredGrant, *, rejected: bool) -> Grant:
        """Another replica holds the refresh lease: use its result once it is stored (or
        the current token while it is still valid and Shopify has not refused it)."""
        deadline = self._now() + self.lease
        while True:
            if not rejected and not stored.grant.expired(self._now()):
                return stored.grant
            self._sleep(self.wait_step)
            latest = self.store.load(self.shop)
            if latest is not None and latest.generation != stored.generation:
                return latest.grant
            if self._now() >= deadline:
                raise IntegrationError("another replica is refreshing the Shopify token and has not finished",
                                       retryable=True, system=SYSTEM, retry_after=5.0)
