"""ShopifyGraphQL against scripted responses: retries, throttling, pacing, secrets."""

from __future__ import annotations

import json
import logging
import random
import threading
from typing import Any, Callable

import httpx
import pytest

from integrations.shopify.client import ShopifyGraphQL
from policy.ports import IntegrationError
from tests.fakes.shopify import FakeClock

URL = "https://acme-test.myshopify.com/admin/api/2026-10/graphql.json"
TOKEN = "shpat_SECRET_token_do_not_leak_42"
QUERY = "query ShopPing { shop { name } }"
OTHER = "query CustomerById($id: ID!) { customer(id: $id) { id } }"
MUTATION = "mutation ReturnApproveRequest($input: ReturnApproveRequestInput!) { returnApproveRequest(input: $input) { userErrors { message } } }"


def cost(requested: float = 10, available: float = 990, maximum: float = 1000, rate: float = 50, actual: Any = "same"):
    return {
        "cost": {
            "requestedQueryCost": requested,
            "actualQueryCost": requested if actual == "same" else actual,
            "throttleStatus": {"maximumAvailable": maximum, "currentlyAvailable": available, "restoreRate": rate},
        }
    }


def ok(data: dict | None = None, **cost_kw: Any) -> httpx.Response:
    return httpx.Response(200, json={"data": data or {"shop": {"name": "Acme"}}, "extensions": cost(**cost_kw)})


def throttled(*, status: int = 200, with_code: bool = True, requested: float = 252, available: float = 100, rate: float = 50, headers=None):
    error: dict[str, Any] = {"message": "Throttled"}
    if with_code:
        error["extensions"] = {"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}
    return httpx.Response(
        status,
        json={"errors": [error], "extensions": cost(requested=requested, available=available, rate=rate, actual=None)},
        headers=headers,
    )


class Script:
    """An httpx transport answering from a list of responses (or callables raising)."""

    def __init__(self, *responses: httpx.Response | Callable[[httpx.Request], httpx.Response] | Exception) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        item = self.responses.pop(0) if len(self.responses) > 1 else self.responses[0]
        if isinstance(item, Exception):
            raise item
        if callable(item) and not isinstance(item, httpx.Response):
            return item(request)
        return item

    @property
    def bodies(self) -> list[dict]:
        return [json.loads(r.content) for r in self.requests]


def make(script: Script, clock: FakeClock, **kw: Any) -> ShopifyGraphQL:
    return ShopifyGraphQL(
        URL,
        TOKEN,
        http=httpx.Client(transport=httpx.MockTransport(script)),
        sleep=clock.sleep,
        monotonic=clock.monotonic,
        rng=random.Random(7),
        **kw,
    )


@pytest.fixture
def clock() -> FakeClock:  # shadows the project-wide wall clock: this one also sleeps
    return FakeClock()


def test_sends_the_token_the_document_and_the_variables(clock):
    script = Script(ok())
    data = make(script, clock).execute(OTHER, {"id": "gid://shopify/Customer/1"})
    assert data == {"shop": {"name": "Acme"}}
    request = script.requests[0]
    assert request.headers["X-Shopify-Access-Token"] == TOKEN
    assert request.headers["Content-Type"] == "application/json"
    assert script.bodies[0] == {"query": OTHER, "variables": {"id": "gid://shopify/Customer/1"}, "operationName": "CustomerById"}
    assert TOKEN not in repr(make(script, clock))


def test_retries_a_500_then_succeeds(clock):
    script = Script(httpx.Response(500, text="oops"), httpx.Response(502), ok())
    assert make(script, clock).execute(QUERY) == {"shop": {"name": "Acme"}}
    assert len(script.requests) == 3
    assert len(clock.sleeps) == 2
    # exponential backoff with jitter: attempt n waits within [cap/2, cap], cap = 0.5 * 2**(n-1)
    assert 0.25 <= clock.sleeps[0] <= 0.5
    assert 0.5 <= clock.sleeps[1] <= 1.0


def test_gives_up_after_max_attempts(clock):
    script = Script(httpx.Response(503))
    with pytest.raises(IntegrationError) as info:
        make(script, clock, max_attempts=4).execute(QUERY)
    assert info.value.retryable is True
    assert info.value.system == "shopify"
    assert "4 attempt" in str(info.value)
    assert len(script.requests) == 4
    assert len(clock.sleeps) == 3


@pytest.mark.parametrize("status", [401, 403])
def test_rejected_token_is_not_retried(clock, status):
    script = Script(httpx.Response(status, json={"errors": "[API] Invalid API key or access token"}))
    with pytest.raises(IntegrationError, match="Shopify rejected the access token") as info:
        make(script, clock).execute(QUERY)
    assert info.value.retryable is False
    assert len(script.requests) == 1
    assert clock.sleeps == []


def test_transport_errors_and_timeouts_are_retried_for_queries(clock):
    script = Script(httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), ok())
    assert make(script, clock).execute(QUERY)
    assert len(script.requests) == 3


def test_ambiguous_failures_of_a_mutation_are_not_retried_here(clock):
    for failure in (httpx.Response(500), httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("dropped")):
        script = Script(failure, ok({"returnApproveRequest": {"userErrors": []}}))
        with pytest.raises(IntegrationError) as info:
            make(script, clock).execute(MUTATION, {"input": {"id": "gid://shopify/Return/1"}})
        assert info.value.retryable is True  # the caller's action re-reads, then retries
        assert "may have been applied" in str(info.value)
        assert len(script.requests) == 1


def test_a_mutation_that_never_reached_shopify_is_retried(clock):
    script = Script(httpx.ConnectError("refused"), ok({"returnApproveRequest": {"userErrors": []}}))
    assert make(script, clock).execute(MUTATION, {"input": {"id": "gid://shopify/Return/1"}})
    assert len(script.requests) == 2


@pytest.mark.parametrize("status,with_code", [(200, True), (200, False), (429, True), (429, False)])
def test_throttled_waits_until_the_bucket_holds_the_cost(clock, status, with_code):
    script = Script(throttled(status=status, with_code=with_code, requested=252, available=100, rate=50), ok())
    assert make(script, clock).execute(QUERY) == {"shop": {"name": "Acme"}}
    assert len(script.requests) == 2
    assert clock.sleeps[0] == pytest.approx((252 - 100) / 50)  # 3.04 s
    assert sum(clock.sleeps) == pytest.approx(3.04, abs=0.01)  # no second wait before the retry


def test_429_honours_retry_after(clock):
    script = Script(httpx.Response(429, headers={"Retry-After": "7"}, text="Too Many Requests"), ok())
    make(script, clock).execute(QUERY)
    assert clock.sleeps == [7.0]


def test_429_takes_the_longer_of_retry_after_and_the_bucket(clock):
    script = Script(throttled(status=429, requested=500, available=0, rate=50, headers={"Retry-After": "2"}), ok())
    make(script, clock).execute(QUERY)
    assert clock.sleeps[0] == pytest.approx(10.0)


# --- the wait cap: a job's lease is about 30 s, one call waits at most max_wait (20 s) ---------


def test_throttled_for_longer_than_the_cap_raises_with_retry_after(clock):
    script = Script(throttled(requested=1000, available=0, rate=40), ok())  # 25 s to refill
    with pytest.raises(IntegrationError) as info:
        make(script, clock).execute(QUERY)
    assert info.value.retryable is True and info.value.system == "shopify"
    assert info.value.retry_after == pytest.approx(25.0)
    assert clock.sleeps == []
    assert len(script.requests) == 1


def test_throttle_waits_add_up_to_at_most_the_cap(clock):
    script = Script(*[throttled(requested=500, available=100, rate=50)] * 4, ok())  # 8 s each
    with pytest.raises(IntegrationError) as info:
        make(script, clock).execute(QUERY)
    assert clock.sleeps == [pytest.approx(8.0), pytest.approx(8.0)]  # a third would make 24 s
    assert info.value.retry_after == pytest.approx(8.0)
    assert len(script.requests) == 3


def test_a_long_retry_after_is_handed_back(clock):
    script = Script(httpx.Response(429, headers={"Retry-After": "120"}, text="Too Many Requests"), ok())
    with pytest.raises(IntegrationError) as info:
        make(script, clock).execute(MUTATION, {"input": {"id": "gid://shopify/Return/1"}})
    assert info.value.retryable is True and info.value.retry_after == 120.0
    assert clock.sleeps == []


def test_server_error_backoff_stops_at_the_cap(clock):
    script = Script(httpx.Response(503))
    with pytest.raises(IntegrationError) as info:
        make(script, clock, max_attempts=10, backoff_base=4.0, backoff_cap=16.0, max_wait=10.0).execute(QUERY)
    assert sum(clock.sleeps) <= 10.0
    assert len(script.requests) == len(clock.sleeps) + 1 < 10
    assert info.value.retryable is True
    assert sum(clock.sleeps) + info.value.retry_after > 10.0
    assert "503" in str(info.value)


def test_pacing_longer_than_the_cap_sends_nothing_and_reserves_nothing(clock):
    script = Script(ok(requested=1000, available=0, rate=10))
    client = make(script, clock)
    client.execute(QUERY)  # learns: costs 1000, the bucket is empty and refills 10/s
    with pytest.raises(IntegrationError) as info:
        client.execute(QUERY)
    assert info.value.retryable is True and info.value.retry_after == pytest.approx(100.0)
    assert len(script.requests) == 1 and clock.sleeps == []
    assert client.bucket.available == 0  # the points were not spent on a request never sent


def test_max_wait_must_not_be_negative(clock):
    with pytest.raises(ValueError, match="max_wait"):
        make(Script(ok()), clock, max_wait=-1)


def test_integration_error_keeps_its_old_shape():
    error = IntegrationError("boom", retryable=False, system="shopify")
    assert (str(error), error.retryable, error.system, error.retry_after) == ("boom", False, "shopify", None)
    assert IntegrationError("later", retry_after=3.5).retry_after == 3.5


def test_slows_down_before_being_throttled(clock):
    # The first response says the document costs 300 and leaves 100 in a bucket restoring 50/s.
    script = Script(ok(requested=300, available=100, rate=50), ok(requested=300, available=100, rate=50))
    client = make(script, clock)
    client.execute(QUERY)
    assert clock.sleeps == []
    client.execute(QUERY)
    assert clock.sleeps == [pytest.approx(4.0)]  # (300 - 100) / 50
    assert len(script.requests) == 2


def test_pacing_counts_what_was_restored_since_the_last_response(clock):
    script = Script(ok(requested=300, available=100, rate=50))
    client = make(script, clock)
    client.execute(QUERY)
    clock.advance(3.0)  # 100 + 150 restored = 250 < 300
    client.execute(QUERY)
    assert clock.sleeps == [pytest.approx(1.0)]
    clock.advance(60.0)  # full again
    client.execute(QUERY)
    assert clock.sleeps == [pytest.approx(1.0)]


def test_pacing_only_applies_to_documents_with_a_known_cost(clock):
    script = Script(ok(requested=300, available=100, rate=50))
    client = make(script, clock)
    client.execute(QUERY)
    client.execute(OTHER, {"id": "gid://shopify/Customer/1"})  # cost unknown yet: sent at once
    assert clock.sleeps == []
    assert client.last_cost(QUERY) == 300
    assert client.bucket.available == 100


def test_pacing_is_thread_safe_and_reserves_points(clock):
    barrier = threading.Barrier(4, timeout=5)

    def held(request: httpx.Request) -> httpx.Response:
        barrier.wait()  # no response (and so no fresh bucket) until all four were sent
        return ok(requested=100, available=100, rate=50)

    script = Script(ok(requested=100, available=100, rate=50), held)
    client = make(script, clock)
    client.execute(QUERY)  # learns the cost: 100 of a bucket holding 100
    threads = [threading.Thread(target=client.execute, args=(QUERY,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(script.requests) == 5
    # The first thread spends the 100 points; each of the others waits for its own 100.
    assert sorted(clock.sleeps) == [pytest.approx(2.0)] * 3


def test_graphql_errors_raise_without_retry(clock):
    body = {"errors": [{"message": "Field 'requestedAt' doesn't exist on type 'Return'", "extensions": {"code": "undefinedField"}}]}
    script = Script(httpx.Response(200, json=body))
    with pytest.raises(IntegrationError, match="requestedAt") as info:
        make(script, clock).execute(QUERY)
    assert info.value.retryable is False
    assert len(script.requests) == 1


def test_internal_errors_are_retryable(clock):
    body = {"errors": [{"message": "Internal error. Looks like something went wrong on our end.", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]}
    script = Script(httpx.Response(200, json=body), ok())
    assert make(script, clock).execute(QUERY)
    assert len(script.requests) == 2


def test_field_errors_with_partial_data_still_raise(clock):
    body = {
        "data": {"order": None},
        "errors": [{"message": "Access denied for disputes field.", "path": ["order", "disputes"], "extensions": {"code": "ACCESS_DENIED"}}],
    }
    with pytest.raises(IntegrationError, match=r"order\.disputes.*ACCESS_DENIED") as info:
        make(Script(httpx.Response(200, json=body)), clock).execute(QUERY)
    assert info.value.retryable is False


def test_a_null_node_is_returned_as_data(clock):
    script = Script(ok({"order": None}))
    assert make(script, clock).execute(QUERY) == {"order": None}


def test_non_json_success_is_retryable(clock):
    script = Script(httpx.Response(200, text="<html>maintenance</html>"), ok())
    assert make(script, clock).execute(QUERY)
    assert len(script.requests) == 2


def test_token_never_appears_in_errors_or_logs(clock, caplog):
    caplog.set_level(logging.DEBUG)
    echo = {"errors": [{"message": f"Invalid token {TOKEN} for shop"}]}
    cases = [
        Script(httpx.Response(401, json={"errors": "[API] Invalid API key or access token"})),
        Script(httpx.Response(500)),
        Script(httpx.Response(400, text=f"bad request from {TOKEN}")),
        Script(httpx.Response(200, json=echo)),
        Script(httpx.ConnectError(f"could not reach with {TOKEN}")),
        Script(throttled()),
    ]
    for script in cases:
        with pytest.raises(IntegrationError) as info:
            make(script, clock, max_attempts=2).execute(QUERY)
        assert TOKEN not in str(info.value)
        assert TOKEN not in repr(info.value)
        assert info.value.__cause__ is None or TOKEN not in str(info.value.__cause__)
    assert TOKEN not in caplog.text
    assert caplog.records  # retries were logged — without the token


def test_rejects_an_empty_token():
    with pytest.raises(ValueError):
        ShopifyGraphQL(URL, "")
