"""Benchmark: Slack ack latency for concurrent button clicks against the running server.

Starts `returnsbot serve` (SQLite, the sample store, Slack pointed at a local fake Web API)
and, for comparison, a bare Bolt app whose handler only acks (bench/bare_bolt.py), served
the same way. Then fires rounds of concurrent, signed Approve clicks at both and reports
the time until each HTTP answer (Slack's 3-second ack clock).

Targets: 50 concurrent: p99 ≤ 100 ms and ≤ 1.5× the bare app's p99; 200 concurrent:
nothing over 1 s.

    python -m bench.ack [--rounds 10]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import create_engine, select

SECRET = "bench-signing-secret"
APPROVERS = ["U0BENCHAAA", "U0BENCHBBB"]
POLICY = f"""
[slack]
review_channel = "C0REVIEW01"
escalation_channel = "C0ESCALATE"
digest_channel = "C0DIGEST01"
[[approval_tiers]]
up_to = 250
approvers = {json.dumps(APPROVERS)}
[[approval_tiers]]
approvers = {json.dumps(APPROVERS)}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listening on {port}")


def _click(card: tuple[str, str, str], user: str) -> bytes:
    """A click on a case's own card (channel and ts as Slack holds it): clicks from another
    message are refused as not from the case's card, which would measure the wrong path."""
    value, channel, ts = card
    payload = {
        "type": "block_actions", "team": {"id": "T1", "domain": "bench"}, "api_app_id": "A1",
        "user": {"id": user, "username": user, "team_id": "T1"}, "trigger_id": "1.2.3",
        "channel": {"id": channel, "name": "returns"},
        "container": {"type": "message", "message_ts": ts, "channel_id": channel},
        "message": {"type": "message", "ts": ts, "text": "card"},
        "response_url": "https://hooks.slack.com/actions/T1/1/x",
        "actions": [{"type": "button", "action_id": "case-approve", "block_id": "case-actions", "value": value,
                     "action_ts": "1700000060.000001", "text": {"type": "plain_text", "text": "Approve"}}],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


def _signed(body: bytes) -> dict[str, str]:
    ts = str(int(time.time()))
    sig = hmac.new(SECRET.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": f"v0={sig}"}


def _burst(port: int, bodies: list[bytes]) -> list[float]:
    """Send every body at once (one connection each, like Slack); seconds to each answer."""
    results: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(bodies))

    def one(body: bytes) -> None:
        headers = _signed(body)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        barrier.wait()
        t0 = time.perf_counter()
        conn.request("POST", "/slack/events", body=body, headers=headers)
        resp = conn.getresponse()
        resp.read()
        elapsed = time.perf_counter() - t0
        assert resp.status == 200, resp.status
        with lock:
            results.append(elapsed)

    threads = [threading.Thread(target=one, args=(b,)) for b in bodies]
    [t.start() for t in threads]
    [t.join() for t in threads]
    return results


def _pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p * (len(xs) - 1))))]


def _report(name: str, xs: list[float]) -> str:
    return (f"{name:<22} n={len(xs):<5} p50 {_pct(xs, .5) * 1000:6.1f} ms   p99 {_pct(xs, .99) * 1000:6.1f} ms   "
            f"max {max(xs) * 1000:6.1f} ms")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--pause", type=float, default=1.0,
                    help="seconds between bursts, so each burst meets a server that has digested the last one")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="returnsbot-ack-"))
    (tmp / "policy.toml").write_text(POLICY)
    db_url = f"sqlite:///{tmp / 'bench.db'}"
    # The fake Slack Web API runs in its own process, like Slack would be elsewhere.
    fake = subprocess.Popen([sys.executable, "-m", "bench.fake_slack"], stdout=subprocess.PIPE, text=True)
    api_url, token = fake.stdout.readline().split()
    procs = [fake]
    ours, bare = _free_port(), _free_port()
    env = {**os.environ, "DATABASE_URL": db_url, "RETURNSBOT_POLICY": str(tmp / "policy.toml"),
           "SLACK_BOT_TOKEN": token, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": api_url,
           "RETURNSBOT_LOG_LEVEL": "WARNING", "RETURNSBOT_POLL_INTERVAL": "86400"}
    for k in ("SHOPIFY_SHOP", "SHOPIFY_ACCESS_TOKEN", "SLACK_APP_TOKEN"):
        env.pop(k, None)
    procs.append(subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1",
                                   "--port", str(ours)], env=env, stdout=subprocess.DEVNULL))
    procs.append(subprocess.Popen([sys.executable, "-m", "bench.bare_bolt", str(bare), SECRET, api_url, token],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    try:
        _wait_port(ours)
        _wait_port(bare)
        engine = create_engine(db_url)
        from bot.schema import cases

        # The start-up poll opens the sample cases and their cards go out (about one per
        # second per channel): wait until that has settled, so the rounds measure clicks.
        deadline, stable_since, seen = time.monotonic() + 90, time.monotonic(), -1
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                rows = conn.execute(select(cases.c.id, cases.c.version, cases.c.slack_channel, cases.c.slack_ts)
                                    .where(cases.c.status == "open")).all()
                behind = conn.execute(select(cases.c.id).where(cases.c.card_version < cases.c.version)).all()
            if len(rows) != seen or behind:
                seen, stable_since = len(rows), time.monotonic()
            elif time.monotonic() - stable_since > 2:
                break
            time.sleep(0.2)
        values = [(f"v1:case:{r.id}:{r.version}", r.slack_channel or "C0REVIEW01", r.slack_ts or "1.1") for r in rows]
        print(f"{len(values)} open sample cases to click on; {args.rounds} rounds per size\n")

        def bodies(n: int) -> list[bytes]:
            # Clicks spread over the open cases by two approvers: the first click on a
            # case decides it, the rest are refused — both paths are measured.
            return [_click(values[i % len(values)], APPROVERS[i % 2]) for i in range(n)]

        # Warm both up. The warm-up's clicks approve every case, which queues refunds and
        # card re-renders; let that finish, so the rounds measure clicks (mostly refused as
        # "already approved"), not clicks landing on top of that backlog.
        _burst(ours, bodies(20)), _burst(bare, bodies(20))
        time.sleep(args.pause * 5)
        ok = True
        for n in (50, 200):
            mine, base = [], []
            for _ in range(args.rounds if n == 50 else max(2, args.rounds // 3)):
                base += _burst(bare, bodies(n))
                time.sleep(args.pause)
                mine += _burst(ours, bodies(n))
                time.sleep(args.pause)
            print(f"{n} concurrent clicks")
            print("  " + _report("bare Bolt (no-op)", base))
            print("  " + _report("returnsbot", mine))
            ratio = _pct(mine, .99) / _pct(base, .99)
            print(f"  p99 ratio returnsbot / bare: {ratio:.2f}")
            if n == 50:
                ok &= _pct(mine, .99) <= 0.100 and ratio <= 1.5
            else:
                ok &= max(mine) <= 1.0
        print("\ntargets met" if ok else "\ntargets NOT met")
        return 0 if ok else 1
    finally:
        for p in reversed(procs):  # the apps first, the fake Slack they talk to last
            p.terminate()
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)


if __name__ == "__main__":
    sys.exit(main())
