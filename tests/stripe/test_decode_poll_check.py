"""After the 200: a warning event read again from Stripe and linked to its order; a
resolved one; our own refund's events; the events poller's cursor and poison items; and
`returnsbot check` / settings naming a wrong key or a missing permission in one line."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from integrations.sample.store import SampleStore
from integrations.stripe.client import StripeAPI
from integrations.stripe.connector import StripeConnector
from integrations.stripe.poller import EventsPoller
from policy.models import EventKind
from policy.payments import EarlyFraudWarning, LinkMethod
from policy.ports import IntegrationError
from tests.bot.cli_support import clean_env, restore_logging, run_check, sqlite_file  # noqa: F401
from tests.fakes.stripe import FakeStripe

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def fake():
    fake = FakeStripe(now=lambda: NOW.timestamp())
    with fake.serve():
        yield fake


@pytest.fixture
def store():
    return SampleStore.load(now=NOW)


def _stripe(fake, store):
    api = StripeAPI(fake.api_key, base=fake.base_url, max_network_retries=0)
    return StripeConnector(api, store=store, webhook_secret=None, clock=lambda: NOW)


def _warned(fake, store, **charge):
    order = store.find_orders("1001")[0]
    c = fake.add_charge(amount=order.total.to_minor(), metadata={"order_id": order.id}, **charge)
    return order, c, fake.add_warning(c["id"], fraud_type="card_never_received")


def test_a_warning_event_is_read_again_and_linked(fake, store):
    order, charge, warning = _warned(fake, store)
    stale_copy = {**warning, "fraud_type": "misc"}  # the delivery's copy is not trusted
    event = _stripe(fake, store).decode("radar.early_fraud_warning.created",
                                        fake.event("radar.early_fraud_warning.created", stale_copy))
    assert (event.kind, event.source, event.resource_id, event.order_id) == (
        EventKind.FRAUD_WARNING, "stripe", warning["id"], order.id)
    efw = EarlyFraudWarning.model_validate_json(event.detail["warning"])
    assert efw.fraud_type == "card_never_received" and efw.left_to_refund == order.total
    assert efw.link.method is LinkMethod.METADATA
    assert [c.path for c in fake.calls] == [f"/v1/radar/early_fraud_warnings/{warning['id']}",
                                            f"/v1/charges/{charge['id']}"]


def test_a_warning_no_longer_actionable_resolves_with_the_reason(fake, store):
    _, charge, warning = _warned(fake, store)
    warning["actionable"] = False
    charge["disputed"] = True
    event = _stripe(fake, store).decode("radar.early_fraud_warning.updated",
                                        fake.event("radar.early_fraud_warning.updated", warning))
    assert event.kind is EventKind.FRAUD_WARNING_RESOLVED and "disputed" in event.detail["reason"]


def test_a_warning_with_no_linkable_order_is_a_permanent_failure_naming_why(fake, store):
    c = fake.add_charge(amount=123, metadata={})
    w = fake.add_warning(c["id"])
    with pytest.raises(IntegrationError, match="no order found") as err:
        _stripe(fake, store).decode("radar.early_fraud_warning.created", fake.event("x", w))
    assert not err.value.retryable


def test_events_we_caused_and_other_types_are_ignored_without_a_call(fake, store):
    stripe = _stripe(fake, store)
    _, charge, warning = _warned(fake, store)
    ours = fake.event("radar.early_fraud_warning.updated", warning, idempotency_key="returnsbot:stripe:case-1:x")
    assert stripe.decode("radar.early_fraud_warning.updated", ours) is None
    refund = {"id": "re_1", "object": "refund", "charge": charge["id"], "amount": 100}
    assert stripe.decode("refund.created", fake.event("refund.created", refund, idempotency_key="returnsbot:k")) is None
    assert stripe.decode("review.opened", fake.event("review.opened", {"id": "prv_1"})) is None
    assert fake.calls == []


def test_the_poller_moves_its_cursor_and_parks_poison_items(fake, store):
    stripe = _stripe(fake, store)
    poller = EventsPoller(stripe.api, decode=stripe.decode, clock=lambda: NOW)
    _, _, warning = _warned(fake, store)
    fake.event("radar.early_fraud_warning.created", warning)
    fake.event("customer.created", {"id": "cus_1"})  # not a type we ask for
    poison = fake.event("radar.early_fraud_warning.created", {"id": "issfr_gone", "charge": "ch_x"})
    page = poller.fetch(None)
    assert [e.resource_id for e in page.events] == [warning["id"]]
    assert [u.ref for u in page.unmapped] == [poison["id"]]
    assert page.cursor.startswith(f"{poison['created']}:") and poison["id"] in page.cursor
    types = fake.calls_to("GET", "/v1/events")[0].params["types"]
    assert "customer.created" not in types.values() and "radar.early_fraud_warning.created" in types.values()
    again = poller.fetch(page.cursor)  # nothing new: events of the cursor's second are not decoded again
    assert again.events == [] and [u.ref for u in again.unmapped] == []
    later = fake.event("radar.early_fraud_warning.created", warning)  # same second, new event
    assert [e.resource_id for e in poller.fetch(again.cursor).events] == [warning["id"]]
    assert later["id"] in poller.fetch(again.cursor).cursor


def test_the_poller_pages_through_more_than_one_page(fake, store):
    stripe = _stripe(fake, store)
    poller = EventsPoller(stripe.api, decode=lambda t, e: None, clock=lambda: NOW)
    for n in range(105):
        fake.event("refund.created", {"id": f"re_{n}"})
    page = poller.fetch(None)
    assert len(fake.calls_to("GET", "/v1/events")) == 2 and page.cursor.endswith(fake.events[-1]["id"])
    assert len(page.cursor.split(":")[1].split(",")) == 105


# --- check and settings -----------------------------------------------------------------------




def test_check_pings_stripe_through_its_connector(sqlite_file, fake, capsys):
    sqlite_file.setenv("STRIPE_API_KEY", fake.api_key)
    sqlite_file.setenv("STRIPE_API_BASE", fake.base_url)
    code, out = run_check(capsys)
    assert "ok    stripe: key accepted" in out, out
    assert fake.api_key not in out


def test_check_names_a_missing_permission_of_a_restricted_key(sqlite_file, fake, capsys):
    fake.denied |= {"/v1/disputes", "/v1/radar"}
    sqlite_file.setenv("STRIPE_API_KEY", fake.api_key)
    sqlite_file.setenv("STRIPE_API_BASE", fake.base_url)
    code, out = run_check(capsys)
    line = next(line for line in out.splitlines() if "stripe:" in line)
    assert code == 1 and line.startswith("FAIL") and "Radar early fraud warnings, Disputes" in line


def test_check_says_a_refused_key_in_one_line(sqlite_file, fake, capsys):
    sqlite_file.setenv("STRIPE_API_KEY", "sk_test_not_the_key_98765")
    sqlite_file.setenv("STRIPE_API_BASE", fake.base_url)
    code, out = run_check(capsys)
    assert code == 1 and "Stripe refused STRIPE_API_KEY (401)" in out and "98765" not in out


@pytest.mark.parametrize("values, line", [
    ({"STRIPE_WEBHOOK_SECRET": "whsec_abc"}, "setting STRIPE_API_KEY: required when STRIPE_WEBHOOK_SECRET is set"),
    ({"STRIPE_API_KEY": "pk_live_abc"}, "setting STRIPE_API_KEY: expected a secret key (sk_…) or a restricted key"),
    ({"STRIPE_API_KEY": "sk_live_abc", "STRIPE_WEBHOOK_SECRET": "sk_live_abc"},
     "setting STRIPE_WEBHOOK_SECRET: expected the webhook endpoint's signing secret, whsec_…"),
    ({"STRIPE_APIKEY": "sk_live_abc"}, "setting STRIPE_APIKEY: not a returnsbot setting (did you mean STRIPE_API_KEY?)"),
])
def test_settings_problems_are_one_line_naming_the_setting(sqlite_file, capsys, values, line):
    for k, v in values.items():
        sqlite_file.setenv(k, v)
    code, out = run_check(capsys)
    assert code == 1 and f"FAIL  settings: {line}" in out
    assert "abc" not in out.replace("STRIPE_APIKEY", "")
