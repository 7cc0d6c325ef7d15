"""`returnsbot serve`: one process with the HTTP server (webhooks, health; Slack next),
the inbox and outbox workers, and the pollers on a schedule.

waitress serves WSGI from a thread pool, so a slow request never blocks the others.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import socket
import threading
from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from waitress.server import create_server

from bot.container import Container, shopify_webhook_spec
from bot.waitress_shutdown import shut_down
from bot.workers import Worker
from bot.wsgi import Router
from handlers.health import health_endpoint
from handlers.webhooks import MAX_BODY_BYTES, WebhookEndpoint

log = logging.getLogger(__name__)

REMINDER_PERIOD = timedelta(minutes=5)


def build_router(c: Container, slack_app=None, in_flight=None) -> Router:
    router = Router(in_flight)
    router.add("POST", "/webhooks/shopify", WebhookEndpoint(shopify_webhook_spec(c.settings), c.inbox))
    router.add("GET", "/healthz", health_endpoint(c.check_db))
    if slack_app is not None:
        from slack_bolt.adapter.wsgi import SlackRequestHandler

        router.mount("/slack/events", SlackRequestHandler(slack_app))
    return router


class Server:
    """Everything `serve` runs, startable and stoppable in-process (the tests do)."""

    def __init__(self, c: Container, *, host: str = "127.0.0.1", port: int = 8080, threads: int = 16,
                 schedule: bool = True) -> None:
        self.c = c
        self.slack_app = c.slack_app()
        self.in_flight = c.slack_services.background.in_flight if c.slack_services else None
        self.router = build_router(c, self.slack_app, self.in_flight)
        self.socket_mode = None
        gate = self.in_flight.wait_idle if self.in_flight else None
        self.inbox_worker = Worker("inbox", c.inbox.process_pending, interval=5.0, yield_to=gate)
        # One item per step, so each item is a point where workers yield to Slack requests.
        self.outbox_worker = Worker("outbox", lambda: c.executor.run_once(limit=1), interval=2.0, yield_to=gate)
        self.card_worker = (Worker("cards", lambda: c.cards.run_once(limit=1), interval=5.0, yield_to=gate)
                            if c.cards else None)
        c.inbox.wake = self.inbox_worker.wake
        c.wake_outbox = self.outbox_worker.wake
        if self.card_worker:
            c.wake_cards = self.card_worker.wake
        self.http = create_server(
            self.router, host=host, port=port, threads=threads,
            max_request_body_size=MAX_BODY_BYTES, ident="returnsbot", clear_untrusted_proxy_headers=True,
        )
        self.scheduler = BackgroundScheduler(timezone="UTC") if schedule else None
        self.holder = f"{socket.gethostname()}:{os.getpid()}"
        self._thread: threading.Thread | None = None
        self._stopping = False

    @property
    def workers(self) -> list[Worker]:
        return [w for w in (self.inbox_worker, self.outbox_worker, self.card_worker) if w]

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

    def _every(self, name: str, fn, period: timedelta) -> None:
        """Run `fn` if this replica holds the job's lease for this period."""
        c = self.c
        if c.ops.try_lease(name, holder=self.holder, now=c.clock(), ttl=period * 0.9):
            fn()

    def start(self) -> None:
        for worker in self.workers:
            worker.start()
            worker.wake()  # anything a crash or an outage left pending
        if self.scheduler:
            self.scheduler.add_job(
                self._poll_all, "interval", seconds=self.c.settings.returnsbot_poll_interval,
                id="pollers", max_instances=1, coalesce=True, next_run_time=self.c.clock(),
            )
            if self.c.reminders is not None:
                self.scheduler.add_job(
                    self._every, "interval", args=("reminders", self.c.reminders.run_once, REMINDER_PERIOD),
                    seconds=REMINDER_PERIOD.total_seconds(), id="reminders", max_instances=1, coalesce=True,
                    next_run_time=self.c.clock(),
                )
            # The digest's own ledger makes it once per period across replicas; checking
            # every minute (and at start-up) is what catches a missed run up after downtime.
            self.scheduler.add_job(
                self.c.digest.run_due, "interval", args=(self.holder,), seconds=60, id="digest",
                max_instances=1, coalesce=True, next_run_time=self.c.clock(),
            )
            # Events API deliveries are remembered for a day: Slack retries within minutes.
            self.scheduler.add_job(
                self._every, "interval", hours=24, id="prune", max_instances=1, coalesce=True,
                args=("prune", lambda: self.c.playbook.prune_events(self.c.clock() - timedelta(days=1)),
                      timedelta(days=1)),
            )
            self.scheduler.start()
        self._thread = threading.Thread(target=self._serve_http, name="http", daemon=True)
        self._thread.start()
        if self.slack_app is not None and self.c.settings.slack_app_token:
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            # Socket Mode: Slack's requests arrive over a websocket; webhooks still use HTTP.
            self.socket_mode = SocketModeHandler(self.slack_app, self.c.settings.slack_app_token.get_secret_value())
            self.socket_mode.connect()
        log.info("server.started url=%s store=%s", self.url, self.c.store.name)

    def _serve_http(self) -> None:
        try:
            self.http.run()
        except (OSError, ValueError):
            # close() from another thread pulls the sockets out from under waitress's loop;
            # that is how it stops, not a failure.
            if not self._stopping:
                raise

    def stop(self) -> None:
        self._stopping = True
        if self.scheduler:
            self.scheduler.shutdown(wait=False)
        if self.socket_mode is not None:
            self.socket_mode.close()
        shut_down(self.http, self._thread)  # returns once waitress's threads have ended
        for worker in self.workers:
            worker.stop()
        log.info("server.stopped")


def serve_forever(c: Container, *, host: str, port: int) -> None:
    server = Server(c, host=host, port=port)
    if not c.settings.shopify_api_secret:
        log.warning("webhooks.unverifiable SHOPIFY_API_SECRET is not set: /webhooks/shopify rejects every delivery")
    stopped = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopped.set())
    server.start()
    # Everything loaded at start-up (models, the app, the sample store) lives as long as the
    # process: move it out of the collector's reach, so full collections stay short and
    # don't stall acks (seen as 50-100 ms outliers under bursts of clicks).
    gc.collect()
    gc.freeze()
    print(f"returnsbot listening on {server.url} (store: {c.store.name})", flush=True)
    stopped.wait()
    server.stop()
