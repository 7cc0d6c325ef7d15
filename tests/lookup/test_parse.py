"""What `/order` text means: parsed in one place (bot.services.lookup.parse_query)."""

from __future__ import annotations

import pytest

from blocks.order import Problem
from bot.services.lookup import BadQuery, OrderQuery, QueryKind, parse_query


@pytest.mark.parametrize("text, kind, value", [
    ("1001", QueryKind.NUMBER, "1001"),
    ("#1001", QueryKind.NUMBER, "1001"),
    ("  #1001  ", QueryKind.NUMBER, "1001"),
    ("# 1001", QueryKind.NUMBER, "1001"),
    ("\u00a01001\t", QueryKind.NUMBER, "1001"),
    ("customer@example.com", QueryKind.EMAIL, "customer@example.com"),
    ("Jane.Doe+vip@Example.co.uk", QueryKind.EMAIL, "Jane.Doe+vip@Example.co.uk"),
    ("<mailto:customer@example.com|customer@example.com>", QueryKind.EMAIL, "customer@example.com"),
    ("<mailto:customer@example.com>", QueryKind.EMAIL, "customer@example.com"),
    (" <mailto:a@b.io|a@b.io> ", QueryKind.EMAIL, "a@b.io"),
    ("gid://shopify/Order/5001000034", QueryKind.GID, "gid://shopify/Order/5001000034"),
    ("https://admin.shopify.com/store/ridgeline/orders/5001000034", QueryKind.GID, "gid://shopify/Order/5001000034"),
    ("<https://admin.shopify.com/store/ridgeline/orders/5001000034?tab=x|link>", QueryKind.GID,
     "gid://shopify/Order/5001000034"),
    ("https://ridgeline.myshopify.com/admin/orders/42/", QueryKind.GID, "gid://shopify/Order/42"),
])
def test_accepted_forms(text, kind, value):
    assert parse_query(text) == OrderQuery(kind, value)


def test_store_query_and_display():
    assert parse_query("1001").store_query == "#1001"
    assert parse_query("a@b.io").store_query == "a@b.io"
    assert parse_query("gid://shopify/Order/1").display == "gid://shopify/Order/1"


@pytest.mark.parametrize("text", ["", "   ", None, "help", "HELP", "?"])
def test_empty_or_help_is_usage(text):
    with pytest.raises(BadQuery) as err:
        parse_query(text)
    assert err.value.problem is Problem.EMPTY


@pytest.mark.parametrize("text", [
    "payload", "order 1001", "1001 1002", "#", "#-1", "1001x", "12345678901234567890123",
    "gid://shopify/Customer/1", "gid://shopify/Order/abc", "gid://shopify/Order/1 extra",
    "not-an-email@", "@here", "<!channel>", "<@U123>", "a@b", "a@@b.com", "<mailto:a@b.com|x> y",
    "https://evil.example/orders/1", "javascript:alert(1)", "x" * 5000, "１００１",
])
def test_anything_else_is_malformed(text):
    with pytest.raises(BadQuery) as err:
        parse_query(text)
    assert err.value.problem is Problem.MALFORMED
    assert err.value.text == text.strip()
