"""`returnsbot check` with a helpdesk configured: one line per helpdesk, naming the key
that was refused (never its value); with none, the sample helpdesk's line."""

from __future__ import annotations

import pytest

from tests.bot.cli_support import check_lines, clean_env, restore_logging, run_check, sqlite_file  # noqa: F401
from tests.fakes import gorgias as fg, zendesk as fz


@pytest.fixture(autouse=True)
def _sqlite(sqlite_file):
    return sqlite_file


def _lines(capsys) -> tuple[int, dict[str, tuple[str, str]]]:
    code, out = run_check(capsys)
    return code, {what: (status, text) for status, what, text in check_lines(out)}


def test_check_tries_both_helpdesks_and_names_the_refused_key(monkeypatch, capsys):
    g, z = fg.FakeGorgias(), fz.FakeZendesk()
    with g.serve() as gbase, z.serve() as zbase:
        for k, v in {"GORGIAS_DOMAIN": "ridgeline", "GORGIAS_EMAIL": fg.EMAIL, "GORGIAS_API_KEY": "not-the-key",
                     "GORGIAS_API_URL": gbase, "ZENDESK_SUBDOMAIN": "ridgeline", "ZENDESK_EMAIL": fz.EMAIL,
                     "ZENDESK_API_TOKEN": fz.API_TOKEN, "ZENDESK_API_URL": zbase}.items():
            monkeypatch.setenv(k, v)
        code, lines = _lines(capsys)
    assert code == 1
    status, text = lines["gorgias"]
    assert status == "FAIL" and "HTTP 401" in text and "GORGIAS_API_KEY" in text and "not-the-key" not in text
    assert lines["zendesk"] == ("ok", f"reachable as {fz.EMAIL} (admin)")
    assert "sample_helpdesk" not in lines  # a real helpdesk is configured


def test_without_a_helpdesk_the_sample_one_is_named(capsys):
    code, lines = _lines(capsys)
    assert lines["sample_helpdesk"][0] == "ok" and "sample tickets" in lines["sample_helpdesk"][1]


def test_the_registry_from_settings():
    from bot.clock import utcnow
    from bot.settings import load_settings
    from integrations.registry import build_registry
    from policy.tickets import TicketOperation

    settings = load_settings(_env_file=None, gorgias_domain="ridgeline", gorgias_email=fg.EMAIL, gorgias_api_key="k",
                             gorgias_webhook_token="t" * 32, zendesk_subdomain="ridgeline", zendesk_email=fz.EMAIL,
                             zendesk_api_token="t", zendesk_webhook_secret="s")
    registry = build_registry(settings, clock=utcnow)
    assert [c.name for c in registry.helpdesks] == ["gorgias", "zendesk"]
    routes = {w.source: w for w in registry.webhooks}
    assert routes["gorgias"].path == "/webhooks/gorgias/" and routes["gorgias"].path_secret("t" * 32)
    assert not routes["gorgias"].path_secret("t" * 31)
    assert routes["zendesk"].path == "/webhooks/zendesk" and routes["zendesk"].path_secret is None
    assert {p.name for p in registry.pollers} >= {"gorgias.tickets", "zendesk.tickets"}
    gorgias = registry.get("gorgias")
    assert gorgias.helpdesk.api.base_url == "https://ridgeline.gorgias.com"
    assert registry.get("zendesk").helpdesk.api.base_url == "https://ridgeline.zendesk.com"
    assert set(gorgias.actions) == {TicketOperation.POST_REPLY, TicketOperation.ADD_NOTE,
                                    TicketOperation.SET_TAGS_STATUS}
    assert registry.for_system("zendesk") is registry.get("zendesk")
    without_hooks = build_registry(load_settings(_env_file=None, zendesk_subdomain="r", zendesk_email=fz.EMAIL,
                                                 zendesk_api_token="t"), clock=utcnow)
    assert not [w for w in without_hooks.webhooks if w.source == "zendesk"]  # no secret: no route


def test_a_case_context_gains_the_customers_recent_tickets():
    import httpx

    from bot.services.context import assemble, contribute
    from integrations.sample.store import SampleStore
    from tests.helpdesk.helpers import gorgias_conn

    store = SampleStore.load()
    event = next(e for e in store.events() if e.kind.value == "return_requested")
    ctx = assemble(event, store, now=store.now, lookback_days=180)
    email = ctx.customer.email if ctx.customer else ctx.order.email
    fake = fg.FakeGorgias()
    mine = [fake.add_ticket(f"About my order {n}", email=email) for n in range(7)]
    fake.add_ticket("Someone else's", email="other@example.com")
    conn = gorgias_conn(fake, "https://x.gorgias.com", clock=lambda: fake.now,
                        http=httpx.Client(transport=fake.transport()))
    added = contribute(ctx, [conn])
    assert len(added.tickets) == 5 and {t.id for t in added.tickets} <= {str(i) for i in mine}
    assert all(t.requester_email == email and t.source == "gorgias" for t in added.tickets)
    assert added.unavailable == ()
