"""FakeSlack: a local stand-in for the Slack Web API, as a real HTTP server.

    with FakeSlack() as fake:
        client = WebClient(token=fake.token, base_url=fake.base_url)
        client.chat_postMessage(channel="C1", text="hi")
        [(method, params, headers)] = fake.calls

It listens on 127.0.0.1 on a random port (ThreadingHTTPServer in a daemon thread), so
the code under test talks HTTP exactly as it would to slack.com: slack_sdk's urllib
transport, JSON bodies for chat.* / views.* and form bodies for the rest, the bearer
token, status codes and headers.

* `calls` — every request received, in order, as `Call(method, params, headers)`; params
  merge the query string and the body (JSON or form). Form fields that carry JSON
  (`blocks`, `attachments`, `view`, `metadata`) are decoded, so assertions read the same
  whichever encoding the client chose. `calls_to("chat.update")` filters by method.
* State that behaves like Slack: posted messages (`messages(channel)`), updates replace
  the stored message, `conversations.replies` returns the thread (seed human replies with
  `add_reply`), views get ids, `usergroups.users.list` reads `user_groups`, `users.info`
  reads `users`.
* Scripted failures, consumed in order per method: `fail_next(method, status=429,
  retry_after=1, times=1)`, `fail_next(method, status=500)`, `error_next(method,
  "message_not_found")` (HTTP 200 with ok:false), `disconnect_next(method)` (the
  connection drops with no response).
* A wrong or missing token gets `invalid_auth` / `not_authed`, like Slack.
  `apps.connections.open` (Socket Mode) wants the app-level token `app_token` instead; the
  bot token there gets `not_allowed_token_type`.

Thread-safe: one lock guards all state; `wait_for(method, n)` blocks until n calls arrived
(for code that posts from a worker thread).
"""

from __future__ import annotations

import copy
import itertools
import json
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, NamedTuple
from urllib.parse import parse_qsl, urlsplit

DEFAULT_TOKEN = "xoxb-fake-0000-returnsbot"
APP_TOKEN = "xapp-1-A0RETURNS-0000-fake"
TEAM_ID = "T1"
TEAM_DOMAIN = "returnsbot-test"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
APP_ID = "A0RETURNS"

_JSON_FIELDS = ("blocks", "attachments", "view", "metadata")


class Call(NamedTuple):
    method: str
    params: dict[str, Any]
    headers: dict[str, str]


@dataclass
class _Scripted:
    status: int = 200
    body: dict[str, Any] | str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    disconnect: bool = False


class FakeSlack:
    def __init__(self, *, token: str = DEFAULT_TOKEN, team_id: str = TEAM_ID, app_token: str = APP_TOKEN) -> None:
        self.token = token
        self.app_token = app_token
        self.team_id = team_id
        #: usergroup id -> member user ids (usergroups.users.list)
        self.user_groups: dict[str, list[str]] = {}
        #: user id -> user object, or a partial one (users.info fills the usual fields)
        self.users: dict[str, dict[str, Any]] = {}
        self.calls: list[Call] = []
        #: (time.monotonic() when received, method, channel or None), one per call
        self.timeline: list[tuple[float, str, str | None]] = []
        self.ephemerals: list[dict[str, Any]] = []
        self.views: dict[str, dict[str, Any]] = {}
        self.home_views: dict[str, dict[str, Any]] = {}
        #: file id -> {"name", "content" (bytes), "user", "channel", "created"}: files.info,
        #: files.list, and the download at url_private_download (bot token required)
        self.files: dict[str, dict[str, Any]] = {}
        self.downloads: list[str] = []  # file ids downloaded, in order
        #: called with the method name after a call was handled, before its answer is sent
        #: (crash tests block here and kill the caller while it waits for the answer)
        self.before_reply: Callable[[str], None] | None = None

        self._lock = threading.RLock()
        self._arrived = threading.Condition(self._lock)
        self._script: dict[str, deque[_Scripted]] = defaultdict(deque)
        self._messages: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)  # channel -> ts -> msg
        self._ts = itertools.count(100)
        self._view_ids = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeSlack:
        fake = self

        class Handler(_Handler):
            owner = fake

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="FakeSlack", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """`WebClient(base_url=...)`: http://127.0.0.1:<port>/api/"""
        assert self._server is not None, "FakeSlack is not running (use `with FakeSlack() as fake:`)"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/api/"

    # ------------------------------------------------------------------ scripting

    def fail_next(
        self,
        method: str,
        *,
        status: int = 429,
        retry_after: int | None = 1,
        times: int = 1,
        body: dict[str, Any] | str | None = None,
    ) -> None:
        """The next `times` calls to `method` fail with an HTTP `status`. 429 carries
        `Retry-After` and Slack's `{"ok": false, "error": "ratelimited"}`; 5xx an HTML page,
        as Slack's edge sends."""
        headers: dict[str, str] = {}
        if status == 429:
            if retry_after is not None:
                headers["Retry-After"] = str(retry_after)
            default: dict[str, Any] | str = {"ok": False, "error": "ratelimited"}
        else:
            default = f"<html><body><h1>{status}</h1>Slack is having trouble.</body></html>"
        item = _Scripted(status=status, body=default if body is None else body, headers=headers)
        with self._lock:
            self._script[method].extend(copy.deepcopy(item) for _ in range(times))

    def error_next(self, method: str, error: str, *, times: int = 1, **extra: Any) -> None:
        """The next `times` calls answer HTTP 200 `{"ok": false, "error": error, **extra}`."""
        item = _Scripted(status=200, body={"ok": False, "error": error, **extra})
        with self._lock:
            self._script[method].extend(copy.deepcopy(item) for _ in range(times))

    def disconnect_next(self, method: str, *, times: int = 1) -> None:
        """The next `times` calls get no response at all: the connection is closed."""
        with self._lock:
            self._script[method].extend(_Scripted(disconnect=True) for _ in range(times))

    # ------------------------------------------------------------------ inspection

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """Messages the bot (and `add_reply`) put in `channel`, oldest first, as stored now
        (after any chat.update)."""
        with self._lock:
            return [copy.deepcopy(m) for _, m in sorted(self._messages[channel].items(), key=lambda kv: float(kv[0]))]

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        with self._lock:
            msg = self._messages[channel].get(ts)
            return copy.deepcopy(msg) if msg is not None else None

    def add_reply(self, channel: str, thread_ts: str, *, user: str, text: str) -> str:
        """Seed a human reply in a thread (what conversations.replies will return)."""
        with self._lock:
            ts = self._next_ts()
            self._messages[channel][ts] = {
                "type": "message", "user": user, "text": text, "ts": ts, "thread_ts": thread_ts,
                "team": self.team_id,
            }
            parent = self._messages[channel].get(thread_ts)
            if parent is not None:
                parent.setdefault("thread_ts", thread_ts)
                parent["reply_count"] = parent.get("reply_count", 0) + 1
            return ts

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Block until at least `count` calls to `method` arrived; returns them."""
        with self._arrived:
            ok = self._arrived.wait_for(lambda: len(self.calls_to(method)) >= count, timeout=timeout)
            calls = self.calls_to(method)
        if not ok:
            raise AssertionError(f"expected {count} call(s) to {method} within {timeout}s, got {len(calls)}")
        return calls

    def clear_failures(self, method: str | None = None) -> None:
        """Forget the scripted failures still waiting (for `method`, or all)."""
        with self._lock:
            if method is None:
                self._script.clear()
            else:
                self._script.pop(method, None)

    def reset(self) -> None:
        """Forget calls, messages, views and scripted failures (config stays)."""
        with self._lock:
            self.calls.clear()
            self.timeline.clear()
            self.ephemerals.clear()
            self.views.clear()
            self.home_views.clear()
            self._script.clear()
            self._messages.clear()

    # ------------------------------------------------------------------ dispatch

    def _handle(self, method: str, params: dict[str, Any], headers: dict[str, str]) -> _Scripted:
        with self._lock:
            self.calls.append(Call(method, params, headers))
            self.timeline.append((time.monotonic(), method, params.get("channel")))
            self._arrived.notify_all()
            if self._script[method]:
                return self._script[method].popleft()
            auth_error = self._check_auth(params, headers, method)
            if auth_error:
                return _Scripted(body={"ok": False, "error": auth_error})
            handler = getattr(self, "_api_" + method.replace(".", "_"), None)
            if handler is None:
                return _Scripted(body={"ok": False, "error": "unknown_method"})
            try:
                body = handler(params)
            except _ApiError as exc:
                body = {"ok": False, "error": exc.code, **exc.extra}
            return _Scripted(body=body)

    def _check_auth(self, params: dict[str, Any], headers: dict[str, str], method: str = "") -> str | None:
        auth = headers.get("authorization", "")
        token = auth[len("Bearer "):] if auth.startswith("Bearer ") else params.get("token")
        if not token:
            return "not_authed"
        if method == "apps.connections.open":
            if token == self.token:
                return "not_allowed_token_type"
            return None if token == self.app_token else "invalid_auth"
        if token != self.token:
            return "invalid_auth"
        return None

    def _next_ts(self) -> str:
        return f"1700000000.{next(self._ts):06d}"

    def _bot_message(self, params: dict[str, Any], ts: str) -> dict[str, Any]:
        msg: dict[str, Any] = {
            "type": "message",
            "text": params.get("text", ""),
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "team": self.team_id,
            "ts": ts,
            "bot_profile": {"id": BOT_ID, "app_id": APP_ID, "name": "returnsbot", "team_id": self.team_id},
        }
        if params.get("blocks") is not None:
            msg["blocks"] = params["blocks"]
        if params.get("thread_ts"):
            msg["thread_ts"] = params["thread_ts"]
        if params.get("metadata") is not None:
            msg["metadata"] = params["metadata"]
        return msg

    # ------------------------------------------------------------------ Web API methods

    def _api_auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": f"https://{TEAM_DOMAIN}.slack.com/",
            "team": "Returnsbot Test",
            "user": "returnsbot",
            "team_id": self.team_id,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _api_apps_connections_open(self, params: dict[str, Any]) -> dict[str, Any]:
        # Nothing listens there: a Socket Mode client given this URL fails to connect,
        # locally, instead of reaching for the internet.
        return {"ok": True, "url": "ws://127.0.0.1:9/link/?ticket=fake-ticket&app_id=" + APP_ID}

    def _api_chat_postMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = _require(params, "channel", "channel_not_found")
        _check_content(params)
        ts = self._next_ts()
        msg = self._bot_message(params, ts)
        self._messages[channel][ts] = msg
        thread_ts = params.get("thread_ts")
        if thread_ts and thread_ts in self._messages[channel]:
            parent = self._messages[channel][thread_ts]
            parent.setdefault("thread_ts", thread_ts)
            parent["reply_count"] = parent.get("reply_count", 0) + 1
        return {"ok": True, "channel": channel, "ts": ts, "message": copy.deepcopy(msg)}

    def _api_chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = _require(params, "channel", "channel_not_found")
        ts = _require(params, "ts", "message_not_found")
        msg = self._messages[channel].get(ts)
        if msg is None:
            raise _ApiError("message_not_found")
        if "text" not in params and "blocks" not in params:
            raise _ApiError("no_text")
        _check_content(params, require=False)
        if "text" in params:
            msg["text"] = params["text"]
        if "blocks" in params:
            if params["blocks"]:
                msg["blocks"] = params["blocks"]
            else:
                msg.pop("blocks", None)
        msg["edited"] = {"user": BOT_USER_ID, "ts": self._next_ts()}
        return {
            "ok": True, "channel": channel, "ts": ts, "text": msg["text"],
            "message": {k: v for k, v in copy.deepcopy(msg).items() if k != "edited"},
        }

    def _api_chat_postEphemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = _require(params, "channel", "channel_not_found")
        _require(params, "user", "user_not_in_channel")
        _check_content(params)
        ts = self._next_ts()
        self.ephemerals.append({**copy.deepcopy(params), "message_ts": ts})
        return {"ok": True, "message_ts": ts, "channel": channel}

    def _api_chat_getPermalink(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = _require(params, "channel", "channel_not_found")
        ts = _require(params, "message_ts", "message_not_found")
        return {
            "ok": True,
            "channel": channel,
            "permalink": f"https://{TEAM_DOMAIN}.slack.com/archives/{channel}/p{ts.replace('.', '')}",
        }

    def _api_conversations_replies(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = _require(params, "channel", "channel_not_found")
        ts = _require(params, "ts", "thread_not_found")
        msgs = self._messages[channel]
        if ts not in msgs:
            raise _ApiError("thread_not_found")
        thread = [msgs[ts]] + sorted(
            (m for k, m in msgs.items() if k != ts and m.get("thread_ts") == ts), key=lambda m: float(m["ts"])
        )
        return {
            "ok": True,
            "messages": copy.deepcopy(thread),
            "has_more": False,
            "response_metadata": {"next_cursor": ""},
        }

    def _view_response(self, view: Any, *, view_id: str | None = None, root_id: str | None = None,
                       previous_id: str | None = None) -> dict[str, Any]:
        if not isinstance(view, dict) or "type" not in view:
            raise _ApiError("invalid_arguments")
        view_id = view_id or f"V{next(self._view_ids):08d}"
        stored = {
            "id": view_id,
            "team_id": self.team_id,
            "type": view["type"],
            "blocks": view.get("blocks", []),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": f"1700000000.{view_id[-8:]}",
            "title": view.get("title"),
            "close": view.get("close"),
            "submit": view.get("submit"),
            "clear_on_close": view.get("clear_on_close", False),
            "notify_on_close": view.get("notify_on_close", False),
            "previous_view_id": previous_id,
            "root_view_id": root_id or view_id,
            "app_id": APP_ID,
            "external_id": view.get("external_id", ""),
            "app_installed_team_id": self.team_id,
            "bot_id": BOT_ID,
        }
        self.views[view_id] = stored
        return {"ok": True, "view": copy.deepcopy(stored)}

    def _api_views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("trigger_id"):
            raise _ApiError("invalid_arguments")
        return self._view_response(params.get("view"))

    def _api_views_push(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("trigger_id"):
            raise _ApiError("invalid_arguments")
        return self._view_response(params.get("view"))

    def _api_views_update(self, params: dict[str, Any]) -> dict[str, Any]:
        view_id = params.get("view_id")
        if not view_id and params.get("external_id"):
            view_id = next((k for k, v in self.views.items() if v["external_id"] == params["external_id"]), None)
        if not view_id or view_id not in self.views:
            raise _ApiError("not_found")
        old = self.views[view_id]
        if params.get("hash") and params["hash"] != old["hash"]:
            raise _ApiError("hash_conflict")
        return self._view_response(params.get("view"), view_id=view_id, root_id=old["root_view_id"],
                                   previous_id=old["previous_view_id"])

    def _api_views_publish(self, params: dict[str, Any]) -> dict[str, Any]:
        user_id = _require(params, "user_id", "invalid_arguments")
        view = params.get("view")
        if not isinstance(view, dict) or view.get("type") != "home":
            raise _ApiError("invalid_arguments")
        old = self.home_views.get(user_id)
        resp = self._view_response(view, view_id=old["id"] if old else None)
        self.home_views[user_id] = resp["view"]
        return resp

    def add_file(self, file_id: str, name: str, content: bytes, *, user: str, channel: str) -> None:
        with self._lock:
            self.files[file_id] = {"name": name, "content": content, "user": user, "channel": channel,
                                   "created": 1_700_000_000 + len(self.files)}

    def _file_object(self, file_id: str) -> dict[str, Any]:
        f = self.files[file_id]
        origin = self.base_url[: -len("/api/")]
        url = f"{origin}/files-pri/{file_id}/{f['name']}"
        return {"id": file_id, "name": f["name"], "size": len(f["content"]), "user": f["user"],
                "channels": [f["channel"]], "created": f["created"], "url_private": url,
                "url_private_download": url + "?download=1"}

    def _api_files_info(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = _require(params, "file", "file_not_found")
        if file_id not in self.files:
            raise _ApiError("file_not_found")
        return {"ok": True, "file": self._file_object(file_id)}

    def _api_files_list(self, params: dict[str, Any]) -> dict[str, Any]:
        found = [fid for fid, f in self.files.items()
                 if f["channel"] == params.get("channel", f["channel"]) and f["user"] == params.get("user", f["user"])]
        found.sort(key=lambda fid: -self.files[fid]["created"])
        return {"ok": True, "files": [self._file_object(fid) for fid in found[: int(params.get("count", 100))]]}

    def _download(self, path: str, headers: dict[str, str]) -> _Scripted:
        parts = path.split("/")  # /files-pri/<id>/<name>
        if self._check_auth({}, headers) is not None or len(parts) < 3 or parts[2] not in self.files:
            return _Scripted(status=404, body="not found")
        with self._lock:
            self.downloads.append(parts[2])
        return _Scripted(body=self.files[parts[2]]["content"].decode("utf-8"))

    def _api_usergroups_users_list(self, params: dict[str, Any]) -> dict[str, Any]:
        group = _require(params, "usergroup", "no_such_subteam")
        if group not in self.user_groups:
            raise _ApiError("no_such_subteam")
        return {"ok": True, "users": list(self.user_groups[group])}

    def _api_users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user_id = _require(params, "user", "user_not_found")
        if user_id not in self.users:
            raise _ApiError("user_not_found")
        given = self.users[user_id]
        name = given.get("name", user_id.lower())
        real_name = given.get("real_name", name.title())
        user = {
            "id": user_id,
            "team_id": self.team_id,
            "name": name,
            "deleted": False,
            "real_name": real_name,
            "tz": "Europe/London",
            "tz_offset": 0,
            "is_admin": False,
            "is_owner": False,
            "is_bot": False,
            "is_app_user": False,
            "profile": {
                "real_name": real_name,
                "display_name": given.get("display_name", name),
                "real_name_normalized": real_name,
                "display_name_normalized": given.get("display_name", name),
                "email": given.get("email", f"{name}@example.com"),
                "team": self.team_id,
            },
        }
        for key, value in given.items():
            if key == "profile":
                user["profile"].update(value)
            elif key not in ("display_name", "email"):
                user[key] = value
        return {"ok": True, "user": user}


class _ApiError(Exception):
    def __init__(self, code: str, **extra: Any) -> None:
        super().__init__(code)
        self.code = code
        self.extra = extra


def _require(params: dict[str, Any], key: str, error: str) -> str:
    value = params.get(key)
    if not value:
        raise _ApiError(error)
    return str(value)


def _check_content(params: dict[str, Any], *, require: bool = True) -> None:
    blocks = params.get("blocks")
    if blocks is not None and (not isinstance(blocks, list) or not all(isinstance(b, dict) and "type" in b for b in blocks)):
        raise _ApiError("invalid_blocks")
    if isinstance(blocks, list) and len(blocks) > 50:
        raise _ApiError("invalid_blocks", errors=["must provide an array with no more than 50 items"])
    if require and not params.get("text") and not blocks:
        raise _ApiError("no_text")


def _parse_body(raw: bytes, content_type: str) -> dict[str, Any]:
    if not raw:
        return {}
    text = raw.decode("utf-8")
    if content_type.startswith("application/json"):
        data = json.loads(text)
        return data if isinstance(data, dict) else {}
    if content_type.startswith("application/x-www-form-urlencoded"):
        return dict(parse_qsl(text, keep_blank_values=True))
    return {}  # multipart (file uploads) is not modelled


def _decode_json_fields(params: dict[str, Any]) -> dict[str, Any]:
    for key in _JSON_FIELDS:
        value = params.get(key)
        if isinstance(value, str) and value[:1] in ("[", "{"):
            try:
                params[key] = json.loads(value)
            except ValueError:
                pass
    return params


class _Server(ThreadingHTTPServer):
    # Bursts of concurrent calls (tests with 30 clicks, the ack benchmark) must queue, not
    # be reset: socketserver's default listen backlog is 5.
    request_queue_size = 256
    daemon_threads = True


class _Handler(BaseHTTPRequestHandler):
    owner: FakeSlack
    server_version = "FakeSlack/1.0"

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self._serve()

    def do_GET(self) -> None:  # noqa: N802
        self._serve()

    def _serve(self) -> None:
        url = urlsplit(self.path)
        if url.path.startswith("/files-pri/"):
            self._reply(self.owner._download(url.path, {k.lower(): v for k, v in self.headers.items()}))
            return
        if not url.path.startswith("/api/"):
            self.send_error(404)
            return
        method = url.path[len("/api/"):]
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        params: dict[str, Any] = dict(parse_qsl(url.query, keep_blank_values=True))
        try:
            params.update(_parse_body(raw, self.headers.get("Content-Type", "")))
        except ValueError:
            self._reply(_Scripted(body={"ok": False, "error": "invalid_json"}))
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        outcome = self.owner._handle(method, _decode_json_fields(params), headers)
        if self.owner.before_reply is not None:
            self.owner.before_reply(method)
        if outcome.disconnect:
            self.close_connection = True
            return
        self._reply(outcome)

    def _reply(self, outcome: _Scripted) -> None:
        body = outcome.body if outcome.body is not None else {"ok": True}
        if isinstance(body, str):
            data, ctype = body.encode("utf-8"), "text/html; charset=utf-8"
        else:
            data, ctype = json.dumps(body).encode("utf-8"), "application/json; charset=utf-8"
        self.send_response(outcome.status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in outcome.headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # silence the access log
        pass
