"""Server.stop() ends everything it started, and returns as soon as that has ended."""

from __future__ import annotations

import threading
import time

import httpx

from bot.server import Server
from tests.bot.app_harness import container_for


def test_stop_ends_the_http_loop_and_every_waitress_thread_at_once(database_url, clock):
    c = container_for(database_url, clock)
    before = set(threading.enumerate())
    server = Server(c, host="127.0.0.1", port=0, threads=8, schedule=False)
    server.start()
    with httpx.Client() as client:  # a kept-alive connection stays open in waitress's loop
        assert client.get(f"{server.url}/healthz").status_code == 200
        started = time.monotonic()
        server.stop()
        took = time.monotonic() - started
    left = [t for t in set(threading.enumerate()) - before if t.is_alive()]
    assert left == []  # was: the "http" loop (in select() for up to 1 s) and 8 waitress-N threads
    assert took < 0.5


def test_a_server_never_started_stops_without_leaving_threads(database_url, clock):
    c = container_for(database_url, clock)
    before = set(threading.enumerate())
    Server(c, host="127.0.0.1", port=0, threads=4, schedule=False).stop()
    assert [t for t in set(threading.enumerate()) - before if t.is_alive()] == []
