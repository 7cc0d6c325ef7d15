"""`returnsbot serve`: one process with the HTTP server (webhooks, health; Slack next),
the inbox and outbox workers, and the pollers on a schedule.

waitress serves WSGI from a thread pool, so a slow request never blocks the others.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from waitress.server import create_server

from bot.container import Container, shopify_webhook_spec
from bot.workers import Worker
from bot.wsgi import Router
from handlers.health import health_endpoint
from handlers.webhooks import MAX_BODY_BYTES, WebhookEndpoint

log = logging.getLogger(__name__)


def build_router(c: Container) -> Router:
    router = Router()
    router.add("POST", "/webhooks/shopify", WebhookEndpoint(shopify_webhook_spec(c.settings), c.inbox))
    router.add("GET", "/healthz", health_endpoint(c.check_db))
    return router


class Server:
    """Everything `serve` runs, startable and stoppable in-process (the tests do)."""

    def __init__(self, c: Container, *, host: str = "127.0.0.1", port: int = 8080, threads: int = 16,
                 schedule: bool = True) -> None:
        self.c = c
        self.router = build_router(c)
        self.inbox_worker = Worker("inbox", c.inbox.process_pending, interval=5.0)
        self.outbox_worker = Worker("outbox", c.executor.run_once, interval=2.0)
        c.inbox.wake = self.inbox_worker.wake
        self.http = create_server(
            self.router, host=host, port=port, threads=threads,
            max_request_body_size=MAX_BODY_BYTES, ident="returnsbot", clear_untrusted_proxy_headers=True,
        )
        self.scheduler = BackgroundScheduler(timezone="UTC") if schedule else None
        self.holder = f"{socket.gethostname()}:{os.getpid()}"
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.http.effective_host}:{self.http.effective_port}"

    def _poll_all(self) -> None:
        c = self.c
        interval = timedelta(seconds=c.settings.returnsbot_poll_interval)
        # One replica polls per period; the lease outlives the run so others skip it.
        if not c.ops.try_lease("pollers", holder=self.holder, now=c.clock(), ttl=interval * 0.9):
            return
        for poller in c.pollers:
            poller.run_once()

    def start(self) -> None:
        self.inbox_worker.start()
        self.outbox_worker.start()
        self.inbox_worker.wake()  # anything a crash left pending
        if self.scheduler:
            self.scheduler.add_job(
                self._poll_all, "interval", seconds=self.c.settings.returnsbot_poll_interval,
                id="pollers", max_instances=1, coalesce=True, next_run_time=self.c.clock(),
            )
            self.scheduler.start()
        self._thread = threading.Thread(target=self.http.run, name="http", daemon=True)
        self._thread.start()
        log.info("server.started url=%s store=%s", self.url, self.c.store.name)

    def stop(self) -> None:
        if self.scheduler:
            self.scheduler.shutdown(wait=False)
        self.http.close()
        self.inbox_worker.stop()
        self.outbox_worker.stop()
        log.info("server.stopped")


def serve_forever(c: Container, *, host: str, port: int) -> None:
    server = Server(c, host=host, port=port)
    if not c.settings.shopify_api_secret:
        log.warning("webhooks.unverifiable SHOPIFY_API_SECRET is not set: /webhooks/shopify rejects every delivery")
    stopped = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopped.set())
    server.start()
    print(f"returnsbot listening on {server.url} (store: {c.store.name})", flush=True)
    stopped.wait()
    server.stop()
