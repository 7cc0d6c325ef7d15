"""The authorization-code install: /shopify/install redirects to Shopify with a signed
state cookie; /shopify/callback verifies hmac, timestamp, shop and state — each check
failing closed (a 4xx, no code exchanged, nothing stored) — then exchanges the code for an
expiring token and stores it encrypted. Over the real WSGI router, on both databases."""

from __future__ import annotations

import hashlib
import hmac
import io
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from bot.store.tokens import TokenCipher, TokenRepo
from bot.wsgi import Router
from handlers.shopify_app import CallbackEndpoint, InstallEndpoint
from integrations.shopify import auth
from integrations.shopify.auth import TokenEndpoint
from integrations.shopify.install import STATE_COOKIE, InstallFlow, form_encode, query_hmac
from tests.fakes.shopify_oauth import FakeTokenEndpoint, utc

SHOP = "acme-test.myshopify.com"
PUBLIC = "https://bot.example"


class Clock:
    def __init__(self) -> None:
        self.now = utc(2026, 12, 2, 9, 0)

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def fake():
    return FakeTokenEndpoint()


@pytest.fixture
def repo(engine):
    return TokenRepo(engine, TokenCipher(TokenCipher.generate()))


@pytest.fixture
def router(fake, repo, clock) -> Router:
    endpoint = TokenEndpoint(f"https://{SHOP}", fake.client_id, fake.client_secret, http=fake.http_client(), now=clock)
    flow = InstallFlow(shop=SHOP, client_id=fake.client_id, client_secret=fake.client_secret, public_url=PUBLIC,
                       authorize_base=f"https://{SHOP}", exchange=endpoint.authorization_code,
                       save=lambda g: repo.save(SHOP, g, now=clock()), now=clock)
    r = Router()
    r.add("GET", "/shopify/install", InstallEndpoint(flow.begin))
    r.add("GET", "/shopify/callback", CallbackEndpoint(flow.callback))
    return r


def get(router: Router, path: str, query: str = "", cookie: str | None = None):
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": query, "wsgi.input": io.BytesIO(b"")}
    if cookie is not None:
        environ["HTTP_COOKIE"] = cookie
    got = {}

    def start_response(status, headers):
        got["status"], got["headers"] = int(status.split()[0]), dict(headers)

    body = b"".join(router(environ, start_response))
    return got["status"], got["headers"], body.decode()


def signed(secret: str, **params: str) -> str:
    """A callback query as Shopify signs it — computed here independently: urlencode of the
    sorted parameters (the same as URLSearchParams for these characters), hex HMAC-SHA256."""
    message = urlencode(sorted(params.items()))
    digest = hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()
    return urlencode({**params, "hmac": digest})


def start(router) -> tuple[str, str]:
    """GET /shopify/install: returns (state, cookie header) the browser would carry back."""
    status, headers, _ = get(router, "/shopify/install")
    assert status == 302
    cookie = headers["Set-Cookie"].split(";", 1)[0]
    state = parse_qs(urlsplit(headers["Location"]).query)["state"][0]
    return state, cookie


def callback_query(fake, clock, state, *, shop=SHOP, code=None, at=None, secret=None) -> str:
    return signed(secret or fake.client_secret, code=code or fake.issue_code(), host="YWNtZS10ZXN0L2FkbWlu+/=",
                  shop=shop, state=state, timestamp=str(int((at or clock.now).timestamp())))


# --- the happy path ---------------------------------------------------------------------------------


def test_install_redirects_to_shopify_with_a_signed_state_cookie(router, fake):
    status, headers, _ = get(router, "/shopify/install")
    assert status == 302
    location = urlsplit(headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"https://{SHOP}/admin/oauth/authorize"
    q = parse_qs(location.query)
    assert q["client_id"] == [fake.client_id]
    assert q["redirect_uri"] == [f"{PUBLIC}/shopify/callback"]
    assert set(q["scope"][0].split(",")) == {*auth.REQUIRED_SCOPES, *auth.RECOMMENDED_SCOPES}
    assert "grant_options[]" not in q  # offline access: the token is the app's, not a user's
    cookie = headers["Set-Cookie"]
    assert cookie.startswith(f"{STATE_COOKIE}={q['state'][0]}.")
    for flag in ("HttpOnly", "Secure", "SameSite=Lax", "Path=/shopify", "Max-Age=600"):
        assert flag in cookie


def test_the_callback_exchanges_the_code_and_stores_the_token(router, fake, repo, clock):
    state, cookie = start(router)
    status, headers, body = get(router, "/shopify/callback", callback_query(fake, clock, state), cookie)
    assert status == 200, body
    assert f"connected to {SHOP}" in body
    assert "Max-Age=0" in headers["Set-Cookie"]  # the state is used once
    [call] = fake.calls
    assert call.grant == "authorization_code" and call.form["expiring"] == "1"
    stored = repo.load(SHOP)
    assert stored.grant.access_token == fake.issued[-1] and stored.grant.refresh_token


def test_a_grant_missing_scopes_is_stored_and_says_which(router, fake, repo, clock):
    fake.scope = "write_orders,write_returns"
    state, cookie = start(router)
    status, _, body = get(router, "/shopify/callback", callback_query(fake, clock, state), cookie)
    assert status == 200 and "read_shopify_payments_disputes" in body and "write_customers" in body
    assert repo.load(SHOP) is not None


# --- each check fails closed ------------------------------------------------------------------------


def _refused(router, fake, repo, query, cookie, status):
    got, _, body = get(router, "/shopify/callback", query, cookie)
    assert got == status, body
    assert fake.calls == []  # no code was exchanged
    assert repo.load(SHOP) is None  # nothing stored
    return body


def test_a_bad_hmac_is_refused(router, fake, repo, clock):
    state, cookie = start(router)
    query = callback_query(fake, clock, state, secret="not-the-client-secret")
    assert "hmac" in _refused(router, fake, repo, query, cookie, 400)


def test_a_tampered_parameter_breaks_the_hmac(router, fake, repo, clock):
    state, cookie = start(router)
    query = callback_query(fake, clock, state).replace("code=code", "code=evil")
    _refused(router, fake, repo, query, cookie, 400)


def test_a_missing_hmac_is_refused(router, fake, repo, clock):
    state, cookie = start(router)
    query = urlencode({"code": fake.issue_code(), "shop": SHOP, "state": state,
                       "timestamp": str(int(clock.now.timestamp()))})
    _refused(router, fake, repo, query, cookie, 400)


def test_a_repeated_parameter_is_refused(router, fake, repo, clock):
    state, cookie = start(router)
    query = callback_query(fake, clock, state) + "&shop=evil.myshopify.com"
    _refused(router, fake, repo, query, cookie, 400)


@pytest.mark.parametrize("seconds", [91, -91, 3600])
def test_a_stale_timestamp_is_refused(router, fake, repo, clock, seconds):
    state, cookie = start(router)
    query = callback_query(fake, clock, state, at=clock.now - timedelta(seconds=seconds))
    assert "too old" in _refused(router, fake, repo, query, cookie, 400)


def test_a_timestamp_within_90_seconds_is_accepted(router, fake, repo, clock):
    state, cookie = start(router)
    query = callback_query(fake, clock, state, at=clock.now - timedelta(seconds=89))
    assert get(router, "/shopify/callback", query, cookie)[0] == 200


def test_another_shop_is_refused(router, fake, repo, clock):
    state, cookie = start(router)
    query = callback_query(fake, clock, state, shop="evil.myshopify.com")
    assert SHOP in _refused(router, fake, repo, query, cookie, 403)


def test_a_state_that_is_not_this_browsers_is_refused(router, fake, repo, clock):
    start(router)
    other_state, other_cookie = start(router)
    state, _ = start(router)
    query = callback_query(fake, clock, state)
    _refused(router, fake, repo, query, other_cookie, 403)  # another browser's cookie
    _refused(router, fake, repo, query, None, 403)  # no cookie at all


def test_a_forged_or_expired_state_cookie_is_refused(router, fake, repo, clock):
    state, cookie = start(router)
    name, value = cookie.split("=", 1)
    nonce, expires, signature = value.rsplit(".", 2)
    later = str(int(expires) + 3600)  # extend its life without the key
    forged = f"{name}={nonce}.{later}.{signature}"
    _refused(router, fake, repo, callback_query(fake, clock, state), forged, 403)
    clock.now += timedelta(minutes=11)  # the genuine cookie has expired
    _refused(router, fake, repo, callback_query(fake, clock, state), cookie, 403)


def test_a_refused_code_stores_nothing(router, fake, repo, clock):
    state, cookie = start(router)
    query = callback_query(fake, clock, state, code="never-issued")
    status, _, body = get(router, "/shopify/callback", query, cookie)
    assert status == 502 and "did not give returnsbot a token" in body
    assert fake.client_secret not in body and "never-issued" not in body
    assert repo.load(SHOP) is None


def test_a_link_for_another_shop_does_not_start_an_install(router):
    status, headers, _ = get(router, "/shopify/install", "shop=evil.myshopify.com")
    assert status == 403 and "Location" not in headers


# --- the signature itself ---------------------------------------------------------------------------


def test_shopifys_documented_callback_example_verifies():
    """Shopify's worked example (client secret "hush")."""
    params = {"code": "0907a61c0c8d55e99db179b68161bc00", "shop": "some-shop.myshopify.com",
              "state": "0.6784241404160823", "timestamp": "1337178173"}
    assert query_hmac("hush", params) == "700e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf"
    assert query_hmac("hush", {**params, "hmac": "x", "signature": "y"}) == query_hmac("hush", params)


def test_values_are_form_encoded_as_urlsearchparams_writes_them():
    # WHATWG application/x-www-form-urlencoded: * - . _ and alphanumerics stay, space is +,
    # everything else (~ included, unlike Python's quote) is percent-encoded.
    assert form_encode("a b*-._~=+/&") == "a+b*-._%7E%3D%2B%2F%26"
    assert form_encode("Zoë") == "Zo%C3%AB"

