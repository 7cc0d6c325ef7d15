"""The authorization-code install, for an app owned by another organization (an agency).

`GET /shopify/install` sends the browser to the shop's `/admin/oauth/authorize` with the
client ID, the scopes the bot needs, the redirect URI (`{RETURNSBOT_PUBLIC_URL}/shopify/
callback`) and a random `state`. The state travels in a signed, short-lived cookie
(HMAC-SHA256 under a key derived from the client secret, ten minutes, HttpOnly, Secure,
SameSite=Lax so that Shopify's redirect back brings it), so any replica can take the
callback and nothing is stored before the checks pass.

`GET /shopify/callback` checks, each failing closed (a 4xx, and nothing stored):
  1. the query is well formed and names each key once;
  2. `hmac`: hex HMAC-SHA256, with the client secret, of the other parameters (without
     `hmac` and `signature`) sorted and form-encoded as Shopify's library does
     (URLSearchParams), compared in constant time;
  3. `timestamp` within 90 seconds of now (Shopify's library allows the same);
  4. `shop` is the configured shop, exactly;
  5. `state` equals the cookie's, compared in constant time, the cookie's own signature
     and age valid.
Then the code is exchanged with `expiring=1` (an expiring offline token and a refresh
token) and the grant saved (encrypted: bot/store/tokens.py).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import string
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.cookies import CookieError, SimpleCookie
from typing import Callable, Iterable
from urllib.parse import parse_qsl

from integrations.shopify.auth import REQUIRED_SCOPES, RECOMMENDED_SCOPES, Grant, TokenEndpointError, missing_scopes

log = logging.getLogger(__name__)

INSTALL_PATH = "/shopify/install"
CALLBACK_PATH = "/shopify/callback"
AUTHORIZE_PATH = "/admin/oauth/authorize"
STATE_COOKIE = "returnsbot_shopify_state"
STATE_TTL = timedelta(minutes=10)
TIMESTAMP_TOLERANCE_SECONDS = 90
MAX_QUERY_LENGTH = 4096  # a callback query is a few hundred characters

# application/x-www-form-urlencoded as the WHATWG URL standard (URLSearchParams) writes it.
_FORM_SAFE = frozenset((string.ascii_letters + string.digits + "*-._").encode())


def form_encode(text: str) -> str:
    out = []
    for byte in text.encode("utf-8"):
        if byte == 0x20:
            out.append("+")
        elif byte in _FORM_SAFE:
            out.append(chr(byte))
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


def query_hmac(secret: str, params: dict[str, str]) -> str:
    """The hex digest Shopify puts in `hmac`: over every other parameter but `signature`,
    sorted by key, form-encoded."""
    message = "&".join(f"{form_encode(k)}={form_encode(v)}" for k, v in sorted(params.items())
                       if k not in ("hmac", "signature"))
    return hmac.new(secret.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Answer:
    """What the route sends back: status, a line of text, headers."""

    status: int
    text: str
    headers: dict[str, str] = field(default_factory=dict)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class InstallFlow:
    def __init__(self, *, shop: str, client_id: str, client_secret: str, public_url: str, authorize_base: str,
                 exchange: Callable[[str], Grant], save: Callable[[Grant], None],
                 scopes: Iterable[str] = (*REQUIRED_SCOPES, *RECOMMENDED_SCOPES),
                 now: Callable[[], datetime] | None = None, nonce: Callable[[], str] | None = None) -> None:
        self.shop = shop
        self.client_id = client_id
        self._secret = client_secret
        self.redirect_uri = public_url.rstrip("/") + CALLBACK_PATH
        self.authorize_url = authorize_base.rstrip("/") + AUTHORIZE_PATH
        self.scopes = tuple(scopes)
        self._exchange = exchange
        self._save = save
        self._now = now or _utcnow
        self._nonce = nonce or (lambda: secrets.token_urlsafe(24))
        # The cookie is signed with a key of its own, derived from the client secret.
        self._cookie_key = hmac.new(client_secret.encode("utf-8"), b"returnsbot install state v1",
                                    hashlib.sha256).digest()

    def __repr__(self) -> str:
        return f"InstallFlow(shop={self.shop!r})"

    # --- step 1 ----------------------------------------------------------------------------

    def begin(self, query: str = "") -> Answer:
        """Redirect to Shopify's consent screen. A `shop` in the query (Shopify's own link
        to the app URL carries one) must be the configured shop."""
        params = _parse(query)
        if params is None:
            return _refuse(400, "malformed query")
        if "shop" in params and params["shop"] != self.shop:
            return _refuse(403, f"this returnsbot is set up for {self.shop}, not for the shop in the link")
        state = self._nonce()
        expires = int((self._now() + STATE_TTL).timestamp())
        cookie = f"{state}.{expires}.{self._sign(state, expires)}"
        location = self.authorize_url + "?" + "&".join(
            f"{k}={form_encode(v)}" for k, v in (
                ("client_id", self.client_id),
                ("scope", ",".join(self.scopes)),
                ("redirect_uri", self.redirect_uri),
                ("state", state),
            ))
        return Answer(302, f"Redirecting to {self.shop} to approve returnsbot's access", {
            "Location": location,
            "Set-Cookie": f"{STATE_COOKIE}={cookie}; Max-Age={int(STATE_TTL.total_seconds())}; Path=/shopify; "
                          f"HttpOnly; Secure; SameSite=Lax",
        })

    # --- step 2 ----------------------------------------------------------------------------

    def callback(self, query: str, cookie_header: str | None) -> Answer:
        params = _parse(query)
        if params is None:
            return _refuse(400, "malformed query")
        given = params.get("hmac", "")
        if not given or not hmac.compare_digest(given.lower().encode(), query_hmac(self._secret, params).encode()):
            return _refuse(400, "the request's hmac does not verify: it did not come from Shopify")
        try:
            stamp = int(params.get("timestamp", ""))
        except ValueError:
            return _refuse(400, "the request has no valid timestamp")
        if abs(self._now().timestamp() - stamp) > TIMESTAMP_TOLERANCE_SECONDS:
            return _refuse(400, "the request is too old (or this machine's clock is off): start the install again")
        if params.get("shop") != self.shop:
            return _refuse(403, f"this returnsbot is set up for {self.shop}, not for the shop in the request")
        state = params.get("state", "")
        if not state or not self._state_matches(state, cookie_header):
            return _refuse(403, "the install's state does not match this browser's: start again at "
                                f"{INSTALL_PATH}")
        code = params.get("code", "")
        if not code:
            return _refuse(400, "the request has no authorization code")
        try:
            grant = self._exchange(code)
        except TokenEndpointError as exc:
            log.warning("shopify.install_failed shop=%s error=%s", self.shop, exc)
            return _refuse(502, f"Shopify did not give returnsbot a token: {exc}")
        self._save(grant)
        missing = missing_scopes(grant.scopes, REQUIRED_SCOPES)
        log.info("shopify.installed shop=%s scopes=%s missing=%s", self.shop, ",".join(sorted(grant.scopes)),
                 ",".join(missing) or "-")
        text = f"returnsbot is connected to {self.shop}."
        if missing:
            text += (f" Shopify did not grant {', '.join(missing)}: add them to the app's version and install "
                     f"again, or the actions that need them will fail.")
        else:
            text += " You can close this page."
        return Answer(200, text, {"Set-Cookie": _clear_cookie()})

    # ---------------------------------------------------------------------------------------

    def _sign(self, state: str, expires: int) -> str:
        return hmac.new(self._cookie_key, f"{state}.{expires}".encode(), hashlib.sha256).hexdigest()

    def _state_matches(self, state: str, cookie_header: str | None) -> bool:
        value = _cookie(cookie_header, STATE_COOKIE)
        if not value or value.count(".") < 2:
            return False
        nonce, expires_text, signature = value.rsplit(".", 2)
        try:
            expires = int(expires_text)
        except ValueError:
            return False
        if not hmac.compare_digest(signature.encode(), self._sign(nonce, expires).encode()):
            return False
        if self._now().timestamp() > expires:
            return False
        return hmac.compare_digest(nonce.encode(), state.encode())


def _parse(query: str) -> dict[str, str] | None:
    """The query's parameters, or None when it is too long or names a key twice (an HMAC
    over a query that is not one set of keys means nothing)."""
    if len(query) > MAX_QUERY_LENGTH:
        return None
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=False, max_num_fields=50)
    except ValueError:
        return None
    params: dict[str, str] = {}
    for key, value in pairs:
        if key in params:
            return None
        params[key] = value
    return params


def _cookie(header: str | None, name: str) -> str | None:
    if not header:
        return None
    jar = SimpleCookie()
    try:
        jar.load(header)
    except CookieError:
        return None
    morsel = jar.get(name)
    return morsel.value if morsel is not None else None


def _clear_cookie() -> str:
    return f"{STATE_COOKIE}=; Max-Age=0; Path=/shopify; HttpOnly; Secure; SameSite=Lax"


def _refuse(status: int, text: str) -> Answer:
    log.warning("shopify.install_refused status=%s reason=%s", status, text)
    return Answer(status, f"returnsbot: {text}")
