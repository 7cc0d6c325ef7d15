"""Minimal request/response types for our own routes (Slack's route is Bolt's WSGI app)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


class Headers:
    """Case-insensitive, as HTTP headers are."""

    def __init__(self, items: dict[str, str] | None = None) -> None:
        self._d = {k.lower(): v for k, v in (items or {}).items()}

    def get(self, name: str, default: str | None = None) -> str | None:
        return self._d.get(name.lower(), default)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: Headers
    body: bytes
    remote: str | None = None
    query: str = ""  # the raw query string (the Shopify install callback is signed over it)


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})

    @classmethod
    def json(cls, status: int, data: Any) -> Response:
        return cls(status, json.dumps(data).encode())
