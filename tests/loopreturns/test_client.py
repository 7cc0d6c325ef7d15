"""LoopAPI: the bare X-Authorization key, every body inspected (four error shapes, on any
status, 200 included), our refusal codes, 429/5xx retryable (GETs retried within the wait
budget, POSTs never), the token bucket on a fake clock, and the nextPageUrl host guard."""

from __future__ import annotations

import json

import httpx
import pytest

from integrations.loop import client as lc
from integrations.loop.client import LoopAPI, LoopRefused, TokenBucket
from policy.ports import IntegrationError

BASE = "https://api.loopreturns.com/api/v1"
KEY = "loop_secret_key_98765"


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += seconds


def api_answering(*answers, clock: Clock | None = None, **kw):
    """A LoopAPI whose requests get `answers` in turn: (status, body[, headers])."""
    seen: list[httpx.Request] = []
    queue = list(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        status, body, *headers = queue.pop(0)
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        return httpx.Response(status, content=content, headers=(headers[0] if headers else {}))

    clock = clock or Clock()
    api = LoopAPI(KEY, BASE, http=httpx.Client(transport=httpx.MockTransport(handler)), sleep=clock.sleep,
                  monotonic=clock, **kw)
    return api, seen


def test_the_key_goes_bare_in_x_authorization_and_success_is_true():
    api, seen = api_answering((200, True), (200, "true"))
    assert api.process(1673) is True and api.flag("1673") is True
    assert seen[0].headers["X-Authorization"] == KEY and "Authorization" not in seen[0].headers
    assert [r.url.path for r in seen] == ["/api/v1/warehouse/return/1673/process", "/api/v1/warehouse/return/1673/flag"]
    assert KEY not in repr(api)


@pytest.mark.parametrize("status, body, code, message", [
    (200, {"errors": {"message": "Return is closed and therefore cannot be processed.", "code": "UNPROCESSABLE_RETURN"}},
     lc.CLOSED, "Return is closed and therefore cannot be processed."),
    (200, {"message": "Return is cancelled and therefore cannot be processed."}, lc.CANCELLED,
     "Return is cancelled and therefore cannot be processed."),
    (200, {"message": "Return is review and therefore cannot be processed."}, lc.IN_REVIEW,
     "Return is review and therefore cannot be processed."),
    (200, {"content": "Return is flagged and cannot be processed."}, lc.FLAGGED, "Return is flagged and cannot be processed."),
    (200, {"content": "Return is expired and cannot be processed."}, lc.EXPIRED, "Return is expired and cannot be processed."),
    (422, {"errors": {"message": "Return is flagged", "code": "UNPROCESSABLE_FLAGGED_RETURN"}}, lc.FLAGGED,
     "Return is flagged"),
    (422, {"error": {"message": "The line item id field is required."}}, lc.INVALID, "The line item id field is required."),
    (401, {"error": {"code": "401", "http_code": "GEN-UNAUTHORIZED", "message": "Unauthorized."}}, lc.UNAUTHORIZED,
     "Unauthorized."),
    (404, {"errors": {"message": "Return not found.", "code": "NOT_FOUND"}}, lc.NOT_FOUND, "Return not found."),
    (422, {"message": "The date range may not be greater than 120 days.", "errors": {"to": ["…"]}}, lc.INVALID,
     "The date range may not be greater than 120 days."),
    (200, "false", lc.INVALID, "Loop answered false"),
])
def test_each_error_shape_on_any_status_is_a_refusal_in_our_terms(status, body, code, message):
    api, _ = api_answering((status, body))
    with pytest.raises(LoopRefused) as err:
        api.process(1673)
    assert (err.value.code, err.value.loop_message, err.value.status) == (code, message, status)
    assert err.value.retryable is False and KEY not in str(err.value)


def test_an_unexpected_success_body_is_not_taken_for_true():
    api, _ = api_answering((200, {"ok": 1}))
    with pytest.raises(LoopRefused, match="unexpected answer"):
        api.cancel(1)


def test_a_return_body_is_an_answer_not_an_error():
    api, seen = api_answering((200, {"id": 1673, "state": "open", "message": "extra field Loop added"}))
    assert api.details(1673)["state"] == "open"
    assert dict(seen[0].url.params) == {"return_id": "1673", "currency_type": "shop"}


def test_notes_none_is_an_empty_list_and_a_note_posts_content():
    api, seen = api_answering((422, "false"), (200, True), (200, {"notes": [{"id": 1, "content": "hi"}]}))
    assert api.notes(7) == []
    assert api.note(7, "Approved in Slack by Alice") is True
    assert json.loads(seen[1].content) == {"content": "Approved in Slack by Alice"}
    assert api.notes(7) == [{"id": 1, "content": "hi"}]


def test_a_get_is_retried_on_429_with_its_retry_after_and_on_5xx():
    clock = Clock()
    api, seen = api_answering((429, {"message": "Too Many Attempts."}, {"Retry-After": "3"}),
                              (503, {"message": "down"}), (200, {"id": 1, "state": "open"}), clock=clock)
    assert api.details(1)["id"] == 1
    assert len(seen) == 3 and clock.slept == [3.0, 1.0]


def test_a_post_is_never_retried_and_429_or_500_is_retryable_with_retry_after():
    api, seen = api_answering((429, {"message": "Too Many Attempts."}, {"Retry-After": "7"}))
    with pytest.raises(IntegrationError) as err:
        api.process(1)
    assert err.value.retryable and err.value.retry_after == 7.0 and not isinstance(err.value, LoopRefused)
    api, seen = api_answering((500, {"message": "An error was encountered during processing."}))
    with pytest.raises(IntegrationError) as err:
        api.close(1)
    assert err.value.retryable and len(seen) == 1


def test_a_429_without_retry_after_still_says_when():
    api, _ = api_answering((429, {}), max_attempts=1)
    with pytest.raises(IntegrationError) as err:
        api.details(1)
    assert err.value.retryable and err.value.retry_after == lc.DEFAULT_429_WAIT


def test_a_wait_over_the_cap_is_not_slept():
    clock = Clock()
    api, seen = api_answering((429, {}, {"Retry-After": "600"}), clock=clock)
    with pytest.raises(IntegrationError) as err:
        api.details(1)
    assert err.value.retry_after == 600 and clock.slept == [] and len(seen) == 1


def test_the_bucket_allows_no_more_than_300_in_any_minute():
    clock = Clock()
    bucket = TokenBucket(monotonic=clock)
    sent = []
    for _ in range(700):
        wait = bucket.take()
        clock.t += wait
        sent.append(clock.t)
    for i, t in enumerate(sent):  # every 60-second window from each request
        assert sum(1 for u in sent[i:] if u < t + 60) <= 300
    assert sent[-1] - sent[0] < 160  # and it is not slower than it must be


def test_pacing_sleeps_within_the_budget_then_refuses_to_wait_longer():
    clock = Clock()
    answers = [(200, {"id": 1, "state": "open"})] * 40
    api, seen = api_answering(*answers, clock=clock, max_wait=1.0)
    for _ in range(lc.BURST):
        api.details(1)
    assert clock.slept == []  # the burst goes at once
    api.details(1)
    assert clock.slept == [pytest.approx(1 / 4.5)]
    api.bucket._tokens = -10  # far behind: the wait is over the budget
    with pytest.raises(IntegrationError) as err:
        api.details(1)
    assert err.value.retryable and err.value.retry_after > 1.0 and len(seen) == lc.BURST + 1


@pytest.mark.parametrize("url", ["https://evil.example.com/api/v1/warehouse/return/list?cursor=x",
                                 "http://api.loopreturns.com/api/v1/warehouse/return/list",
                                 "https://api.loopreturns.com:8443/api/v1/x", "//evil.example.com/x"])
def test_next_page_urls_off_the_bases_origin_are_not_followed(url):
    api, seen = api_answering((200, []))
    with pytest.raises(IntegrationError, match="another host"):
        api.get_url(url)
    assert seen == []


def test_a_next_page_url_on_the_origin_is_followed_as_it_is():
    api, seen = api_answering((200, {"returns": [], "nextPageUrl": None}))
    api.get_url(BASE + "/warehouse/return/list?paginate=true&cursor=eyJvZmZzZXQiOjJ9")
    assert seen[0].url.params["cursor"] == "eyJvZmZzZXQiOjJ9" and seen[0].headers["X-Authorization"] == KEY


def test_return_ids_must_be_numbers():
    api, seen = api_answering()
    with pytest.raises(ValueError):
        api.process("1/../../webhooks")
    assert seen == []
