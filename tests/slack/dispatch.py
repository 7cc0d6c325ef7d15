"""The Bolt app in-process: signed requests go to `app.dispatch(BoltRequest(...))` (as
bolt-python's own tests do), with a real database, the sample store, FakeSlack behind the
gateway, and a background executor that runs only when the test says so.

That split is what lets a test see the ack path on its own: every Web API call FakeSlack
received while `dispatch` ran was made before the ack. `dispatch` fails the test if any of
them is not `views.open`.

    with app_for(database_url) as h:
        case = h.open_case("#1034")
        resp = h.dispatch(*sr.block_action(h.card_value(case), ActionId.CASE_APPROVE, user_id=T2A,
                                           channel=case.slack_channel, message_ts=case.slack_ts))
        assert resp.status == 200
        h.run_background()
"""

from __future__ import annotations

import json
import time
from collections import deque
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_sdk import WebClient

from blocks.refs import CaseRef
from bot.clock import utcnow
from bot.container import Container
from bot.settings import Settings
from bot.slack_app import SlackServices, build_app
from integrations.sample.store import SampleStore
from integrations.slack.gateway import SlackGateway
from policy.config import parse_policy
from policy.models import CaseKind
from tests.fakes import slack_requests as sr
from tests.fakes.slack import Call, FakeSlack
from tests.loop.harness import POLICY, SIGNING_SECRET, T2A, T2B

ACK_PATH_ALLOWED = frozenset({"views.open"})


class ManualExecutor:
    """An Executor whose tasks wait until `run()`: what ran before it is the ack path."""

    def __init__(self) -> None:
        self.tasks: deque[tuple[Future, Any, tuple, dict]] = deque()
        self.errors: list[BaseException] = []
        self.in_flight = None

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        self.tasks.append((future, fn, args, kwargs))
        return future

    def run(self) -> int:
        ran = 0
        while self.tasks:
            future, fn, args, kwargs = self.tasks.popleft()
            ran += 1
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as exc:  # noqa: BLE001 - kept for the test to assert on
                self.errors.append(exc)
                future.set_exception(exc)
        return ran

    def shutdown(self, wait: bool = True, **_: Any) -> None:
        self.tasks.clear()


@dataclass
class Harness:
    c: Container
    app: App
    slack: FakeSlack
    services: SlackServices
    background: ManualExecutor
    store: SampleStore
    changed: list[int] = field(default_factory=list)  # case ids whose card was asked to re-render
    ack_path_calls: list[Call] = field(default_factory=list)

    # --- cases ----------------------------------------------------------------------------

    def open_case(self, order_name: str, kind: CaseKind = CaseKind.RETURN_REQUEST):
        """Ingest the sample store's event for this order and post its card."""
        event_kind = {"return_request": "return_requested", "order_review": "order_created",
                      "dispute": "dispute_created", "high_value_refund": "refund_created"}[kind.value]
        order_id = self.store.find_orders(order_name)[0].id
        event = next(e for e in self.store.events() if e.order_id == order_id and e.kind.value == event_kind)
        case = self.c.ingest.ingest(event).case
        self.sync_cards()
        return self.c.cases.get(case.id)

    def sync_cards(self) -> None:
        self.c.drain("cards")

    def card_value(self, case, version: int | None = None) -> str:
        return str(CaseRef(case.id, case.version if version is None else version))

    # --- requests -------------------------------------------------------------------------

    def dispatch(self, body: bytes, content_type: str, *, secret: str = SIGNING_SECRET,
                 allow: frozenset[str] = ACK_PATH_ALLOWED) -> BoltResponse:
        """Sign and dispatch; fails if the ack path called a Slack method outside `allow`."""
        ts = str(int(time.time()))
        headers = {"content-type": [content_type], **{k.lower(): [v] for k, v in sr.sign(secret, body, ts).items()}}
        before = len(self.slack.calls)
        resp = self.app.dispatch(BoltRequest(body=body.decode("utf-8"), headers=headers))
        during = self.slack.calls[before:]
        self.ack_path_calls.extend(during)
        wrong = [c.method for c in during if c.method not in allow]
        assert not wrong, f"Slack Web API called before the ack: {wrong}"
        return resp

    def click(self, case, action_id: str, user: str, *, version: int | None = None, channel: str | None = None,
              message_ts: str | None = None, value: str | None = None) -> BoltResponse:
        """A button on the case's own card (the escalation card once it has one)."""
        on_escalation = case.escalation_ts is not None
        channel = channel or (case.escalation_channel if on_escalation else case.slack_channel)
        message_ts = message_ts or (case.escalation_ts if on_escalation else case.slack_ts)
        value = value if value is not None else self.card_value(case, version)
        return self.dispatch(*sr.block_action(value, action_id, user_id=user, channel=channel,
                                              message_ts=message_ts))

    def opened_view(self, index: int = -1) -> dict:
        return self.slack.calls_to("views.open")[index].params["view"]

    def submit(self, callback_id: str, state: dict, user: str, *, metadata: str | None = None,
               view_id: str = "V0000000001") -> BoltResponse:
        """Submit a modal; without `metadata`, that of the last view the bot opened."""
        metadata = self.opened_view()["private_metadata"] if metadata is None else metadata
        return self.dispatch(*sr.view_submission(callback_id, metadata, state, user_id=user, view_id=view_id))

    def run_background(self) -> None:
        """Run the after-ack work (and whatever it queues); it must not fail."""
        self.background.run()
        assert self.background.errors == [], self.background.errors

    # --- what Slack saw -------------------------------------------------------------------

    def ephemerals_to(self, user: str) -> list[str]:
        return [c.params.get("text", "") for c in self.slack.calls_to("chat.postEphemeral")
                if c.params.get("user") == user]


@contextmanager
def app_for(database_url: str, *, slack: FakeSlack | None = None, clock=utcnow, user_groups: dict | None = None):
    own_slack = slack is None
    slack = slack or FakeSlack().start()
    slack.user_groups = user_groups if user_groups is not None else {"S0TIER2": [T2A, T2B]}
    store = SampleStore.load(now=clock())
    settings = Settings(_env_file=None, database_url=database_url, shopify_api_secret="x", shopify_shop="ridgeline.myshopify.com",
                        shopify_access_token="shpat_test_unused",
                        slack_bot_token=slack.token, slack_signing_secret=SIGNING_SECRET,
                        slack_api_url=slack.base_url)
    client = WebClient(token=slack.token, base_url=slack.base_url, timeout=5)
    gateway = SlackGateway(client, min_interval_per_channel=0.0, backoff_base=0.01, backoff_max=0.05,
                           max_wait=1.0, sleep=lambda seconds: None)
    c = Container.build(settings, clock=clock, store=store, policy=parse_policy(POLICY),
                        slack_client=client, slack_gateway=gateway)
    background = ManualExecutor()
    services = SlackServices(decide=c.decide, gateway=c.gateway, views=c.views, lookup=c.lookup,
                             playbook=c.playbook, digest=c.digest, home=c.home, background=background)
    # Work the app starts in the background (learning its identity, refreshing user-group
    # members) runs on the manual executor too, so it can't be mistaken for the ack path.
    if getattr(services, "identity", None) is not None:
        services.identity.spawn = background.submit
    if getattr(c.decide, "membership", None) is not None:
        c.decide.membership.spawn = background.submit
    app = build_app(settings, services, client)
    h = Harness(c, app, slack, services, background, store)
    real_changed = c.decide.on_case_changed

    def changed(case) -> None:
        h.changed.append(case.id)
        real_changed(case)

    c.decide.on_case_changed = changed
    try:
        yield h
    finally:
        background.shutdown()
        c.engine.dispose()
        if own_slack:
            slack.stop()


def body_json(resp: BoltResponse) -> dict:
    return json.loads(resp.body) if resp.body else {}

