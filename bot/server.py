"""`returnsbot serve`: one process with the HTTP server (webhooks, Slack, health), one
worker thread per job lane (intake, clicks, actions, cards, learning), and the scheduler
that queues the periodic jobs (pollers, reminders, pruning) once per period across replicas.

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

from bot.container import Container
from bot.jobs.kinds import Kind
from bot.store.jobs import NewJob
from bot.waitress_shutdown import shut_down
from bot.workers import Worker
from bot.wsgi import Router
from handlers.health import health_endpoint
from handlers.webhooks import MAX_BODY_BYTES, WebhookEndpoint

log = logging.getLogger(__name__)

REMINDER_PERIOD = timedelta(minutes=5)
PRUNE_PERIOD = timedelta(days=1)


def queue_periodic(c: Container, kind: Kind, name: str, period: timedelta, *, payload: dict | None = None,
                   system: str) -> None:
    """One job per period slot: every replica's scheduler asks, the key lets one through."""
    now = c.clock()
    slot = int(now.timestamp() // period.total_seconds())
    c.jobs.enqueue(NewJob(kind=kind, system=system, operation=name, payload=payload or {},
                          idempotency_key=f"{kind}:{name}:{slot}"), now=now)


def build_router(c: Container, slack_app=None, in_flight=None) -> Router:
    router = Router(in_flight, observe_ack=c.metrics.ack_seconds.observe)
    for route in c.registry.webhooks:  # each connector's own routes: /webhooks/<system>
        if route.path_secret is not None:  # /webhooks/<system>/<secret>: the endpoint checks it
            router.add_prefix("POST", route.path.rstrip("/") + "/", WebhookEndpoint(route, c.inbox))
        else:
            router.add("POST", route.path, WebhookEndpoint(route, c.inbox))
    from bot.shopify_connect import routes as shopify_app_routes  # compliance webhooks; the install

    # Compliance deliveries are handled at the door (not stored as receipts: they ask us to
    # erase what such a receipt would keep), so they are not a connector's webhook route.
    for method, path, handler in shopify_app_routes(c.settings, c.engine, clock=c.clock):
        router.add(method, path, handler)
    router.add("GET", "/healthz", health_endpoint(c.check_db))
    router.add("GET", "/metrics", c.metrics.endpoint())
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
        # One job per step, so each job is a point where workers yield to Slack requests;
        # a lane with nothing due sleeps until woken or its interval passes (a job due
        # later, or one another replica queued).
        self.lane_workers = {
            lane: Worker(lane, lambda runner=runner: runner.run_once(limit=1), interval=1.0, yield_to=gate)
            for lane, runner in c.runners.items() if runner.kinds
        }
        for lane, worker in self.lane_workers.items():
            c.wake[lane] = worker.wake
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
        return list(self.lane_workers.values())

    @property
    def url(self) -> str:
        return f"http://{self.http.effective_host}:{self.http.effective_port}"

    def _poll_all(self) -> None:
        period = timedelta(seconds=self.c.settings.returnsbot_poll_interval)
        for poller in self.c.pollers:
            queue_periodic(self.c, Kind.POLL, poller.name, period, payload={"poller": poller.name},
                           system=poller.name)
        self.c._wake("intake")

    def _every(self, name: str, period: timedelta) -> None:
        queue_periodic(self.c, Kind.PERIODIC, name, period, system="returnsbot")
        self.c._wake("intake")

    def start(self) -> None:
        for worker in self.workers:
            worker.start()
            worker.wake()  # anything a crash or an outage left pending
        if self.scheduler:
            self.scheduler.add_job(
                self._poll_all, "interval", seconds=self.c.settings.returnsbot_poll_interval,
                id="pollers", max_instances=1, coalesce=True, next_run_time=self.c.clock(),
            )
            if "reminders" in self.c.periodic:
                self.scheduler.add_job(
                    self._every, "interval", args=("reminders", REMINDER_PERIOD),
                    seconds=REMINDER_PERIOD.total_seconds(), id="reminders", max_instances=1, coalesce=True,
                    next_run_time=self.c.clock(),
                )
            if "stalls" in self.c.periodic:  # stalled returns: the ledger makes each step once
                self.scheduler.add_job(
                    self._every, "interval", args=("stalls", REMINDER_PERIOD),
                    seconds=REMINDER_PERIOD.total_seconds(), id="stalls", max_instances=1, coalesce=True,
                    next_run_time=self.c.clock(),
                )
            if "disputes" in self.c.periodic:  # reminders before evidence is due: the ledger makes each once
                self.scheduler.add_job(
                    self._every, "interval", args=("disputes", REMINDER_PERIOD),
                    seconds=REMINDER_PERIOD.total_seconds(), id="disputes", max_instances=1, coalesce=True,
                    next_run_time=self.c.clock(),
                )
            if "followups" in self.c.periodic:  # moments' follow-ups: each reminder claimed once
                self.scheduler.add_job(
                    self._every, "interval", args=("followups", REMINDER_PERIOD),
                    seconds=REMINDER_PERIOD.total_seconds(), id="followups", max_instances=1, coalesce=True,
                    next_run_time=self.c.clock(),
                )
            # Returns partly inspected past the inspection window get their follow-up.
            self.scheduler.add_job(
                self._every, "interval", args=("receipts", REMINDER_PERIOD),
                seconds=REMINDER_PERIOD.total_seconds(), id="receipts", max_instances=1, coalesce=True,
                next_run_time=self.c.clock(),
            )
            # The digest's own ledger makes it once per period across replicas; checking
            # every minute (and at start-up) is what catches a missed run up after downtime.
            self.scheduler.add_job(
                self.c.digest.run_due, "interval", args=(self.holder,), seconds=60, id="digest",
                max_instances=1, coalesce=True, next_run_time=self.c.clock(),
            )
            # Connectors' standing problems (an API version we don't speak) into health.
            self.scheduler.add_job(
                self._every, "interval", args=("notes", REMINDER_PERIOD), seconds=REMINDER_PERIOD.total_seconds(),
                id="notes", max_instances=1, coalesce=True, next_run_time=self.c.clock(),
            )
            # Event ids, webhook bodies past retention, finished jobs (Container.prune).
            self.scheduler.add_job(
                self._every, "interval", args=("prune", PRUNE_PERIOD), hours=1, id="prune", max_instances=1,
                coalesce=True, next_run_time=self.c.clock(),
            )
            self.scheduler.start()
        self._thread = threading.Thread(target=self._serve_http, name="http", daemon=True)
        self._thread.start()
        if self.slack_app is not None and self.c.settings.slack_app_token:
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            # Socket Mode: Slack's requests arrive over a websocket; webhooks still use HTTP.
            self.socket_mode = SocketModeHandler(self.slack_app, self.c.settings.slack_app_token.get_secret_value())
            self.socket_mode.connect()
        log.info("server.started url=%s store=%s", self.url, self.c.registry.store.name)

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
        for runner in self.c.runners.values():
            runner.stop()
        log.info("server.stopped")


def serve_forever(c: Container, *, host: str, port: int) -> None:
    from bot.preflight import listen_problem
    from bot.settings import SettingsError

    # bot.preflight checked everything else before the container was built; the port
    # can only be tried now, and nothing has started yet when it is refused.
    try:
        server = Server(c, host=host, port=port)
    except OSError as exc:
        raise SettingsError(listen_problem(exc, host, port)) from None
    if c.settings.uses_sample_store:
        log.info("store.sample no SHOPIFY_* setting is set: serving the bundled sample store; webhooks are refused")
    stopped = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopped.set())
    server.start()
    # Everything loaded at start-up (models, the app, the sample store) lives as long as the
    # process: move it out of the collector's reach, so full collections stay short and
    # don't stall acks (seen as 50-100 ms outliers under bursts of clicks).
    gc.collect()
    gc.freeze()
    print(f"returnsbot listening on {server.url} (store: {c.registry.store.label})", flush=True)
    stopped.wait()
    server.stop()
