"""kill -9 at each step of a decision, then a restart: the decision is carried out exactly
once, the card ends without buttons, and recovery takes seconds (the job lease), not minutes.

A real `returnsbot serve` process talks to FakeShopify (the Shopify adapter with its
check-before-act, over HTTP) and FakeSlack, both living in the test process so they outlive
the killed server. Every call the fake Shopify received is counted, replays included.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from blocks.ids import ActionId
from blocks.refs import CaseRef
from bot.db import make_engine
from bot.schema import cases
from tests.fakes import slack_requests as sr
from tests.fakes.shopify import FakeShopify
from tests.fakes.slack import FakeSlack
from tests.loop.harness import wait_for

SIGNING_SECRET = "crash-signing-secret"
APP_SECRET = "crash-app-secret"
REVIEW = "C0REVIEW01"
APPROVER = "U0APPROVE1"
LEASE_SECONDS = 3
POLICY = f"""
[slack]
review_channel = "{REVIEW}"

[[approval_tiers]]
up_to = 250
approvers = ["{APPROVER}"]

[[approval_tiers]]
approvers = ["{APPROVER}"]
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(predicate, timeout: float = 30.0, what: str = "condition"):
    return wait_for(predicate, timeout=timeout, what=what)


class Deployment:
    """One database, one fake Shopify and one fake Slack; servers come and go."""

    def __init__(self, database_url: str, tmp: Path, shopify: FakeShopify, shopify_url: str, slack: FakeSlack):
        self.database_url = database_url
        self.shopify, self.slack = shopify, slack
        policy = tmp / "policy.toml"
        policy.write_text(POLICY)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("SHOPIFY_", "SLACK_", "RETURNSBOT_"))}
        self.env.update(
            DATABASE_URL=database_url, RETURNSBOT_POLICY=str(policy), RETURNSBOT_LOG_LEVEL="WARNING",
            RETURNSBOT_POLL_INTERVAL="3600", RETURNSBOT_JOB_LEASE_SECONDS=str(LEASE_SECONDS),
            SHOPIFY_SHOP=shopify.shop_domain, SHOPIFY_ACCESS_TOKEN=shopify.access_token,
            SHOPIFY_API_SECRET=APP_SECRET, SHOPIFY_API_URL=shopify_url,
            SLACK_BOT_TOKEN=slack.token, SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=slack.base_url,
        )
        self.engine = make_engine(database_url)
        self.proc: subprocess.Popen | None = None
        self.url = ""

    def start(self) -> float:
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )

        def up() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(self.proc.stdout.read())
            try:
                return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        _wait(up, what="server start")
        return time.monotonic()

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> str:
        if self.proc is None or self.proc.poll() is not None:
            return ""
        self.proc.terminate()
        try:
            out, _ = self.proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
        return out or ""

    def case(self):
        with self.engine.connect() as conn:
            return conn.execute(select(cases)).first()

    def click_approve(self, case) -> httpx.Response:
        body, ctype = sr.block_action(str(CaseRef(case.id, case.version)), ActionId.CASE_APPROVE, user_id=APPROVER,
                                      channel=case.slack_channel, message_ts=case.slack_ts)
        return sr.post(f"{self.url}/slack/events", body, ctype, SIGNING_SECRET)


def shop_with_a_return() -> FakeShopify:
    """A $149 defective-item return: tier 1, recommended refund (approve + refund)."""
    shopify = FakeShopify()
    customer = shopify.add_customer(display_name="Ada Lovelace")
    order = shopify.add_order(customer_id=customer, line_items=[{"title": "Trail Runner", "price": "149.00"}])
    shopify.add_return(order, reason="DEFECTIVE")
    return shopify


@pytest.fixture
def deployment(database_url, tmp_path):
    shopify = shop_with_a_return()
    with shopify.serve() as shopify_url, FakeSlack() as slack:
        d = Deployment(database_url, tmp_path, shopify, shopify_url, slack)
        try:
            yield d
        finally:
            shopify.before_reply = slack.before_reply = None
            out = d.stop()
            d.engine.dispose()
            assert "Traceback" not in out, out


def _card_posted(d: Deployment):
    return _wait(lambda: (row := d.case()) is not None and row.slack_ts and row.card_version == row.version and row,
                 what="the card")


def _blocker(target: str):
    """A reply hook that stops the answer to `target` until the test is done with it."""
    reached, release = threading.Event(), threading.Event()

    def hook(name) -> None:
        if name == target:
            reached.set()
            release.wait(30)

    return hook, reached, release


def _finished(d: Deployment, restarted_at: float) -> float:
    row = _wait(lambda: (r := d.case()) is not None and r.status == "done" and r.card_version == r.version and r,
                what="the decision carried out and the card updated")
    took = time.monotonic() - restarted_at
    card = d.slack.message(row.slack_channel, row.slack_ts)
    assert [b for b in card["blocks"] if b.get("type") == "actions"] == [], "card still has buttons"
    assert "refund $149.00" in str(card["blocks"]), json.dumps(card["blocks"], indent=1)
    return took


def _exactly_once(d: Deployment) -> None:
    applied = [name for name, _ in d.shopify.mutations]
    assert applied.count("returnApproveRequest") == 1, applied
    assert applied.count("returnProcess") == 1, applied
    # every request the fake received, replays included: one of each mutation was sent
    assert len(d.shopify.calls_to("ReturnApproveRequest")) == 1
    assert len(d.shopify.calls_to("ReturnProcess")) == 1
    assert d.shopify.invalid_documents == []


def test_killed_right_after_the_ack(deployment):
    d = deployment
    d.start()
    case = _card_posted(d)
    assert d.click_approve(case).status_code == 200
    d.kill()  # the 200 went out; nothing after it ran (or some of it did)
    took = _finished(d, d.start())
    _exactly_once(d)
    assert took < LEASE_SECONDS + 10


def test_killed_during_the_refund_call_after_shopify_made_the_refund(deployment):
    d = deployment
    hook, reached, release = _blocker("ReturnProcess")
    d.shopify.before_reply = hook
    d.start()
    case = _card_posted(d)
    assert d.click_approve(case).status_code == 200
    assert reached.wait(30), "the refund was never sent"
    d.kill()  # Shopify refunded; the bot never heard back
    d.shopify.before_reply = None
    release.set()
    took = _finished(d, d.start())
    _exactly_once(d)  # check-before-act saw the refund: not sent again
    assert took < LEASE_SECONDS + 10


def test_killed_during_the_card_update(deployment):
    d = deployment
    d.start()
    case = _card_posted(d)
    hook, reached, release = _blocker("chat.update")
    d.slack.before_reply = hook
    assert d.click_approve(case).status_code == 200
    assert reached.wait(30), "the card was never updated"
    d.kill()
    d.slack.before_reply = None
    release.set()
    took = _finished(d, d.start())
    _exactly_once(d)
    assert took < LEASE_SECONDS + 10
