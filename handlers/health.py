"""GET /healthz: the process is up and the database answers."""

from __future__ import annotations

from typing import Callable

from handlers.http import Request, Response


def health_endpoint(check_db: Callable[[], None]) -> Callable[[Request], Response]:
    def healthz(_request: Request) -> Response:
        try:
            check_db()
        except Exception as exc:  # report, don't crash: this is what monitors poll
            return Response.json(503, {"ok": False, "database": type(exc).__name__})
        return Response.json(200, {"ok": True})

    return healthz
