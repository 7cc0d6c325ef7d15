"""The WSGI application: our routes, plus mounted WSGI apps (Bolt's, for /slack/events)."""

from __future__ import annotations

import logging
import time
from typing import Any, Callable, Iterable

from handlers.http import Headers, Request, Response

log = logging.getLogger(__name__)

Handler = Callable[[Request], Response]
_REASONS = {200: "OK", 302: "Found", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
            405: "Method Not Allowed", 413: "Payload Too Large", 500: "Internal Server Error", 502: "Bad Gateway",
            503: "Service Unavailable"}


class Router:
    def __init__(self, in_flight=None, observe_ack: Callable[[float], None] | None = None) -> None:
        self.routes: dict[tuple[str, str], Handler] = {}
        self.mounts: dict[str, Callable] = {}
        self.prefixes: dict[tuple[str, str], Handler] = {}  # "/webhooks/x/" → every path under it
        # Requests to mounted apps (Slack) are counted so background work can yield to them,
        # and timed (the ack latency histogram).
        self.in_flight = in_flight
        self.observe_ack = observe_ack

    def add(self, method: str, path: str, handler: Handler) -> None:
        self.routes[(method.upper(), path)] = handler

    def add_prefix(self, method: str, prefix: str, handler: Handler) -> None:
        """Every path starting with `prefix` (which ends in "/"): the handler reads the rest."""
        if not prefix.endswith("/"):
            raise ValueError("a route prefix ends with '/'")
        self.prefixes[(method.upper(), prefix)] = handler

    def _under_prefix(self, method: str, path: str) -> Handler | None:
        return next((h for (m, p), h in self.prefixes.items() if m == method and path.startswith(p)), None)

    def mount(self, path: str, wsgi_app: Callable) -> None:
        self.mounts[path] = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        if path in self.mounts:
            started = time.perf_counter()
            try:
                if self.in_flight is None:
                    return self.mounts[path](environ, start_response)
                with self.in_flight:
                    return self.mounts[path](environ, start_response)
            finally:
                if self.observe_ack is not None:
                    self.observe_ack(time.perf_counter() - started)
        method = environ["REQUEST_METHOD"].upper()
        handler = self.routes.get((method, path)) or self._under_prefix(method, path)
        if handler is None:
            known = any(p == path for (_m, p) in self.routes) or any(path.startswith(p) for (_m, p) in self.prefixes)
            resp = Response.json(405 if known else 404, {"error": "method not allowed" if known else "not found"})
        else:
            try:
                resp = handler(_request(environ))
            except Exception:
                log.exception("http.error path=%s", path)
                resp = Response.json(500, {"error": "internal error"})
        start_response(
            f"{resp.status} {_REASONS.get(resp.status, 'OK')}",
            [*resp.headers.items(), ("Content-Length", str(len(resp.body)))],
        )
        return [resp.body]


def _request(environ: dict[str, Any]) -> Request:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    headers = {k[5:].replace("_", "-"): v for k, v in environ.items() if k.startswith("HTTP_")}
    if "CONTENT_TYPE" in environ:
        headers["Content-Type"] = environ["CONTENT_TYPE"]
    return Request(
        method=environ["REQUEST_METHOD"].upper(),
        path=environ.get("PATH_INFO", "/"),
        headers=Headers(headers),
        body=body,
        remote=environ.get("REMOTE_ADDR"),
        query=environ.get("QUERY_STRING", ""),
    )
