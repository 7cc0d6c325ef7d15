"""Background work yields to Slack requests in flight, but is never starved."""

import threading
import time

from bot.priority import InFlight, YieldingExecutor


def test_waits_for_requests_in_flight_and_a_quiet_moment():
    gate = InFlight(quiet=0.05)
    started = []
    with YieldingExecutor(gate, max_workers=1, max_wait=2.0) as pool:
        with gate:
            t0 = time.monotonic()
            future = pool.submit(lambda: started.append(time.monotonic()))
            time.sleep(0.1)
            assert started == []  # a request is in flight: the work waits
        future.result(timeout=2)
    waited = started[0] - t0
    assert 0.14 <= waited < 1.0  # 0.1 s in flight + 0.05 s quiet


def test_never_starved_past_max_wait():
    gate = InFlight(quiet=0.01)
    done = threading.Event()
    with YieldingExecutor(gate, max_workers=1, max_wait=0.2) as pool:
        gate.__enter__()  # a request that never ends
        t0 = time.monotonic()
        pool.submit(done.set)
        assert done.wait(2)
        assert time.monotonic() - t0 < 1.0
        gate.__exit__(None, None, None)


def test_no_wait_when_idle():
    gate = InFlight(quiet=0.01)
    time.sleep(0.02)
    t0 = time.monotonic()
    gate.wait_idle(1.0)
    assert time.monotonic() - t0 < 0.05
