"""What the helpdesk fakes (FakeGorgias, FakeZendesk) share: a real HTTP server (or an
httpx transport) around a fake's `handle`, every request recorded as a `Call`, and a way
to lose an answer (the request is processed, the connection closes with no reply), so a
client's retry can be tested against a write that did happen."""

from __future__ import annotations

import contextlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, Callable, Iterator
from urllib.parse import parse_qsl, urlsplit

import httpx

from tests.fakes.local_server import running

DROP = object()  # a handler's answer: close the connection, reply nothing


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any = None
    status: int = 0


@dataclass
class Recorder:
    """The part every fake has: the calls, the answers to lose, and a lock."""

    calls: list[Call] = field(default_factory=list)
    lose: list[tuple[str, str]] = field(default_factory=list)  # (method, path): process, then no answer

    def __post_init__(self) -> None:
        self.lock = threading.RLock()

    def lose_next_answer(self, method: str, path: str) -> None:
        self.lose.append((method, path))

    def calls_to(self, method: str, path: str | None = None) -> list[Call]:
        return [c for c in self.calls if c.method == method and (path is None or c.path == path)]

    # --- HTTP: every request recorded, then answered by the fake's `_route` --------------

    def handle(self, method: str, url: str, headers: dict, raw: bytes):
        return self.record(method, url, headers, raw, self._route)

    def transport(self) -> httpx.MockTransport:
        return transport(self.handle)

    def serve(self):
        return serve(self.handle)

    def _route(self, call: Call) -> tuple[int, dict, Any]:
        raise NotImplementedError  # each fake answers its vendor's paths

    def record(self, method: str, url: str, headers: dict[str, str], raw: bytes,
               route: Callable[[Call], tuple[int, dict, Any]]) -> tuple[int, dict, bytes] | object:
        parts = urlsplit(url)
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        call = Call(method, parts.path, dict(parse_qsl(parts.query)), {k.lower(): v for k, v in headers.items()}, body)
        with self.lock:
            self.calls.append(call)
            status, out_headers, out = route(call)
            call.status = status
            if (method, parts.path) in self.lose and status < 400:
                self.lose.remove((method, parts.path))
                return DROP
        return status, out_headers, b"" if out is None else json.dumps(out).encode()


def transport(handle) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        answer = handle(request.method, str(request.url), dict(request.headers), request.content)
        if answer is DROP:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)
        status, headers, body = answer
        return httpx.Response(status, headers={**headers, "Content-Type": "application/json"}, content=body)

    return httpx.MockTransport(handler)


@contextlib.contextmanager
def serve(handle) -> Iterator[str]:
    """A local HTTP server answering with `handle(method, url, headers, body)`; yields its URL."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _reply(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            answer = handle(self.command, f"http://x{self.path}", dict(self.headers), raw)
            if answer is DROP:
                self.close_connection = True
                self.connection.shutdown(2)
                return
            status, headers, body = answer
            self.send_response(status)
            for k, v in {**headers, "Content-Type": "application/json"}.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = _reply  # noqa: N815

        def log_message(self, *args: object) -> None:
            pass

    with running(Handler, "fake-helpdesk") as url:
        yield url
