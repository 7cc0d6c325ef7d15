"""Token providers: the client credentials grant (form-encoded POST, cached, renewed five
minutes before expiry and after a 401, one request for many threads), the static token,
and token endpoint failures as one clear line, never with a secret in it."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

import httpx
import pytest

from integrations.shopify import auth
from integrations.shopify.auth import ClientCredentials, StaticToken, TokenEndpoint, TokenEndpointError
from tests.fakes.shopify_oauth import FakeTokenEndpoint, utc

BASE = "https://acme-test.myshopify.com"


class Clock:
    def __init__(self) -> None:
        self.now = utc(2026, 12, 2, 9, 0)

    def __call__(self):
        return self.now

    def advance(self, **kw) -> None:
        self.now += timedelta(**kw)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake() -> FakeTokenEndpoint:
    return FakeTokenEndpoint()


def endpoint(fake: FakeTokenEndpoint, clock: Clock, *, secret: str | None = None, http=None) -> TokenEndpoint:
    return TokenEndpoint(BASE, fake.client_id, secret or fake.client_secret, http=http or fake.http_client(), now=clock)


def provider(fake, clock) -> ClientCredentials:
    return ClientCredentials(endpoint(fake, clock), now=clock)


# --- the documented request -------------------------------------------------------------------------


def test_client_credentials_posts_the_documented_form_and_reads_the_answer(fake, clock):
    seen = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        status, headers, body = fake.handle(request.method, dict(request.headers), request.content)
        return httpx.Response(status, headers=headers, content=body, request=request)

    p = ClientCredentials(TokenEndpoint(BASE, fake.client_id, fake.client_secret,
                                        http=httpx.Client(transport=httpx.MockTransport(record)), now=clock), now=clock)
    token = p.token()
    assert token == fake.issued[-1] and token.startswith("shpat_")
    [request] = seen
    assert request.method == "POST" and str(request.url) == BASE + "/admin/oauth/access_token"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert [c.form for c in fake.calls] == [{"grant_type": "client_credentials", "client_id": fake.client_id,
                                             "client_secret": fake.client_secret}]
    grant = p.grant
    assert grant.expires_at == clock.now + timedelta(seconds=86399)
    assert "write_returns" in grant.scopes and grant.refresh_token is None


def test_the_fake_refuses_what_shopify_would(fake):
    """The fake is strict: JSON instead of a form, or a wrong secret, is refused."""
    status, _, _ = fake.handle("POST", {"Content-Type": "application/json"}, b'{"grant_type":"client_credentials"}')
    assert status == 400
    status, _, body = fake.handle("POST", {"Content-Type": "application/x-www-form-urlencoded"},
                                  b"grant_type=client_credentials&client_id=client-id-0123&client_secret=nope")
    assert status == 400 and b"invalid_client" in body


def test_without_expires_in_the_token_is_taken_to_last_24_hours(fake, clock):
    fake.expires_in = None
    p = provider(fake, clock)
    p.token()
    assert p.grant.expires_at == clock.now + auth.DEFAULT_CLIENT_CREDENTIALS_LIFETIME


# --- caching and renewal ----------------------------------------------------------------------------


def test_the_token_is_cached_and_renewed_five_minutes_before_it_expires(fake, clock):
    p = provider(fake, clock)
    first = p.token()
    clock.advance(hours=23, minutes=50)
    assert p.token() == first and len(fake.calls) == 1  # 9 minutes left: still good
    clock.advance(minutes=5)  # 4 minutes left: within the margin
    second = p.token()
    assert second != first and len(fake.calls) == 2
    assert p.token() == second and len(fake.calls) == 2


def test_a_401_drops_the_token_and_the_next_request_gets_a_new_one(fake, clock):
    p = provider(fake, clock)
    first = p.token()
    clock.advance(minutes=10)
    p.on_unauthorized(first)
    second = p.token()
    assert second != first and len(fake.calls) == 2
    # A 401 for a token already replaced changes nothing.
    p.on_unauthorized(first)
    assert p.token() == second and len(fake.calls) == 2


def test_a_401_on_a_token_issued_moments_ago_does_not_ask_again_at_once(fake, clock, caplog):
    """A token refused seconds after it was issued is not about its age (scopes revoked, app
    uninstalled): asking again on every 401 would hammer the token endpoint."""
    p = provider(fake, clock)
    token = p.token()
    clock.advance(seconds=5)
    with caplog.at_level(logging.WARNING):
        p.on_unauthorized(token)
    assert p.token() == token and len(fake.calls) == 1
    assert "token_rejected_fresh" in caplog.text


def test_many_threads_without_a_token_make_one_request(fake, clock):
    release = threading.Event()
    fake.before_reply = lambda: release.wait(5)
    p = provider(fake, clock)
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(p.token())) for _ in range(8)]
    for t in threads:
        t.start()
    release.set()
    for t in threads:
        t.join(5)
    assert len(fake.calls) == 1
    assert len(results) == 8 and len(set(results)) == 1


def test_while_one_thread_renews_the_others_keep_using_the_valid_token(fake, clock):
    p = provider(fake, clock)
    first = p.token()
    clock.advance(hours=23, minutes=57)  # due, not expired
    entered, release = threading.Event(), threading.Event()

    def slow():
        entered.set()
        release.wait(5)

    fake.before_reply = slow
    renewing = threading.Thread(target=p.token)
    renewing.start()
    assert entered.wait(5)
    assert p.token() == first  # not blocked behind the renewal
    release.set()
    renewing.join(5)
    fake.before_reply = None
    assert p.token() != first and len(fake.calls) == 2


def test_a_failed_renewal_keeps_the_valid_token_and_then_fails_once_it_expired(fake, clock, caplog):
    p = provider(fake, clock)
    first = p.token()
    clock.advance(hours=23, minutes=57)
    fake.outage = True
    with caplog.at_level(logging.WARNING):
        assert p.token() == first
    assert "token_renewal_failed" in caplog.text
    assert p.token() == first and len(fake.calls) == 2  # not asked again within RENEW_RETRY
    clock.advance(minutes=5)  # expired now
    with pytest.raises(TokenEndpointError) as exc:
        p.token()
    assert exc.value.retryable


# --- failures as one line ---------------------------------------------------------------------------


@pytest.mark.parametrize("text_errors", [False, True])
def test_wrong_credentials_are_a_refusal_naming_the_settings(fake, clock, text_errors):
    fake.text_errors = text_errors
    p = ClientCredentials(endpoint(fake, clock, secret="wrong-secret-do-not-print"), now=clock)
    with pytest.raises(TokenEndpointError) as exc:
        p.token()
    err = exc.value
    assert not err.retryable and err.code == "invalid_client" and err.status == 400
    message = str(err)
    assert "SHOPIFY_CLIENT_ID" in message and "SHOPIFY_API_SECRET" in message
    assert "wrong-secret-do-not-print" not in message and "\n" not in message


def test_an_app_of_another_organization_is_told_to_use_the_install(fake, clock):
    fake.refuse_client_credentials = "shop_not_permitted"
    with pytest.raises(TokenEndpointError) as exc:
        provider(fake, clock).token()
    assert exc.value.code == "shop_not_permitted" and not exc.value.retryable
    assert "SHOPIFY_AUTH_MODE=authorization_code" in str(exc.value)


def test_an_outage_is_retryable(fake, clock):
    fake.outage = True
    with pytest.raises(TokenEndpointError) as exc:
        provider(fake, clock).token()
    assert exc.value.retryable and exc.value.status == 503 and exc.value.system == "shopify"


def test_an_unreachable_endpoint_is_retryable(clock):
    def refuse(request):
        raise httpx.ConnectError("connection refused", request=request)

    p = ClientCredentials(TokenEndpoint(BASE, "id", "secret-do-not-print",
                                        http=httpx.Client(transport=httpx.MockTransport(refuse)), now=clock), now=clock)
    with pytest.raises(TokenEndpointError) as exc:
        p.token()
    assert exc.value.retryable and "could not reach" in str(exc.value)
    assert "secret-do-not-print" not in str(exc.value)


def test_an_answer_without_a_token_is_an_error_not_a_token(clock):
    http = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200, json={"scope": "read_orders"})))
    with pytest.raises(TokenEndpointError) as exc:
        ClientCredentials(TokenEndpoint(BASE, "id", "secret", http=http, now=clock), now=clock).token()
    assert "without an access token" in str(exc.value)


def test_an_echoed_secret_is_scrubbed_from_the_message(clock):
    secret = "client-secret-echoed-back"
    http = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(
        400, json={"error": "invalid_request", "error_description": f"bad client_secret {secret}"})))
    with pytest.raises(TokenEndpointError) as exc:
        ClientCredentials(TokenEndpoint(BASE, "id", secret, http=http, now=clock), now=clock).token()
    assert secret not in str(exc.value) and "[redacted]" in str(exc.value)


def test_tokens_and_secrets_are_never_logged_or_shown(fake, clock, caplog):
    with caplog.at_level(logging.DEBUG):
        p = provider(fake, clock)
        token = p.token()
        clock.advance(hours=24)
        p.token()
        p.on_unauthorized()
        p.token()
    shown = caplog.text + repr(p) + repr(p.grant) + repr(p.endpoint)
    for secret in (fake.client_secret, token, *fake.issued):
        assert secret not in shown


# --- the static token -------------------------------------------------------------------------------


def test_the_static_token_is_the_token_and_a_401_cannot_renew_it():
    p = StaticToken("shpat_static_do_not_print")
    assert p.token() == "shpat_static_do_not_print"
    p.on_unauthorized("shpat_static_do_not_print")
    assert p.token() == "shpat_static_do_not_print"
    assert "shpat" not in repr(p) and p.mode == "static"


def test_scope_coverage_counts_write_as_read():
    assert auth.covers({"write_orders"}, "read_orders")
    assert not auth.covers({"read_orders"}, "write_orders")
    assert auth.missing_scopes({"write_orders", "read_customers"}, ["read_orders", "write_customers"]) == [
        "write_customers"]
