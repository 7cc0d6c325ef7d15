"""`serve` and `check` agree about the shop's currency and time zone: a policy that states
another than the shop's is refused by `serve` in one line naming both (exit 2, before any
worker starts) and failed by `check` with the same line (exit 1). Before, `check` printed
the shop's currency and said ok, and a EUR shop ran on a dollar policy."""

from __future__ import annotations

import pytest

from bot.cli import main
from tests.bot.cli_support import clean_env, restore_logging  # noqa: F401
from tests.bot.test_startup import assert_agree, check_failures, never_serves, refusal, sqlite_database  # noqa: F401
from tests.fakes.shopify import FakeShopify


@pytest.fixture
def policy_file(monkeypatch, tmp_path):
    def write(text: str):
        path = tmp_path / "policy.toml"
        path.write_text(text)
        monkeypatch.setenv("RETURNSBOT_POLICY", str(path))
        return path

    return write


@pytest.fixture
def eur_shop(monkeypatch):
    """A real-shaped Shopify over HTTP that prices in euros, in Berlin."""
    fake = FakeShopify(currency="EUR")
    fake.shop["ianaTimezone"] = "Europe/Berlin"
    with fake.serve() as base_url:
        for key, value in {"SHOPIFY_SHOP": fake.shop_domain, "SHOPIFY_ACCESS_TOKEN": fake.access_token,
                           "SHOPIFY_API_SECRET": "webhook-secret", "SHOPIFY_API_URL": base_url}.items():
            monkeypatch.setenv(key, value)
        yield fake


def test_a_dollar_policy_on_a_euro_shop_is_refused_by_serve_and_check(capsys, never_serves, eur_shop, policy_file):
    policy_file('[store]\ncurrency = "USD"\n')
    line = assert_agree(capsys, "USD", "EUR")
    assert line == "policy [store] currency is USD but the shop prices in EUR (leave it out to use the shop's)"


def test_a_time_zone_the_shop_does_not_use_is_refused(capsys, never_serves, eur_shop, policy_file):
    policy_file('[store]\ntimezone = "America/New_York"\n')
    line = assert_agree(capsys, "America/New_York", "Europe/Berlin")
    assert line.startswith("policy [store] timezone is America/New_York but the shop's time zone is Europe/Berlin")


def test_the_sample_store_is_a_dollar_shop_and_says_so(capsys, never_serves, policy_file):
    policy_file('[store]\ncurrency = "EUR"\n')
    assert assert_agree(capsys, "EUR", "USD").startswith("policy [store] currency is EUR but the shop prices in USD")


def test_check_says_what_the_shop_prices_in_and_where_that_came_from(capsys, eur_shop):
    assert main(["check"]) == 0, capsys.readouterr().out
    out = capsys.readouterr().out
    assert "ok    shop: prices in EUR, time zone Europe/Berlin (as Shopify says)" in out


def test_an_unreachable_shop_with_nothing_known_is_one_line_in_serve_and_check(capsys, never_serves, eur_shop):
    eur_shop.access_token = "shpat_rotated_elsewhere"  # Shopify refuses ours now: 401, no retries
    line = assert_agree(capsys, "not known", "Shopify rejected the access token")
    assert line == ("the shop's currency and time zone are not known: Shopify didn't answer (Shopify rejected the "
                    "access token (HTTP 401): it is wrong, expired or revoked) and no earlier answer is stored; set [store] currency and timezone in "
                    "the policy, or fix the connection")


def test_a_restart_while_the_shop_is_unreachable_uses_what_was_stored(capsys, never_serves, eur_shop, policy_file):
    """A start stores the shop's answer; with the shop gone, `check` says what the next start
    will use, and a start with a disagreeing policy is still refused."""
    from bot.container import Container
    from bot.settings import load_settings

    assert main(["db", "upgrade"]) == 0
    Container.build(load_settings()).engine.dispose()  # what `serve` does first
    capsys.readouterr()
    eur_shop.access_token = "shpat_rotated_elsewhere"
    assert main(["check"]) == 1  # the Shopify line fails: the token is refused
    out = capsys.readouterr().out
    assert "note  shop: prices in EUR, time zone Europe/Berlin (as Shopify said on " in out
    assert "FAIL  shop:" not in out
    policy_file('[store]\ncurrency = "USD"\n')
    assert "policy [store] currency is USD but the shop prices in EUR" in refusal(capsys)


def test_a_zero_decimal_shop_on_the_default_thresholds_gets_a_note(capsys, monkeypatch):
    fake = FakeShopify(currency="JPY")
    fake.shop["ianaTimezone"] = "Asia/Tokyo"
    with fake.serve() as base_url:
        for key, value in {"SHOPIFY_SHOP": fake.shop_domain, "SHOPIFY_ACCESS_TOKEN": fake.access_token,
                           "SHOPIFY_API_SECRET": "webhook-secret", "SHOPIFY_API_URL": base_url}.items():
            monkeypatch.setenv(key, value)
        assert main(["check"]) == 0
    out = capsys.readouterr().out
    assert "note  policy: the money thresholds are the built-in ones (tier 1 up to 250 JPY" in out
