"""The one path for outbound Slack Web API calls.

Everything the bot says to Slack goes through `SlackGateway`, which adds what a bare
`WebClient` does not:

* **429** — wait the `Retry-After` seconds Slack asked for, then send again. The wait is
  shared: while a method is rate limited, every caller of that method waits too, instead
  of each one collecting its own 429.
* **5xx and connection errors** — exponential backoff with jitter, up to `max_attempts`
  attempts, then `SlackUnavailable` (the caller — the outbox — keeps its row and retries
  later, so nothing is lost).
* **At most `max_wait` seconds of waiting per call** (20 s by default; Retry-After,
  backoff and pacing together). A job's lease is about 30 s: a call must never sleep
  through it. A wait that would go over what is left is not slept: `SlackRateLimited`
  (for a 429 window or pacing) or `SlackUnavailable` (for backoff) goes back to the
  caller with `retry_after`, the seconds after which trying again makes sense, so it can
  reschedule instead of parking a worker.
* **`ok: false`** (channel_not_found, not_in_channel, invalid_blocks, …) — `SlackError`
  with the error code, never retried: sending the same thing again gets the same answer.
* **Pacing** — `chat.postMessage` / `chat.update` to one channel start at least
  `min_interval_per_channel` seconds apart (Slack allows about one message per second
  per channel); different channels never wait for each other. Thread-safe: a slot is
  reserved under a lock and the sleep happens outside it.
* **Trigger ids** — `open_view` / `push_view` make exactly one attempt: a trigger id
  expires three seconds after the click, so a retry could only fail later.

One caveat no client can remove: a 5xx or a read timeout on `chat.postMessage` may come
after Slack posted the message (the method has no idempotency key), so the retry can,
rarely, post a card twice. Callers that must be exact can pass `metadata` (e.g. the case
id) and reconcile from the channel history.

The token never reaches a log line or an exception: errors carry the method, the error
code and the response body, not slack_sdk's request (whose headers hold the token).

`sleep` and `monotonic` are injectable so tests run without real waiting.
"""

from __future__ import annotations

import copy
import http.client
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

log = logging.getLogger(__name__)

#: `ok: false` codes that mean "Slack could not do it right now" — nothing was done,
#: so sending again is safe (unlike `internal_error`/`fatal_error`, which may have half-run).
TRANSIENT_ERROR_CODES = frozenset({"service_unavailable"})

#: Methods paced per channel (about one message per second per channel).
PACED_METHODS = frozenset({"chat.postMessage", "chat.update"})

_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    URLError,  # urlopen's wrapper for refused / DNS / TLS failures
    ConnectionError,  # reset, refused, aborted; RemoteDisconnected is one too
    TimeoutError,  # socket.timeout
    http.client.HTTPException,  # IncompleteRead, BadStatusLine, …
)


class SlackGatewayError(Exception):
    """Base class of the gateway's errors."""


class SlackError(SlackGatewayError):
    """Slack answered `ok: false` (or a non-retryable HTTP status). Not retried.

    `error` is Slack's error code (`channel_not_found`, `not_in_channel`, `invalid_blocks`,
    `expired_trigger_id`, …); `method` the Web API method; `response` the response body.
    """

    def __init__(
        self,
        error: str,
        *,
        method: str = "",
        status: int | None = None,
        response: Mapping[str, Any] | None = None,
    ) -> None:
        self.error = error
        self.method = method
        self.status = status
        self.response: dict[str, Any] = dict(response or {})
        super().__init__(f"{method}: {error}" if method else error)

    @property
    def needed(self) -> str | None:
        """For `missing_scope`: the scope Slack says is needed."""
        return self.response.get("needed")


class SlackUnavailable(SlackGatewayError):
    """Slack could not be reached or kept failing (5xx, connection errors, rate limits
    beyond what we are willing to wait). Safe to retry later: `retry_after`, when set, is
    how many seconds from now that makes sense (a Retry-After, or the backoff not slept)."""

    def __init__(
        self,
        method: str,
        *,
        attempts: int,
        status: int | None = None,
        reason: str = "",
        retry_after: float | None = None,
    ) -> None:
        self.method = method
        self.attempts = attempts
        self.status = status
        self.reason = reason
        self.retry_after = retry_after
        detail = f"HTTP {status}" if status else reason or "unavailable"
        super().__init__(f"{method}: Slack unavailable after {attempts} attempt(s) ({detail})")


class SlackRateLimited(SlackUnavailable):
    """Still rate limited (by Slack, or by our own per-channel pacing) after the waits we
    allow; `retry_after` says when to come back."""


class SlackGateway:
    """See the module docstring. All methods are safe to call from many threads."""

    def __init__(
        self,
        client: WebClient,
        *,
        min_interval_per_channel: float = 1.0,
        max_attempts: int = 6,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        max_wait: float = 20.0,
        max_rate_limited_retries: int = 20,
        user_groups_ttl: float = 60.0,
        rng: random.Random | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if max_wait < 0:
            raise ValueError("max_wait must not be negative")
        # The gateway owns retries. slack_sdk's WebClient retries connection errors once
        # by default, sleeping with time.sleep where we cannot see or inject it; use a copy
        # without its handlers so the caller's client is left as it was.
        if isinstance(client, WebClient) and client.retry_handlers:
            client = copy.copy(client)
            client.retry_handlers = []
        self._client = client
        self._min_interval = float(min_interval_per_channel)
        self._max_attempts = max_attempts
        self._sleep = sleep
        self._monotonic = monotonic
        self._backoff_base = backoff_base
        self._backoff_max = backoff_max
        self._max_wait = float(max_wait)
        self._max_rate_limited_retries = max_rate_limited_retries
        self._user_groups_ttl = user_groups_ttl
        self._rng = rng or random.Random()

        self._lock = threading.Lock()
        self._channel_next: dict[str, float] = {}  # channel -> earliest start of next paced call
        self._method_blocked_until: dict[str, float] = {}  # method -> end of its 429 window
        self._group_cache: dict[str, tuple[float, frozenset[str]]] = {}

    # ------------------------------------------------------------------ messages

    def post_message(
        self,
        channel: str,
        *,
        blocks: Sequence[Any] | None,
        text: str,
        thread_ts: str | None = None,
        unfurl_links: bool = False,
        unfurl_media: bool = False,
        metadata: Mapping[str, Any] | None = None,
    ) -> str:
        """chat.postMessage; returns the message ts (the card's address with the channel)."""
        kwargs: dict[str, Any] = {
            "channel": channel,
            "text": text,
            "unfurl_links": unfurl_links,
            "unfurl_media": unfurl_media,
        }
        if blocks is not None:
            kwargs["blocks"] = blocks
        if thread_ts is not None:
            kwargs["thread_ts"] = thread_ts
        if metadata is not None:
            kwargs["metadata"] = metadata
        resp = self._call("chat.postMessage", self._client.chat_postMessage, kwargs, channel=channel)
        return str(resp["ts"])

    def post_message_at(self, channel: str, *, blocks: Sequence[Any] | None, text: str) -> tuple[str, str]:
        """chat.postMessage answering (channel id, ts): posted to a user id, the message is in
        the DM with the bot, whose id (D…) is what chat.update needs later."""
        kwargs: dict[str, Any] = {"channel": channel, "text": text, "unfurl_links": False, "unfurl_media": False}
        if blocks is not None:
            kwargs["blocks"] = blocks
        resp = self._call("chat.postMessage", self._client.chat_postMessage, kwargs, channel=channel)
        return str(resp.get("channel") or channel), str(resp["ts"])

    def update_message(
        self,
        channel: str,
        ts: str,
        *,
        blocks: Sequence[Any] | None,
        text: str,
    ) -> None:
        """chat.update — re-render a card in place."""
        kwargs: dict[str, Any] = {"channel": channel, "ts": ts, "text": text}
        # An empty list clears the blocks (Slack then shows `text`); None leaves them out.
        if blocks is not None:
            kwargs["blocks"] = blocks
        self._call("chat.update", self._client.chat_update, kwargs, channel=channel)

    def post_ephemeral(
        self,
        channel: str,
        user: str,
        *,
        text: str,
        blocks: Sequence[Any] | None = None,
        thread_ts: str | None = None,
    ) -> str:
        """chat.postEphemeral (not paced: it answers a click); returns `message_ts`."""
        kwargs: dict[str, Any] = {"channel": channel, "user": user, "text": text}
        if blocks is not None:
            kwargs["blocks"] = blocks
        if thread_ts is not None:
            kwargs["thread_ts"] = thread_ts
        resp = self._call("chat.postEphemeral", self._client.chat_postEphemeral, kwargs)
        return str(resp.get("message_ts", ""))

    def get_permalink(self, channel: str, message_ts: str) -> str:
        resp = self._call(
            "chat.getPermalink",
            self._client.chat_getPermalink,
            {"channel": channel, "message_ts": message_ts},
        )
        return str(resp["permalink"])

    def thread_replies(self, channel: str, ts: str, *, limit: int = 200) -> list[dict[str, Any]]:
        """conversations.replies: the parent message then its replies, oldest first
        (every page; needs channels:history / groups:history)."""
        messages: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            kwargs: dict[str, Any] = {"channel": channel, "ts": ts, "limit": limit}
            if cursor:
                kwargs["cursor"] = cursor
            resp = self._call("conversations.replies", self._client.conversations_replies, kwargs)
            messages.extend(resp.get("messages") or [])
            cursor = (resp.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor or not resp.get("has_more", True):
                return messages

    # ------------------------------------------------------------------ views

    def open_view(self, trigger_id: str, view: Any) -> dict[str, Any]:
        """views.open — ONE attempt, no pacing, no waiting: the trigger id dies 3 s after
        the click. A 429/5xx raises `SlackUnavailable` at once; `expired_trigger_id` etc.
        raise `SlackError`."""
        resp = self._call(
            "views.open", self._client.views_open, {"trigger_id": trigger_id, "view": view}, retry=False
        )
        return dict(resp.get("view") or {})

    def push_view(self, trigger_id: str, view: Any) -> dict[str, Any]:
        """views.push — like open_view, one attempt (also trigger-bound; at most 2 pushes)."""
        resp = self._call(
            "views.push", self._client.views_push, {"trigger_id": trigger_id, "view": view}, retry=False
        )
        return dict(resp.get("view") or {})

    def update_view(self, view_id: str, view: Any, *, hash: str | None = None) -> dict[str, Any]:
        """views.update — retried (no trigger id); pass `hash` to refuse stale updates."""
        kwargs: dict[str, Any] = {"view_id": view_id, "view": view}
        if hash is not None:
            kwargs["hash"] = hash
        resp = self._call("views.update", self._client.views_update, kwargs)
        return dict(resp.get("view") or {})

    def publish_home(self, user_id: str, view: Any) -> dict[str, Any]:
        """views.publish — the user's App Home tab."""
        resp = self._call(
            "views.publish", self._client.views_publish, {"user_id": user_id, "view": view}
        )
        return dict(resp.get("view") or {})

    # ------------------------------------------------------------------ files

    def file_info(self, file_id: str) -> dict[str, Any]:
        """files.info: a file's name, size and private download URL (needs files:read)."""
        resp = self._call("files.info", self._client.files_info, {"file": file_id})
        return dict(resp.get("file") or {})

    def files_shared(self, channel: str, user: str, *, count: int = 20) -> list[dict[str, Any]]:
        """files.list: the newest files `user` shared in `channel`, newest first (files:read)."""
        resp = self._call("files.list", self._client.files_list, {"channel": channel, "user": user, "count": count})
        return list(resp.get("files") or [])

    def download(self, url: str, *, max_bytes: int) -> bytes:
        """A file's content from its `url_private(_download)`, with the bot token. Only
        Slack's file host (or the Web API's own origin: a local fake in tests) ever gets
        the token; refused past `max_bytes` (SlackError `file_too_large`)."""
        from urllib.parse import urlsplit

        import httpx

        api = urlsplit(self._client.base_url)
        allowed = ("https://files.slack.com/", f"{api.scheme}://{api.netloc}/")
        if not url.startswith(allowed):
            raise SlackError("not_a_slack_file", method="files.download")
        headers = {"Authorization": f"Bearer {self._client.token}"}
        try:
            with httpx.stream("GET", url, headers=headers, timeout=10.0, follow_redirects=False) as resp:
                if resp.status_code != 200:
                    raise SlackError(f"http_{resp.status_code}", method="files.download", status=resp.status_code)
                body = b""
                for chunk in resp.iter_bytes():
                    body += chunk
                    if len(body) > max_bytes:
                        raise SlackError("file_too_large", method="files.download")
                return body
        except httpx.HTTPError as exc:
            raise SlackUnavailable("files.download", attempts=1, reason=type(exc).__name__) from None

    # ------------------------------------------------------------------ people

    def user_groups_members(self, group_id: str) -> set[str]:
        """Members of a user group (usergroups.users.list), cached for `user_groups_ttl`
        seconds. Returns a fresh set each time (callers may mutate it)."""
        now = self._monotonic()
        with self._lock:
            hit = self._group_cache.get(group_id)
        if hit is not None and now - hit[0] < self._user_groups_ttl:
            return set(hit[1])
        resp = self._call(
            "usergroups.users.list", self._client.usergroups_users_list, {"usergroup": group_id}
        )
        members = frozenset(resp.get("users") or [])
        with self._lock:
            self._group_cache[group_id] = (self._monotonic(), members)
        return set(members)

    def email_of(self, user_id: str) -> tuple[str | None, str | None]:
        """(the user's email, or None and why not — for the card that names the fallback).
        users.info; the email needs the users:read and users:read.email scopes.
        An app installed before it asked for users:read gets `missing_scope`; one without
        users:read.email gets the profile without `email`."""
        try:
            resp = self._call("users.info", self._client.users_info, {"user": user_id})
        except SlackError as exc:
            log.info("slack.user_email_unavailable", extra={"user": user_id, "error": exc.error})
            if exc.error == "missing_scope":
                return None, f"the Slack app lacks the {exc.needed or 'users:read'} scope: reinstall it"
            return None, f"Slack refused users.info ({exc.error})"
        except SlackGatewayError as exc:
            log.info("slack.user_email_unavailable", extra={"user": user_id, "error": str(exc)[:200]})
            return None, "Slack did not answer users.info"
        email = ((resp.get("user") or {}).get("profile") or {}).get("email")
        if isinstance(email, str) and email.strip():
            return email.strip().lower(), None
        return None, "Slack gave no email for the approver (without users:read.email it never does)"

    def forget_user_groups(self, group_id: str | None = None) -> None:
        """Drop cached membership (one group, or all) — e.g. on a `subteam_members_changed` event."""
        with self._lock:
            if group_id is None:
                self._group_cache.clear()
            else:
                self._group_cache.pop(group_id, None)

    def auth_test(self) -> dict[str, Any]:
        """auth.test: who the token is (team_id, user_id of the bot, bot_id, url)."""
        return dict(self._call("auth.test", self._client.auth_test, {}).data)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ the loop

    def _call(
        self,
        method: str,
        fn: Callable[..., SlackResponse],
        kwargs: dict[str, Any],
        *,
        channel: str | None = None,
        retry: bool = True,
    ) -> SlackResponse:
        paced_channel = channel if method in PACED_METHODS else None
        attempts = 0  # attempts that count against max_attempts (5xx / connection errors)
        rate_limited = 0
        not_before = 0.0  # backoff: earliest start of the next attempt
        waited = 0.0  # seconds this call has slept so far (max_wait caps it)
        failure: tuple[int | None, str] = (None, "")  # the last failure's status and reason
        while True:
            slot = None
            if retry:
                try:
                    slot, delay = self._wait_turn(method, paced_channel, not_before, self._max_wait - waited)
                except _WaitTooLong as too_long:
                    tried = attempts + rate_limited
                    log.warning("slack.wait_capped method=%s channel=%s wait=%.1f waited=%.1f",
                                method, channel, too_long.delay, waited)
                    if too_long.cause == "backoff":
                        status, reason = failure
                        raise SlackUnavailable(method, attempts=tried, status=status, reason=reason,
                                               retry_after=too_long.delay) from None
                    status = 429 if too_long.cause == "rate_limited" else None  # else our own pacing
                    raise SlackRateLimited(method, attempts=tried, status=status, reason=too_long.cause,
                                           retry_after=too_long.delay) from None
                waited += delay
            attempts += 1
            try:
                return fn(**kwargs)
            except SlackApiError as exc:
                resp = exc.response
                status = int(getattr(resp, "status_code", 0) or 0)
                data = resp.data if isinstance(getattr(resp, "data", None), dict) else {}
                code = _error_code(data, status)
                headers = getattr(resp, "headers", None) or {}
            except _CONNECTION_ERRORS as exc:
                reason = type(exc).__name__
                failure = (None, reason)
                self._release(paced_channel, slot)
                log.warning("slack.connection_error method=%s attempt=%s reason=%s", method, attempts, reason)
                if not retry or attempts >= self._max_attempts:
                    raise SlackUnavailable(method, attempts=attempts, reason=reason) from None
                not_before = self._monotonic() + self._backoff(attempts)
                continue

            if status == 429 or status >= 500 or code in TRANSIENT_ERROR_CODES:
                self._release(paced_channel, slot)  # refused or failed: give the slot back

            if status == 429:
                retry_after = _retry_after_seconds(headers)
                rate_limited += 1
                attempts -= 1  # Slack refused before doing anything: a 429 costs no attempt
                log.warning(
                    "slack.rate_limited method=%s channel=%s retry_after=%s", method, channel, retry_after
                )
                # Remember the window even if we give up: other callers of this method
                # then wait it out instead of collecting their own 429s. Whether this call
                # may wait it out is `_wait_turn`'s to decide (max_wait).
                self._block_method(method, retry_after)
                if not retry or rate_limited > self._max_rate_limited_retries:
                    raise SlackRateLimited(
                        method, attempts=attempts + rate_limited, status=429, retry_after=retry_after
                    ) from None
                continue

            if status >= 500 or code in TRANSIENT_ERROR_CODES:
                failure = (status, code)
                log.warning(
                    "slack.server_error method=%s attempt=%s status=%s error=%s", method, attempts, status, code
                )
                if not retry or attempts >= self._max_attempts:
                    raise SlackUnavailable(method, attempts=attempts, status=status, reason=code) from None
                not_before = self._monotonic() + self._backoff(attempts)
                continue

            log.info("slack.error method=%s channel=%s error=%s", method, channel, code)
            raise SlackError(code, method=method, status=status, response=data) from None

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with "equal jitter": half the step fixed, half random, so
        waits grow (0.5, 1, 2, 4 … s by default, capped) and replicas do not stampede."""
        step = min(self._backoff_max, self._backoff_base * (2 ** (attempt - 1)))
        return step / 2 + self._rng.uniform(0, step / 2)

    def _block_method(self, method: str, seconds: float) -> None:
        until = self._monotonic() + seconds
        with self._lock:
            if until > self._method_blocked_until.get(method, 0.0):
                self._method_blocked_until[method] = until

    def _wait_turn(
        self, method: str, channel: str | None, not_before: float, allowed: float
    ) -> tuple[tuple[str, float, float | None] | None, float]:
        """Reserve this call's start time and sleep until it; return the reservation and
        the seconds slept. The reservation happens under the lock (so two threads never get
        the same slot); the sleep happens outside it. A wait longer than `allowed` reserves
        nothing and raises `_WaitTooLong`."""
        with self._lock:
            now = self._monotonic()
            blocked_until = self._method_blocked_until.get(method, 0.0)
            start = max(now, not_before, blocked_until)
            previous = self._channel_next.get(channel) if channel is not None else None
            paced_until = max(start, previous or 0.0)
            if paced_until - now > allowed:
                cause = ("rate_limited" if blocked_until >= max(not_before, previous or 0.0)
                         else "backoff" if not_before >= (previous or 0.0) else "paced")
                raise _WaitTooLong(paced_until - now, cause)
            start = paced_until
            slot = None
            if channel is not None:
                self._channel_next[channel] = start + self._min_interval
                slot = (channel, start + self._min_interval, previous)
                if len(self._channel_next) > 1024:  # forget channels whose slot has passed
                    for key in [k for k, t in self._channel_next.items() if t <= now and k != channel]:
                        del self._channel_next[key]
        delay = start - now
        if delay > 0:
            self._sleep(delay)
        return slot, max(delay, 0.0)

    def _release(self, channel: str | None, slot: tuple[str, float, float | None] | None) -> None:
        """Undo a channel reservation whose call posted nothing (429, 5xx, no connection),
        unless someone has reserved after it — then the spacing stays as it is."""
        if channel is None or slot is None:
            return
        _, reserved_until, previous = slot
        with self._lock:
            if self._channel_next.get(channel) == reserved_until:
                if previous is None:
                    del self._channel_next[channel]
                else:
                    self._channel_next[channel] = previous


class _WaitTooLong(Exception):
    """The next attempt could start only after more waiting than the call has left."""

    def __init__(self, delay: float, cause: str) -> None:
        super().__init__(f"{cause}: {delay:.1f} s")
        self.delay = delay
        self.cause = cause  # "rate_limited" (a 429 window), "backoff" or "paced"


def _error_code(data: Mapping[str, Any], status: int) -> str:
    """Slack's error code, or `http_<status>` when the body was not Slack JSON (an HTML 502
    from the edge becomes a long sentence in slack_sdk's synthetic `error`)."""
    code = data.get("error")
    if isinstance(code, str) and code and all(c.isalnum() or c in "_.:-" for c in code):
        return code
    return f"http_{status}" if status else "unknown_error"


def _retry_after_seconds(headers: Mapping[str, Any]) -> float:
    """Retry-After in seconds (Slack sends an integer); 1 s when absent or unreadable."""
    for key, value in headers.items():
        if str(key).lower() == "retry-after":
            if isinstance(value, (list, tuple)):
                value = value[0] if value else None
            try:
                return max(0.0, float(value))
            except (TypeError, ValueError):
                break
    return 1.0
