"""ShipStation's webhooks, at one route: `POST /webhooks/shipstation/<SHIPSTATION_WEBHOOK_TOKEN>`.

Two kinds arrive there, told apart by the request itself:
- V1 (`SHIP_NOTIFY` …): unsigned and thin, `{"resource_url", "resource_type"}`. The secret
  token in the path is all that guards the door (compared timing-safely; a wrong one is a
  404 and nothing is stored). After the 200 we GET `resource_url` with our Basic
  credentials, but only when it is ShipStation's V1 API (`https://ssapi<n>.shipstation.com`,
  or the exact origin SHIPSTATION_API_URL names): anything else (another host, `user@host`
  tricks, an IP literal, plain http, another path) is refused, so a forged body can't send
  our credentials, or us, anywhere else (SSRF).
- V2 tracking (`TRACK_EVENT_V2`): signed. `x-shipengine-rsa-sha256-signature` is an
  RSA-SHA256 (PKCS#1 v1.5) signature, base64, over `"{x-shipengine-timestamp}.{raw body}"`,
  made with the key the JWKS (`SHIPSTATION_JWKS_URL`) lists under the `kid` in
  `x-shipengine-rsa-sha256-key-id`. A timestamp more than 5 minutes off either way, an
  unknown key, a bad signature or missing headers → 401. A request carrying any of these
  headers, or whose body says `…_V2`, is judged as V2: a signed-looking request never
  falls back to the token alone.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
import json
import logging
import re
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Callable
from urllib.parse import urlsplit

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

log = logging.getLogger(__name__)

KEY_ID_HEADER = "x-shipengine-rsa-sha256-key-id"
SIGNATURE_HEADER = "x-shipengine-rsa-sha256-signature"
TIMESTAMP_HEADER = "x-shipengine-timestamp"
SIGNED_HEADERS = (KEY_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER)
TOLERANCE = timedelta(minutes=5)
DEFAULT_JWKS_URL = "https://api.shipengine.com/jwks"
V1_HOST = re.compile(r"^ssapi\d*\.shipstation\.com$")
V1_RESOURCE_TYPES = ("ORDER_NOTIFY", "ITEM_ORDER_NOTIFY", "SHIP_NOTIFY", "ITEM_SHIP_NOTIFY",
                     "FULFILLMENT_SHIPPED", "FULFILLMENT_REJECTED")
SHIP_NOTIFY_PATHS = ("/shipments",)  # where a SHIP_NOTIFY's resource lives
MAX_RESOURCE_URL = 200  # the V1 webhook model's limit (docs-excerpts.md)
V1, V2 = "v1", "v2"


def token_matches(expected: str | None, given: str) -> bool:
    """The path's token against ours, in constant time; no token configured: nothing matches."""
    if not expected:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8", "surrogateescape"))


def kind_of(body: bytes, headers) -> str:
    """V1 or V2: any signature header, or a body naming a `…_V2` resource type, makes it V2."""
    if any(headers.get(h) for h in SIGNED_HEADERS):
        return V2
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        return V1  # malformed: validation answers 400 (a V1 body has nothing to verify)
    kind = payload.get("resource_type") if isinstance(payload, dict) else None
    return V2 if isinstance(kind, str) and kind.upper().endswith("_V2") else V1


# --- V1: where a resource_url may lead ------------------------------------------------------


def safe_resource_url(url: object, *, own_api_url: str | None = None, paths=SHIP_NOTIFY_PATHS) -> str | None:
    """The URL when it is ShipStation's V1 API and one of `paths`, else None (refused).

    Accepted: https, no user or password, a host matching `ssapi<n>.shipstation.com` on the
    default port, or exactly the scheme, host and port of SHIPSTATION_API_URL (the
    operator's own setting). Everything else is refused, IP literals included."""
    if not isinstance(url, str) or not url or len(url) > MAX_RESOURCE_URL or any(c in url for c in "\\\r\n\t "):
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        return None
    host = (parts.hostname or "").lower()
    if parts.path not in paths or parts.fragment:
        return None
    if own_api_url and _origin(url) == _origin(own_api_url):
        return url
    if parts.scheme != "https" or port not in (None, 443) or _is_ip(host):
        return None
    return url if V1_HOST.match(host) else None


def _origin(url: str) -> tuple[str, str, int | None] | None:
    try:
        parts = urlsplit(url)
        port = parts.port or {"https": 443, "http": 80}.get(parts.scheme)
    except ValueError:
        return None
    if parts.username is not None or "@" in parts.netloc:
        return None
    return parts.scheme, (parts.hostname or "").lower(), port


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return host.replace(".", "").isdigit()  # "2130706433", "0x7f.1": numeric forms resolvers accept
    return True


def validate_v1(payload: dict) -> None:
    kind = payload.get("resource_type")
    if not isinstance(kind, str) or kind.upper() not in V1_RESOURCE_TYPES:
        raise ValueError("resource_type: expected one of " + ", ".join(V1_RESOURCE_TYPES))
    if not isinstance(payload.get("resource_url"), str):
        raise ValueError("resource_url: expected a URL")


def validate_v2(payload: dict) -> None:
    if not isinstance(payload.get("resource_type"), str):
        raise ValueError("resource_type: expected a string")
    data = payload.get("data")
    if payload["resource_type"] == "TRACK_EVENT_V2" and not isinstance(data, dict):
        raise ValueError("data: expected the tracking information")
    if isinstance(data, dict) and not isinstance(data.get("tracking_number"), str):
        raise ValueError("data.tracking_number: expected a string")


# --- V2: RSA signatures against the JWKS ----------------------------------------------------


class Jwks:
    """The vendor's signing keys by `kid`, fetched on first use and again (at most once a
    minute) when a signature names a key we don't have: keys rotate."""

    def __init__(self, url: str, *, http: httpx.Client | None = None, timeout: float = 5.0,
                 monotonic: Callable[[], float] = time.monotonic, refetch_after: float = 60.0) -> None:
        self.url = url
        self._http = http or httpx.Client()
        self.timeout = timeout
        self._monotonic = monotonic
        self.refetch_after = refetch_after
        self._keys: dict[str, rsa.RSAPublicKey] = {}
        self._fetched_at: float | None = None
        self._lock = threading.Lock()
        self.fetches = 0

    def key(self, kid: str) -> rsa.RSAPublicKey | None:
        with self._lock:
            if kid in self._keys:
                return self._keys[kid]
            recent = self._fetched_at is not None and self._monotonic() - self._fetched_at < self.refetch_after
            if recent:
                return None
            self._fetch()
            return self._keys.get(kid)

    def _fetch(self) -> None:
        self._fetched_at = self._monotonic()
        self.fetches += 1
        try:
            response = self._http.get(self.url, timeout=self.timeout)
            response.raise_for_status()
            keys = response.json().get("keys", [])
        except (httpx.HTTPError, ValueError, AttributeError) as exc:
            log.warning("shipstation.jwks_failed", extra={"error": f"{type(exc).__name__}: {exc}"})
            return
        found = {}
        for jwk in keys if isinstance(keys, list) else ():
            try:
                if jwk.get("kty") == "RSA" and jwk.get("kid"):
                    found[str(jwk["kid"])] = rsa.RSAPublicNumbers(_b64int(jwk["e"]), _b64int(jwk["n"])).public_key()
            except (KeyError, ValueError, TypeError, AttributeError):
                continue  # one bad key must not cost the others
        self._keys.update(found)


def _b64int(text: str) -> int:
    return int.from_bytes(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)), "big")


def verify_v2(body: bytes, headers, jwks: Jwks, *, now: datetime) -> bool:
    kid, signature, stamp = (headers.get(h) for h in SIGNED_HEADERS)
    if not (kid and signature and stamp):
        return False
    try:
        at = datetime.fromisoformat(stamp.strip().replace("Z", "+00:00"))
    except ValueError:
        return False
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    if abs(now - at) > TOLERANCE:
        log.warning("webhook.rejected source=shipstation reason=stale timestamp=%s", stamp[:40])
        return False
    try:
        raw = base64.b64decode(signature.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    key = jwks.key(kid.strip())
    if key is None:
        return False
    try:
        key.verify(raw, stamp.encode("utf-8") + b"." + body, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True
