"""The client's contract for others: a token source with renewal on 401, and the version
Shopify actually served (`X-Shopify-Api-Version`)."""

from __future__ import annotations

import logging
import random
import threading

import httpx
import pytest

from integrations.shopify.client import ShopifyGraphQL
from integrations.shopify.source import ShopifyStore
from policy.ports import IntegrationError
from tests.fakes.shopify import FakeClock
from tests.shopify.test_client import MUTATION, QUERY, URL, Script, ok

OLD = "shpat_OLD_token_expired_0000000001"
NEW = "shpat_NEW_token_renewed_000000002"
UNAUTHORIZED = {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


class Tokens:
    """A token holder like an expiring-token provider: `renew` swaps in the next token."""

    def __init__(self, *tokens: str) -> None:
        self.tokens = list(tokens)
        self.renewals = 0
        self._lock = threading.Lock()

    def __call__(self) -> str:
        with self._lock:
            return self.tokens[0]

    def renew(self) -> None:
        with self._lock:
            self.renewals += 1
            if len(self.tokens) > 1:
                self.tokens.pop(0)


def accept_only(token: str, version: str = "2026-10"):
    def answer(request: httpx.Request) -> httpx.Response:
        if request.headers["X-Shopify-Access-Token"] != token:
            return httpx.Response(401, json=UNAUTHORIZED, headers={"X-Shopify-Api-Version": version})
        response = ok()
        response.headers["X-Shopify-Api-Version"] = version
        return response

    return answer


def make(script: Script, clock: FakeClock, token, **kw) -> ShopifyGraphQL:
    return ShopifyGraphQL(URL, token, http=httpx.Client(transport=httpx.MockTransport(script)), sleep=clock.sleep,
                          monotonic=clock.monotonic, rng=random.Random(7), **kw)


# --- tokens -----------------------------------------------------------------------------------------


def test_a_callable_token_is_read_for_every_request(clock):
    tokens = Tokens(OLD)
    script = Script(ok())
    client = make(script, clock, tokens)
    client.execute(QUERY)
    tokens.tokens = [NEW]
    client.execute(QUERY)
    assert [r.headers["X-Shopify-Access-Token"] for r in script.requests] == [OLD, NEW]


def test_a_401_renews_the_token_and_retries_once(clock):
    tokens = Tokens(OLD, NEW)
    script = Script(accept_only(NEW))
    client = make(script, clock, tokens, on_unauthorized=tokens.renew)
    assert client.execute(QUERY) == {"shop": {"name": "Acme"}}
    assert tokens.renewals == 1
    assert [r.headers["X-Shopify-Access-Token"] for r in script.requests] == [OLD, NEW]
    assert clock.sleeps == []  # no backoff: a 401 is not an outage


def test_a_mutation_is_retried_after_renewal_too(clock):
    # A 401 means Shopify did not run it, so sending it again cannot do it twice.
    tokens = Tokens(OLD, NEW)
    script = Script(accept_only(NEW))
    client = make(script, clock, tokens, on_unauthorized=tokens.renew)
    client.execute(MUTATION, {"input": {"id": "gid://shopify/Return/1"}})
    assert len(script.requests) == 2


def test_a_second_401_is_a_token_problem_and_not_retried(clock, caplog):
    caplog.set_level(logging.DEBUG)
    tokens = Tokens(OLD, NEW)
    script = Script(httpx.Response(401, json=UNAUTHORIZED))
    client = make(script, clock, tokens, on_unauthorized=tokens.renew)
    with pytest.raises(IntegrationError, match="access token .*again after renewing it") as info:
        client.execute(QUERY)
    assert info.value.retryable is False
    assert tokens.renewals == 1 and len(script.requests) == 2
    for secret in (OLD, NEW):
        assert secret not in str(info.value) and secret not in caplog.text


def test_a_401_without_a_renewer_is_not_retried(clock):
    script = Script(httpx.Response(401, json=UNAUTHORIZED))
    with pytest.raises(IntegrationError, match="rejected the access token") as info:
        make(script, clock, OLD).execute(QUERY)
    assert info.value.retryable is False and len(script.requests) == 1


def test_concurrent_401s_renew_once(clock):
    tokens = Tokens(OLD, NEW, "shpat_never_used")
    seen: list[str] = []
    barrier = threading.Barrier(4)

    def answer(request: httpx.Request) -> httpx.Response:
        token = request.headers["X-Shopify-Access-Token"]
        seen.append(token)
        if token == OLD:
            barrier.wait(5)  # all four got their 401 before anyone renews
            return httpx.Response(401, json=UNAUTHORIZED)
        return ok()

    client = make(Script(answer), clock, tokens, on_unauthorized=tokens.renew)
    threads = [threading.Thread(target=client.execute, args=(QUERY,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert tokens.renewals == 1
    assert seen.count(OLD) == 4 and seen.count(NEW) == 4


def test_a_failing_renewal_says_so_without_the_token(clock):
    def renew() -> None:
        raise RuntimeError(f"token endpoint said no to {OLD}")

    script = Script(httpx.Response(401, json=UNAUTHORIZED))
    with pytest.raises(IntegrationError, match="renewing the Shopify access token failed") as info:
        make(script, clock, Tokens(OLD), on_unauthorized=renew).execute(QUERY)
    assert OLD not in str(info.value)


@pytest.mark.parametrize("value", ["", "   ", None])
def test_a_token_source_with_nothing_to_give_is_refused(clock, value):
    with pytest.raises(IntegrationError, match="no Shopify access token") as info:
        make(Script(ok()), clock, lambda: value).execute(QUERY)
    assert info.value.retryable is False


def test_the_fake_renews_through_the_client(fake):
    # The whole loop against FakeShopify: an expired token, renewed on the 401.
    tokens = Tokens("shpat_expired", fake.access_token)
    client = ShopifyGraphQL(fake.graphql_url(), tokens, on_unauthorized=tokens.renew, http=fake.http_client())
    assert ShopifyStore(client, shop_domain=fake.shop_domain).ping().startswith("Acme Test Store")
    assert [c.outcome for c in fake.calls] == ["unauthorized", "ok"]


# --- the version Shopify served ---------------------------------------------------------------------


def test_the_served_version_is_remembered(clock):
    client = make(Script(accept_only(OLD)), clock, OLD)
    assert client.requested_version == "2026-10" and client.served_version is None
    client.execute(QUERY)
    assert client.served_version == "2026-10" and client.version_mismatch is None


def test_another_served_version_is_reported_and_logged_once(clock, caplog):
    caplog.set_level(logging.WARNING)
    client = make(Script(accept_only(OLD, version="2026-07")), clock, OLD)
    client.execute(QUERY)
    client.execute(QUERY)
    assert client.served_version == "2026-07"
    assert client.version_mismatch.startswith("Shopify served 2026-07 instead of 2026-10")
    warnings = [r for r in caplog.records if "api_version_mismatch" in r.getMessage()]
    assert len(warnings) == 1


def test_a_retired_version_falls_forward_and_ping_says_so(fake):
    # 2025-01 left the support window: Shopify serves the oldest supported version.
    client = ShopifyGraphQL(fake.graphql_url(version="2025-01"), fake.access_token, http=fake.http_client())
    store = ShopifyStore(client, shop_domain=fake.shop_domain)
    text = store.ping()
    assert text.startswith("Acme Test Store (acme-test.myshopify.com, USD), Admin API 2026-01; ")
    assert "Shopify served 2026-01 instead of 2025-01" in text
    assert "SHOPIFY_API_VERSION" in text
    assert store.api_version_note == client.version_mismatch
    assert fake.calls[-1].version == "2026-01"


def test_the_version_is_read_from_a_401_too(clock):
    client = make(Script(httpx.Response(401, json=UNAUTHORIZED, headers={"X-Shopify-Api-Version": "2026-04"})), clock, OLD)
    with pytest.raises(IntegrationError):
        client.execute(QUERY)
    assert client.served_version == "2026-04"
