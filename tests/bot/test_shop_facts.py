"""The shop's currency and time zone at start-up (`Container.build`, `bot.shop`): asked of
Shopify, stored, made the effective policy; an unreachable shop falls back to what was
stored, then to the policy's own; a disagreeing policy is refused in one line."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.container import Container
from bot.settings import Settings, SettingsError
from bot.store.shop import ShopFactsRepo
from integrations.shopify.client import ShopifyGraphQL
from integrations.shopify.shop import SHOP_FACTS, shop_facts
from integrations.shopify.source import ShopifyStore
from policy.config import parse_policy
from policy.models import CaseStatus, DomainEvent, EventKind, ShopFacts, SignalCode
from policy.ports import IntegrationError
from tests.fakes.shopify import FakeClock, FakeShopify, validate_document


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake(fake_clock) -> FakeShopify:
    fake = FakeShopify(currency="EUR", monotonic=fake_clock.monotonic, now=fake_clock.now)
    fake.shop["ianaTimezone"] = "Europe/Berlin"
    return fake


@pytest.fixture
def shopify(fake, fake_clock):
    client = ShopifyGraphQL(fake.graphql_url(), fake.access_token, http=fake.http_client(), sleep=fake_clock.sleep,
                            monotonic=fake_clock.monotonic)
    yield ShopifyStore(client, shop_domain=fake.shop_domain, now=fake_clock.now)
    client.close()


def build(database_url, engine, store, policy: str = "", clock=None) -> Container:
    return Container.build(Settings(_env_file=None, database_url=database_url), store=store, engine=engine,
                           policy=parse_policy(policy), **({"clock": clock} if clock else {}))


def unreachable(fake: FakeShopify) -> None:
    fake.access_token = "shpat_rotated_elsewhere"  # every request is a 401 now


def test_the_shop_facts_document_validates_and_maps(fake, shopify):
    assert validate_document(SHOP_FACTS) == []
    assert shop_facts(shopify.client) == ShopFacts(currency="EUR", timezone="Europe/Berlin", name="Acme Test Store")


def test_a_shop_answer_without_a_usable_zone_is_an_integration_error(fake, shopify):
    fake.shop["ianaTimezone"] = "Nowhere/Special"
    with pytest.raises(IntegrationError, match="no usable currency or time zone"):
        shop_facts(shopify.client)


def test_a_eur_shop_with_the_default_policy_runs_in_euros_and_berlin_time(database_url, engine, shopify, fake_clock):
    c = build(database_url, engine, shopify, clock=fake_clock.now)
    assert (c.policy.store.currency, c.policy.store.timezone) == ("EUR", "Europe/Berlin")
    assert c.ingest.policy is c.policy and c.decide.policy is c.policy and c.views.policy is c.policy
    stored = ShopFactsRepo(engine).load("shopify")
    assert stored.facts == ShopFacts(currency="EUR", timezone="Europe/Berlin", name="Acme Test Store")
    assert stored.fetched_at == fake_clock.now()


def test_a_restart_while_the_shop_is_unreachable_uses_what_it_said_last(database_url, engine, fake, shopify, caplog):
    build(database_url, engine, shopify)
    unreachable(fake)
    with caplog.at_level(logging.WARNING, logger="bot.container"):
        c = build(database_url, engine, shopify)
    assert (c.policy.store.currency, c.policy.store.timezone) == ("EUR", "Europe/Berlin")
    assert "as Shopify said on" in caplog.text and "Shopify didn't answer" in caplog.text


def test_unreachable_with_nothing_stored_and_nothing_stated_is_one_line(database_url, engine, fake, shopify):
    unreachable(fake)
    with pytest.raises(SettingsError) as caught:
        build(database_url, engine, shopify)
    [line] = str(caught.value).splitlines()
    assert line.startswith("the shop's currency and time zone are not known: Shopify didn't answer (")
    assert line.endswith("and no earlier answer is stored; set [store] currency and timezone in the policy, "
                         "or fix the connection")
    assert "shpat_" not in line


def test_unreachable_with_nothing_stored_names_only_what_the_policy_leaves_out(database_url, engine, fake, shopify):
    unreachable(fake)
    with pytest.raises(SettingsError, match=r"the shop's time zone is not known: .* set \[store\] timezone in"):
        build(database_url, engine, shopify, '[store]\ncurrency = "EUR"\n')


def test_unreachable_with_nothing_stored_runs_with_a_policy_that_states_both(database_url, engine, fake, shopify):
    unreachable(fake)
    c = build(database_url, engine, shopify, '[store]\ncurrency = "EUR"\ntimezone = "Europe/Berlin"\n')
    assert c.policy.shop_currency == "EUR"
    assert ShopFactsRepo(engine).load("shopify") is None  # the policy's say is not the shop's


def test_a_policy_that_disagrees_with_the_shop_is_refused(database_url, engine, shopify):
    with pytest.raises(SettingsError) as caught:
        build(database_url, engine, shopify, '[store]\ncurrency = "USD"\n')
    assert str(caught.value) == "policy [store] currency is USD but the shop prices in EUR (leave it out to use the shop's)"


def test_stored_facts_that_disagree_with_the_policy_are_refused_too(database_url, engine, fake, shopify):
    build(database_url, engine, shopify)
    unreachable(fake)
    with pytest.raises(SettingsError, match="policy \\[store\\] timezone is UTC but the shop's time zone is Europe/Berlin"):
        build(database_url, engine, shopify, '[store]\ntimezone = "UTC"\n')


def test_a_new_answer_replaces_the_stored_one(database_url, engine, fake, shopify):
    build(database_url, engine, shopify)
    fake.shop["ianaTimezone"] = "Europe/Paris"
    assert build(database_url, engine, shopify).policy.store.timezone == "Europe/Paris"
    assert ShopFactsRepo(engine).load("shopify").facts.timezone == "Europe/Paris"


def test_the_sample_store_brings_its_own_facts(database_url, engine):
    from integrations.sample import SampleStore

    c = build(database_url, engine, SampleStore.load(variant="eur"))
    assert (c.policy.store.currency, c.policy.store.timezone) == ("EUR", "Europe/Berlin")
    assert ShopFactsRepo(engine).load("sample").facts.name == "Ridgeline Outfitters Europe"


def test_a_return_window_is_counted_in_the_time_zone_shopify_reports(database_url, engine, fake, shopify, fake_clock):
    """Delivered 09:00 on 1 June in New York; requested 23:00 on 1 July, which is already
    2 July in UTC: day 30 of a 30-day window in the shop, day 31 in UTC."""
    ny = ZoneInfo("America/New_York")
    fake.shop["ianaTimezone"] = "America/New_York"
    delivered = datetime(2026, 6, 1, 9, 0, tzinfo=ny)
    requested = datetime(2026, 7, 1, 23, 0, tzinfo=ny)
    customer = fake.add_customer()
    order = fake.add_order(customer_id=customer, created_at=delivered - timedelta(days=4), delivered_at=delivered,
                           line_items=[{"title": "Merino Sweater", "price": "49.00"}])
    ret = fake.add_return(order, requested_at=requested, reason="DEFECTIVE")
    event = DomainEvent(source="shopify", kind=EventKind.RETURN_REQUESTED, resource_id=ret, order_id=order)

    c = build(database_url, engine, shopify, clock=lambda: requested + timedelta(minutes=5))
    assert c.policy.store.timezone == "America/New_York"
    case = c.ingest.ingest(event).case
    assert SignalCode.OUTSIDE_WINDOW.value not in case.signal_codes
    # Counted in UTC it would have been a late return, denied (tests/policy/test_shop_money.py).
    assert case.auto_approved and case.status in (CaseStatus.APPROVED, CaseStatus.DONE)
