"""The whole approval loop, for real: a running server (waitress + Bolt + workers), a real
database, the sample store standing in for Shopify, and FakeSlack recording every Web API
call. Requests are signed, real-shaped Slack payloads."""

from __future__ import annotations

import json
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

from slack_sdk import WebClient

from bot.clock import utcnow
from bot.container import Container
from bot.server import Server
from bot.settings import Settings
from integrations.sample.store import SampleStore
from integrations.slack.gateway import SlackGateway
from policy.config import parse_policy
from policy.models import CaseKind
from tests.fakes import slack_requests as sr
from tests.fakes.slack import FakeSlack

SIGNING_SECRET = "loop-signing-secret"
REVIEW = "C0REVIEW01"
ESCALATION = "C0ESCALATE"

# Tier 1 (≤ $250): T1. Tier 2 (≤ $1,000): the S0TIER2 group (T2A, T2B). Tier 3: T3.
T1, T2A, T2B, T3 = "U0TIERONE1", "U0TIERTWOA", "U0TIERTWOB", "U0TIERTHRE"
POLICY = f"""
[slack]
review_channel = "{REVIEW}"
escalation_channel = "{ESCALATION}"
digest_channel = "C0DIGEST01"

[[approval_tiers]]
up_to = 250
approvers = ["{T1}"]

[[approval_tiers]]
up_to = 1000
approvers = ["S0TIER2"]

[[approval_tiers]]
approvers = ["{T3}"]
"""


def wait_for(predicate, timeout: float = 10.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


@dataclass
class Loop:
    c: Container
    server: Server
    slack: FakeSlack
    store: SampleStore
    slack_waits: list[float] = field(default_factory=list)  # the gateway's waits, recorded, not slept

    @property
    def url(self) -> str:
        return f"{self.server.url}/slack/events"

    # --- cases ----------------------------------------------------------------------------

    def open_case(self, order_name: str, kind: CaseKind = CaseKind.RETURN_REQUEST):
        """Ingest the sample store's event for this order and wait for its card."""
        event = next(e for e in self.store.events()
                     if e.order_id == self.store.find_orders(order_name)[0].id
                     and e.kind.value == {"return_request": "return_requested", "order_review": "order_created",
                                          "dispute": "dispute_created", "high_value_refund": "refund_created"}[kind.value])
        case = self.c.ingest.ingest(event).case
        wait_for(lambda: (c := self.c.cases.get(case.id)) and c.slack_ts and c.card_version == c.version,
                 what="the card")
        return self.c.cases.get(case.id)

    def settle(self, case_id: int, what: str = "the card to catch up"):
        """Wait until the card shows the case's current state and no work is pending."""
        def settled():
            case = self.c.cases.get(case_id)
            busy = any(r.status in ("pending", "running") for r in self.c.outbox.for_case(case_id))
            return case if case.card_version == case.version and not busy else None

        return wait_for(settled, what=what)

    def card_value(self, case) -> str:
        from blocks.refs import CaseRef

        return str(CaseRef(case.id, case.version))

    # --- Slack requests -------------------------------------------------------------------

    def click(self, case, action_id: str, user: str, *, channel: str | None = None, **kw):
        escalated = channel == ESCALATION
        body, ctype = sr.block_action(self.card_value(case), action_id, user_id=user,
                                      channel=channel or case.slack_channel or REVIEW,
                                      message_ts=(case.escalation_ts if escalated else case.slack_ts) or "1.1", **kw)
        return sr.post(self.url, body, ctype, SIGNING_SECRET)

    def submit(self, callback_id: str, case, state: dict, user: str, *, metadata: str | None = None):
        """Submit the modal; without `metadata`, the last one the bot opened with this
        callback id (its signed reference is what a submission must carry)."""
        if metadata is None:
            views = [c.params["view"] for c in self.slack.calls_to("views.open")
                     if c.params["view"].get("callback_id") == callback_id]
            assert views, f"no {callback_id} modal was opened"
            metadata = views[-1]["private_metadata"]
        body, ctype = sr.view_submission(callback_id, metadata, state, user_id=user)
        return sr.post(self.url, body, ctype, SIGNING_SECRET)

    # --- what Slack saw -------------------------------------------------------------------

    def last_card(self, case, channel: str | None = None) -> dict:
        """The card as Slack holds it now (after every update)."""
        message = self.slack.message(channel or case.slack_channel, case.slack_ts)
        assert message is not None, "no such message in FakeSlack"
        return message

    def ephemerals_to(self, user: str) -> list[str]:
        return [c.params.get("text", "") for c in self.slack.calls_to("chat.postEphemeral") if c.params.get("user") == user]


def card_text(message: dict) -> str:
    return json.dumps(message.get("blocks", []), ensure_ascii=False) + "\n" + message.get("text", "")


def action_ids(message: dict) -> list[str]:
    return [el.get("action_id") for b in message.get("blocks", []) if b.get("type") == "actions"
            for el in b.get("elements", [])]


@contextmanager
def loop(database_url: str, clock=None, *, start: bool = True, slack: FakeSlack | None = None, store=None,
         policy: str = POLICY, connectors=()):
    """The app running against the sample store and a fake Slack. `policy` is the policy
    file's text (a test that needs more passes `POLICY + "..."`); `connectors`: other
    connected systems (ShipStation against its fake), or a callable that builds them from
    the store and the clock (a payment processor links to the store's orders)."""
    # Real time: retries and leases must be able to expire while the test waits.
    clock = clock or utcnow
    own_slack = slack is None
    slack = slack or FakeSlack().start()
    slack.user_groups = {"S0TIER2": [T2A, T2B]}
    store = store or SampleStore.load(now=clock())
    # The webhook secret makes these Shopify settings; the store is handed in below.
    settings = Settings(_env_file=None, database_url=database_url, shopify_shop="ridgeline.myshopify.com",
                        shopify_access_token="shpat_test_unused", shopify_api_secret="x",
                        slack_bot_token=slack.token, slack_signing_secret=SIGNING_SECRET,
                        slack_api_url=slack.base_url)
    client = WebClient(token=slack.token, base_url=slack.base_url, timeout=5)
    slack_waits: list[float] = []  # what the gateway would have slept (Retry-After, backoff): not slept
    gateway = SlackGateway(client, min_interval_per_channel=0.0, sleep=slack_waits.append)
    extra = tuple(connectors(store, clock) if callable(connectors) else connectors)
    c = Container.build(settings, clock=clock, store=store, policy=parse_policy(policy),
                        slack_client=client, slack_gateway=gateway, connectors=extra)
    server = Server(c, host="127.0.0.1", port=0, threads=16, schedule=False)
    if start:
        server.start()
    try:
        yield Loop(c, server, slack, store, slack_waits)
    finally:
        server.stop()
        c.engine.dispose()  # PostgreSQL allows 100 connections: every test gives its back
        if own_slack:
            slack.stop()
