"""app.yaml — the manifest a user pastes to create the Slack app — is valid against Slack's
manifest schema and asks for exactly the scopes we can justify."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml
from referencing import Registry, Resource

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "tests" / "reference" / "slack" / "manifest-schema"
REMOTE = "https://raw.githubusercontent.com/slackapi/manifest-schema/v0.5.0/schemas/"
URL = "https://YOUR-HOST/slack/events"

#: Every bot scope and why; the manifest must ask for exactly these.
JUSTIFIED_BOT_SCOPES = {
    "chat:write": "post case cards, update them, ephemeral replies",
    "commands": "/order, /playbook, /followups and /policy",
    "usergroups:read": "approval tiers are Slack user groups",
    "channels:history": "message.channels + conversations.replies in public owner channels",
    "groups:history": "message.groups + conversations.replies in private owner channels",
    "users:read": "users.info: the approver of a ticket reply, matched to their helpdesk agent",
    "users:read.email": "users.info's email: the helpdesk agent is matched by it",
    "files:read": "/policy simulate reads the policy file an approver shared",
}


@pytest.fixture(scope="module")
def manifest() -> dict:
    return yaml.safe_load((ROOT / "app.yaml").read_text(encoding="utf-8"))


def _schema(name: str) -> dict:
    return json.loads((SCHEMAS / name).read_text(encoding="utf-8"))


def test_valid_against_the_newest_schema(manifest):
    schema = _schema("manifest.schema.2.0.0.json")
    jsonschema.Draft7Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(manifest), key=str)
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)
    assert manifest["_metadata"]["major_version"] == 2


def test_valid_against_the_versioned_root_schema(manifest):
    """The root schema picks 1.0.0 or 2.0.0 by _metadata.major_version (remote $refs,
    served here from the local copies — no network)."""
    registry = Registry().with_resources(
        (REMOTE + name, Resource.from_contents(_schema(name)))
        for name in ("manifest.schema.1.0.0.json", "manifest.schema.2.0.0.json")
    )
    validator = jsonschema.Draft7Validator(_schema("manifest.schema.json"), registry=registry)
    validator.validate(manifest)
    broken = {**manifest, "_metadata": {"major_version": 2}, "display_information": {"name": ""}}
    assert not validator.is_valid(broken)


def test_bot_scopes_are_exactly_the_justified_set(manifest):
    scopes = manifest["oauth_config"]["scopes"]
    assert set(scopes) == {"bot"}, "no user scopes"
    assert sorted(scopes["bot"]) == sorted(JUSTIFIED_BOT_SCOPES)
    assert len(scopes["bot"]) == len(set(scopes["bot"]))


def test_every_scope_line_carries_its_reason():
    text = (ROOT / "app.yaml").read_text(encoding="utf-8")
    for scope in JUSTIFIED_BOT_SCOPES:
        line = re.search(rf"^\s+- {re.escape(scope)}\s+#\s*(\S.*)$", text, re.M)
        assert line, f"{scope} has no justification comment in app.yaml"
        assert len(line.group(1)) > 10, f"{scope}: say why"


def test_commands_events_interactivity_and_settings(manifest):
    features, settings = manifest["features"], manifest["settings"]
    assert manifest["display_information"]["name"] == "returnsbot"
    assert features["bot_user"]["display_name"]
    assert features["app_home"]["home_tab_enabled"] is True

    commands = {c["command"]: c for c in features["slash_commands"]}
    assert set(commands) == {"/order", "/playbook", "/followups", "/policy"}
    assert commands["/policy"]["usage_hint"].startswith("simulate")
    assert commands["/order"]["description"] == "Look an order up"
    assert commands["/order"]["usage_hint"] == "1001 | #1001 | email | gid"
    assert commands["/playbook"]["description"] == "Search the playbook"
    assert commands["/followups"]["usage_hint"] == "[mine]"
    assert all(c["url"] == URL for c in commands.values())

    assert settings["interactivity"] == {"is_enabled": True, "request_url": URL}
    events = settings["event_subscriptions"]
    assert events["request_url"] == URL
    assert sorted(events["bot_events"]) == sorted(["message.channels", "message.groups", "app_home_opened"])
    assert "user_events" not in events
    assert settings["socket_mode_enabled"] is False
    assert settings["token_rotation_enabled"] is False


def test_event_subscriptions_have_their_scopes(manifest):
    """Slack refuses message.* subscriptions without the matching history scope."""
    needs = {"message.channels": "channels:history", "message.groups": "groups:history", "app_home_opened": None}
    bot = set(manifest["oauth_config"]["scopes"]["bot"])
    for event in manifest["settings"]["event_subscriptions"]["bot_events"]:
        assert needs[event] is None or needs[event] in bot


def test_manifest_shortcut_is_the_one_the_app_listens_for():
    import yaml

    from blocks.ids import PlaybookId

    manifest = yaml.safe_load((Path(__file__).resolve().parents[2] / "app.yaml").read_text())
    [shortcut] = manifest["features"]["shortcuts"]
    assert shortcut["type"] == "message" and shortcut["callback_id"] == PlaybookId.SAVE_SHORTCUT
