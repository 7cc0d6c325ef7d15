"""`returnsbot shopify webhooks sync`: lists the app's subscriptions and creates what is
missing, reporting created / already there / failed; running it again changes nothing.
Documents validate against the 2026-10 schema and are executed by graphql-core there."""

from __future__ import annotations


import json

import httpx
import pytest

from bot.cli import main
from integrations.shopify import subscriptions
from integrations.shopify import webhooks as shw
from integrations.shopify.client import ShopifyGraphQL
from integrations.shopify.subscriptions import TOPICS, enum_topic, sync
from tests.bot.cli_support import clean_env, restore_logging  # noqa: F401
from tests.fakes.shopify_oauth import FakeAppAdmin, FakeTokenEndpoint, schema_2026_10, serve, validate_2026_10

CALLBACK = "https://bot.example/webhooks/shopify"
TOKEN = "shpat_static_for_sync"


@pytest.fixture
def admin() -> FakeAppAdmin:
    return FakeAppAdmin(token_ok=lambda t: t == TOKEN)


@pytest.fixture
def client(admin) -> ShopifyGraphQL:
    http = httpx.Client(transport=httpx.MockTransport(admin.transport_handler))
    c = ShopifyGraphQL("https://acme-test.myshopify.com/admin/api/2026-10/graphql.json", TOKEN, http=http,
                       sleep=lambda s: None)
    yield c
    c.close()


def test_every_topic_exists_in_the_2026_10_schema():
    enum = schema_2026_10().get_type("WebhookSubscriptionTopic")
    missing = [t for t in TOPICS if t not in enum.values]
    assert missing == []
    deprecated = [t for t in TOPICS if enum.values[t].deprecation_reason]
    assert deprecated == []


def test_every_topic_the_webhook_decoder_handles_is_subscribed():
    assert {enum_topic(t) for t in shw.TOPICS} <= set(TOPICS)


@pytest.mark.parametrize("name", sorted(subscriptions.DOCUMENTS))
def test_documents_validate_against_2026_10(name):
    assert validate_2026_10(subscriptions.DOCUMENTS[name]) == []


def test_the_scopes_query_validates_against_2026_10():
    from bot.shopify_connect import CURRENT_SCOPES

    assert validate_2026_10(CURRENT_SCOPES) == []


def test_sync_creates_every_missing_topic_then_finds_them_all_there(admin, client):
    report = sync(client, CALLBACK)
    assert report.count("created") == len(TOPICS) and not report.failed
    assert sorted(s["topic"] for s in admin.subscriptions) == sorted(TOPICS)
    assert {s["uri"] for s in admin.subscriptions} == {CALLBACK}
    assert {s["format"] for s in admin.subscriptions} == {"JSON"}
    again = sync(client, CALLBACK)
    assert again.count("ok") == len(TOPICS) and again.count("created") == 0
    assert len(admin.subscriptions) == len(TOPICS)
    assert admin.invalid_documents == []


def test_sync_creates_only_what_is_missing_and_reads_every_page(client):
    admin = FakeAppAdmin(page_size=2)
    for topic in TOPICS[:5]:
        admin.add(topic, CALLBACK)
    http = httpx.Client(transport=httpx.MockTransport(admin.transport_handler))
    c = ShopifyGraphQL("https://acme-test.myshopify.com/admin/api/2026-10/graphql.json", TOKEN, http=http)
    report = sync(c, CALLBACK)
    assert report.count("ok") == 5 and report.count("created") == len(TOPICS) - 5
    assert admin.operations.count("WebhookSubscriptions") == 3  # 5 subscriptions, 2 a page


def test_a_subscription_to_another_address_is_reported_not_deleted(admin, client):
    old = admin.add("RETURNS_REQUEST", "https://old-host.example/webhooks/shopify")
    report = sync(client, CALLBACK)
    notes = [line for line in report.lines if line.status == "note"]
    assert [n.topic for n in notes] == ["RETURNS_REQUEST"] and "old-host.example" in notes[0].text
    assert old in admin.subscriptions
    assert any(s["topic"] == "RETURNS_REQUEST" and s["uri"] == CALLBACK for s in admin.subscriptions)


def test_a_refused_topic_is_a_failure_and_the_rest_still_go_through(admin, client):
    admin.fail_create["DISPUTES_CREATE"] = "Access denied for disputes"
    report = sync(client, CALLBACK)
    assert report.failed
    [failed] = [line for line in report.lines if line.status == "FAIL"]
    assert failed.topic == "DISPUTES_CREATE" and "Access denied" in failed.text
    assert report.count("created") == len(TOPICS) - 1


def test_a_subscription_sending_xml_is_a_failure(admin, client):
    admin.add("ORDERS_CREATE", CALLBACK, fmt="XML")
    report = sync(client, CALLBACK)
    [failed] = [line for line in report.lines if line.status == "FAIL"]
    assert failed.topic == "ORDERS_CREATE" and "XML" in failed.text


def test_another_api_version_is_noted(client):
    admin = FakeAppAdmin(api_version="2026-07")
    http = httpx.Client(transport=httpx.MockTransport(admin.transport_handler))
    c = ShopifyGraphQL("https://acme-test.myshopify.com/admin/api/2026-10/graphql.json", TOKEN, http=http)
    report = sync(c, CALLBACK, api_version="2026-10")
    assert all("2026-07" in line.text for line in report.lines if line.status == "created")


def test_a_rejected_token_is_one_failure_line(client):
    admin = FakeAppAdmin(token_ok=lambda t: False)
    http = httpx.Client(transport=httpx.MockTransport(admin.transport_handler))
    c = ShopifyGraphQL("https://acme-test.myshopify.com/admin/api/2026-10/graphql.json", TOKEN, http=http)
    report = sync(c, CALLBACK)
    assert [line.status for line in report.lines] == ["FAIL"] and "401" in report.lines[0].text


# --- the command, end to end with the client credentials grant ----------------------------------


def test_the_command_syncs_over_the_client_credentials_grant(monkeypatch, capsys):
    tokens = FakeTokenEndpoint()
    admin = FakeAppAdmin(token_ok=lambda t: bool(tokens.issued) and t == tokens.issued[-1])

    def graphql(headers, body):
        status, payload = admin.handle(headers, body)
        return status, {"Content-Type": "application/json"}, json.dumps(payload).encode()

    with serve(tokens, graphql) as base:
        for k, v in {"SHOPIFY_SHOP": "acme-test.myshopify.com", "SHOPIFY_API_URL": base,
                     "SHOPIFY_CLIENT_ID": tokens.client_id, "SHOPIFY_API_SECRET": tokens.client_secret,
                     "SHOPIFY_API_VERSION": "2026-10", "RETURNSBOT_PUBLIC_URL": "https://bot.example"}.items():
            monkeypatch.setenv(k, v)
        assert main(["shopify", "webhooks", "sync"]) == 0
        out = capsys.readouterr().out
        assert f"{len(TOPICS)} created, 0 already there, 0 failed" in out
        assert main(["shopify", "webhooks", "sync"]) == 0
        out = capsys.readouterr().out
        assert f"0 created, {len(TOPICS)} already there, 0 failed" in out
        assert "compliance topics" in out and "https://bot.example/webhooks/shopify/compliance" in out
    assert [c.grant for c in tokens.calls] == ["client_credentials", "client_credentials"]
    assert tokens.client_secret not in out and not any(t in out for t in tokens.issued)


def test_the_command_needs_a_public_url(monkeypatch, capsys):
    for k, v in {"SHOPIFY_SHOP": "acme-test.myshopify.com", "SHOPIFY_ACCESS_TOKEN": TOKEN,
                 "SHOPIFY_API_SECRET": "x"}.items():
        monkeypatch.setenv(k, v)
    assert main(["shopify", "webhooks", "sync"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("returnsbot: setting RETURNSBOT_PUBLIC_URL:") and len(err.splitlines()) == 1


def test_the_key_command_prints_a_key_the_settings_accept(monkeypatch, capsys):
    from bot.settings import load_settings

    assert main(["shopify", "key"]) == 0
    key = capsys.readouterr().out.strip()
    monkeypatch.setenv("RETURNSBOT_ENCRYPTION_KEY", key)
    assert load_settings().returnsbot_encryption_key.get_secret_value() == key
