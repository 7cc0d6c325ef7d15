"""A shop on FakeShopify with `[[moments]]`, the real container, FakeSlack behind the gateway
and the Bolt app in-process (signed requests, after-ack work run when the test says)."""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs

from slack_bolt import App
from slack_sdk import WebClient
from sqlalchemy import update

from bot.container import Container
from bot.jobs.kinds import Kind
from bot.schema import jobs
from bot.settings import Settings
from bot.slack_app import SlackServices, build_app
from integrations.shopify.client import ShopifyGraphQL
from integrations.shopify.source import ShopifyStore
from integrations.shopify.webhooks import sign
from integrations.slack.gateway import SlackGateway
from policy.config import parse_policy
from tests.fakes import slack_requests as sr
from tests.fakes.shopify import FakeClock, FakeShopify
from tests.fakes.slack import FakeSlack
from tests.slack.dispatch import Harness, ManualExecutor

NOW = datetime(2026, 11, 2, 14, 0, tzinfo=timezone.utc)
SIGNING_SECRET = "moments-signing-secret"
WEBHOOK_SECRET = "moments-webhook-secret"
VIPS = "C0VIPS0001"
OWNER, OTHER = "U0OWNER001", "U0OTHER002"  # OTHER may look things up ([access] lookup)

POLICY = f"""
[slack]
review_channel = "C0REVIEW01"

[access]
lookup = ["{OTHER}"]

[[moments]]
name = "big-first-order"
trigger = "first_order_over"
amount = 500
owner = "{VIPS}"
customer_tags = ["vip-prospect", "big-first-order"]
order_tags = ["vip-order"]

[moments.followup]
text = "Send a handwritten thank-you card"
owner = "{OWNER}"
due_in_hours = 24
dm_after_hours = 2

[[moments]]
name = "new-vip"
trigger = "became_vip"
lifetime_spend = 2000
owner = "{OWNER}"
customer_tags = ["VIP"]
"""


class Clock:
    def __init__(self, at: datetime = NOW) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


@dataclass
class Shop:
    h: Harness
    fake: FakeShopify
    clock: Clock

    @property
    def c(self) -> Container:
        return self.h.c

    def deliver_order(self, order_gid: str, *, delivery: str) -> bool:
        """orders/create as Shopify posts it (signed, into the inbox)."""
        order = self.fake.orders[order_gid]
        body = json.dumps({
            "id": int(order_gid.rsplit("/", 1)[1]), "admin_graphql_api_id": order_gid, "name": order["name"],
            "created_at": order["createdAt"], "currency": "USD", "total_price": str(order["_total"]),
            "customer": {"admin_graphql_api_id": order["_customer"]}, "line_items": [],
        }).encode()
        assert sign(WEBHOOK_SECRET.encode(), body)  # the shape the route verifies
        return self.c.inbox.receive(source="shopify", delivery_id=delivery, topic="orders/create", body=body)

    def drain(self) -> None:
        self.c.drain()

    def tags_add_calls(self) -> list:
        return self.fake.calls_to("TagsAdd")

    def rerun_finished(self, kind: Kind) -> int:
        """A retry of every finished job of `kind`, as after a crash before its completion
        was recorded (the vendor call had happened)."""
        with self.c.engine.begin() as conn:
            n = conn.execute(update(jobs).where(jobs.c.kind == kind.value, jobs.c.status == "done")
                             .values(status="pending", next_attempt_at=self.clock())).rowcount
        self.drain()
        return n

    def alert_posts(self, channel: str = VIPS) -> list:
        return [c for c in self.h.slack.calls_to("chat.postMessage")
                if c.params.get("channel") == channel and not c.params.get("thread_ts")]

    def overflow(self, block_id: str, action_id: str, value: str, user: str, *, channel: str, ts: str):
        raw, _ = sr.block_action("", action_id, user_id=user, channel=channel, message_ts=ts, block_id=block_id)
        body = json.loads(parse_qs(raw.decode())["payload"][0])
        action = body["actions"][0]
        for key in ("value", "text", "style"):
            action.pop(key, None)
        action.update(type="overflow", selected_option={"text": {"type": "plain_text", "text": "Snooze"},
                                                        "value": value})
        return self.h.dispatch(*sr._form_payload(body), secret=SIGNING_SECRET)


@contextmanager
def shop_for(database_url: str, *, policy: str = POLICY):
    clock = Clock()
    fake = FakeShopify(currency="USD", now=clock)
    ticks = FakeClock(start=NOW)
    client = ShopifyGraphQL(fake.graphql_url(), fake.access_token, http=fake.http_client(),
                            sleep=ticks.sleep, monotonic=ticks.monotonic)
    store = ShopifyStore(client, shop_domain=fake.shop_domain, now=clock)
    slack = FakeSlack().start()
    settings = Settings(_env_file=None, database_url=database_url, shopify_api_secret=WEBHOOK_SECRET,
                        shopify_shop=fake.shop_domain, shopify_access_token="shpat_test_unused",
                        slack_bot_token=slack.token, slack_signing_secret=SIGNING_SECRET,
                        slack_api_url=slack.base_url)
    web = WebClient(token=slack.token, base_url=slack.base_url, timeout=5)
    gateway = SlackGateway(web, min_interval_per_channel=0.0, backoff_base=0.01, backoff_max=0.05,
                           max_wait=1.0, sleep=lambda seconds: None)
    c = Container.build(settings, clock=clock, store=store, policy=parse_policy(policy),
                        slack_client=web, slack_gateway=gateway)
    background = ManualExecutor()
    services = SlackServices(decide=c.decide, gateway=c.gateway, views=c.views, lookup=c.lookup,
                             playbook=c.playbook, digest=c.digest, home=c.home, background=background,
                             tasks=c.follow_tasks)
    services.identity.spawn = background.submit
    if getattr(c.decide, "membership", None) is not None:
        c.decide.membership.spawn = background.submit
    app: App = build_app(settings, services, web)
    h = Harness(c, app, slack, services, background, store)
    try:
        yield Shop(h=h, fake=fake, clock=clock)
    finally:
        background.shutdown()
        c.engine.dispose()
        slack.stop()
        client.close()
