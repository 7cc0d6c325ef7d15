"""ShipStation settings: one line naming the setting for what can't work, notes for what a
partial setup can't do, never a secret's value; the registry builds the connector from them."""

from __future__ import annotations

import pytest

from bot import preflight
from bot.settings import SettingsError, load_settings
from integrations.registry import build_registry

TOKEN = "t" * 32


def _load(**kw):
    return load_settings(_env_file=None, **kw)


@pytest.mark.parametrize("kw, line", [
    (dict(shipstation_api_key="key-value-123"), "setting SHIPSTATION_API_SECRET: required when SHIPSTATION_API_KEY"),
    (dict(shipstation_api_secret="secret-value-123"), "setting SHIPSTATION_API_KEY: required when SHIPSTATION_API_SECRET"),
    (dict(shipstation_api_key="k", shipstation_api_secret="s", shipstation_webhook_token="short"),
     "setting SHIPSTATION_WEBHOOK_TOKEN: expected at least 24"),
    (dict(shipstation_api_key="k", shipstation_api_secret="s", shipstation_webhook_token="a/b?c=" + "x" * 30),
     "setting SHIPSTATION_WEBHOOK_TOKEN: expected at least 24"),
    (dict(shipstation_webhook_token=TOKEN), "setting SHIPSTATION_API_KEY: required when SHIPSTATION_WEBHOOK_TOKEN"),
])
def test_what_cannot_work_is_one_line_naming_the_setting(kw, line):
    with pytest.raises(SettingsError) as err:
        _load(**kw)
    text = str(err.value)
    assert text.startswith(line) and len(text.splitlines()) == 1
    for value in kw.values():
        if len(value) > 6:
            assert value not in text


def test_a_typo_in_a_shipstation_name_is_named(monkeypatch):
    monkeypatch.setenv("SHIPSTATION_API_SECRT", "x")
    with pytest.raises(SettingsError, match="SHIPSTATION_API_SECRT: not a returnsbot setting"):
        _load()


def test_partial_setups_are_noted_for_check_and_start_up():
    v1_only = _load(shipstation_api_key="k", shipstation_api_secret="s")
    notes = {f.what: f for f in preflight.shipstation(v1_only)}
    assert set(notes) == {"shipstation webhooks", "shipstation tracking"}
    assert not any(f.failed for f in notes.values())
    assert "SHIPSTATION_V2_API_KEY" in notes["shipstation tracking"].text
    v2_only = _load(shipstation_v2_api_key="v2", shipstation_webhook_token=TOKEN)
    assert [f.what for f in preflight.shipstation(v2_only)] == ["shipstation orders"]
    plain_jwks = _load(shipstation_v2_api_key="v2", shipstation_webhook_token=TOKEN,
                       shipstation_jwks_url="http://keys.example/jwks")
    assert any(f.failed and "SHIPSTATION_JWKS_URL" in f.text for f in preflight.shipstation(plain_jwks))
    assert preflight.shipstation(_load()) == []


def test_the_registry_builds_the_connector_from_settings():
    assert build_registry(_load(), clock=lambda: None).get("shipstation") is None
    settings = _load(shipstation_api_key="k", shipstation_api_secret="s", shipstation_v2_api_key="v2",
                     shipstation_webhook_token=TOKEN)
    ss = build_registry(settings, clock=lambda: None).get("shipstation")
    assert ss is not None and ss.capabilities == {"shipments"}
    [route] = ss.webhooks
    assert route.path == "/webhooks/shipstation/" and route.path_secret(TOKEN) and not route.path_secret("x" * 32)
    assert {p.name for p in ss.pollers} == {"shipstation.shipments", "shipstation.watch"}
