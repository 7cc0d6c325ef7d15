"""Start-up and `returnsbot check` agree: a configuration that cannot work is refused by
`serve` in one line naming the setting (exit 2), before any worker, scheduler or Slack post
starts, and `check` prints the same text on a FAIL line (exit 1). No traceback, no secret.

Each case here was seen on a fresh clone: `check` said ok, or `serve` ran doing nothing,
spun, or printed a 120-line traceback."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest

from bot.cli import main
from bot.server import Server
from tests.bot.cli_support import clean_env, restore_logging  # noqa: F401
from tests.conftest import TEST_DATABASE_URL
from tests.fakes.slack import APP_TOKEN, FakeSlack

BOT_TOKEN_SECRET = "xoxb-do-not-print-bot-token"
SIGNING_SECRET = "signing-secret-do-not-print"
SHOPIFY_TOKEN = "shpat_do_not_print_me_123"
DB_PASSWORD = "hunter2-do-not-print"
SECRETS = (BOT_TOKEN_SECRET, SIGNING_SECRET, SHOPIFY_TOKEN, DB_PASSWORD, APP_TOKEN)

REVIEW_POLICY = '[slack]\nreview_channel = "C0REVIEW01"\ndigest_channel = "C0DIGEST01"\n'
SERVE = ["serve", "--host", "127.0.0.1", "--port", "0"]


@pytest.fixture(autouse=True)
def sqlite_database(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "returnsbot.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")
    return path


@pytest.fixture
def never_serves(monkeypatch):
    """A refusal must come before the server starts anything. Without the refusal the test
    fails here instead of serving forever."""

    def started(self):
        raise AssertionError("serve started its workers although the configuration cannot work")

    monkeypatch.setattr(Server, "start", started)


@pytest.fixture
def slack(monkeypatch, tmp_path):
    """Slack configured against a FakeSlack, with a policy that names the channels."""
    with FakeSlack() as fake:
        monkeypatch.setenv("SLACK_BOT_TOKEN", fake.token)
        monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
        monkeypatch.setenv("SLACK_API_URL", fake.base_url)
        policy = tmp_path / "policy.toml"
        policy.write_text(REVIEW_POLICY)
        monkeypatch.setenv("RETURNSBOT_POLICY", str(policy))
        yield fake


def _set(monkeypatch, env: dict[str, str]) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)


def _no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


def refusal(capsys, argv=SERVE) -> str:
    """Run the command; it must refuse with exactly one line. Returns the line's text."""
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 2, captured
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err + captured.out
    _no_secret(captured.err + captured.out)
    assert lines[0].startswith("returnsbot: ")
    return lines[0][len("returnsbot: "):]


def check_failures(capsys) -> list[str]:
    """Run `check`; it must exit 1. Returns the text of its FAIL lines."""
    code = main(["check"])
    captured = capsys.readouterr()
    assert code == 1, captured.out
    assert "Traceback" not in captured.err + captured.out
    _no_secret(captured.err + captured.out)
    return [line.split(": ", 1)[1] for line in captured.out.splitlines() if line.startswith("FAIL")]


def assert_agree(capsys, *names: str) -> str:
    """`serve` refuses with one line naming each of `names`, and `check` fails with that line."""
    line = refusal(capsys)
    for name in names:
        assert name in line
    assert line in check_failures(capsys)
    return line


# --- settings that cannot work ------------------------------------------------------------------

@pytest.mark.parametrize(
    "env, names",
    [
        # Finding 1: one Slack setting without the other opened cases and posted no card.
        ({"SLACK_BOT_TOKEN": BOT_TOKEN_SECRET}, ["SLACK_SIGNING_SECRET"]),
        ({"SLACK_SIGNING_SECRET": SIGNING_SECRET}, ["SLACK_BOT_TOKEN"]),
        ({"SLACK_APP_TOKEN": APP_TOKEN}, ["SLACK_BOT_TOKEN"]),
        # Finding 3, the format half: an app token that is not one.
        ({"SLACK_BOT_TOKEN": BOT_TOKEN_SECRET, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
          "SLACK_APP_TOKEN": BOT_TOKEN_SECRET}, ["SLACK_APP_TOKEN", "xapp-"]),
        # Finding 4: a negative interval spun the scheduler at 100% CPU.
        ({"RETURNSBOT_POLL_INTERVAL": "-5"}, ["RETURNSBOT_POLL_INTERVAL"]),
        ({"RETURNSBOT_POLL_INTERVAL": "0"}, ["RETURNSBOT_POLL_INTERVAL"]),
        ({"RETURNSBOT_POLL_INTERVAL": "9"}, ["RETURNSBOT_POLL_INTERVAL"]),
        ({"RETURNSBOT_POLL_INTERVAL": "86401"}, ["RETURNSBOT_POLL_INTERVAL"]),
        ({"RETURNSBOT_POLL_INTERVAL": "soon"}, ["RETURNSBOT_POLL_INTERVAL"]),
        # Finding 5: a bad log level was a traceback.
        ({"RETURNSBOT_LOG_LEVEL": "LOUD"}, ["RETURNSBOT_LOG_LEVEL"]),
        ({"RETURNSBOT_LOG_FORMAT": "xml"}, ["RETURNSBOT_LOG_FORMAT"]),
        # Finding 9: the retry budget and retention settings.
        ({"RETURNSBOT_RETRY_BUDGET_HOURS": "0"}, ["RETURNSBOT_RETRY_BUDGET_HOURS"]),
        ({"RETURNSBOT_RETRY_BUDGET_HOURS": "168.5"}, ["RETURNSBOT_RETRY_BUDGET_HOURS"]),
        ({"RETURNSBOT_RETRY_BUDGET_HOURS": "nan"}, ["RETURNSBOT_RETRY_BUDGET_HOURS"]),
        ({"RETURNSBOT_RETENTION_DAYS": "0"}, ["RETURNSBOT_RETENTION_DAYS"]),
        # Finding 7: any SHOPIFY_* setting means a real shop, never the sample store.
        ({"SHOPIFY_API_SECRET": "whsec"}, ["SHOPIFY_SHOP", "SHOPIFY_ACCESS_TOKEN", "SHOPIFY_API_SECRET"]),
        ({"SHOPIFY_ACCESS_TOKEN": SHOPIFY_TOKEN}, ["SHOPIFY_SHOP"]),
        ({"SHOPIFY_SHOP": "acme.myshopify.com"}, ["SHOPIFY_ACCESS_TOKEN"]),
        ({"SHOPIFY_API_URL": "http://127.0.0.1:9"}, ["SHOPIFY_SHOP", "SHOPIFY_ACCESS_TOKEN", "SHOPIFY_API_URL"]),
        ({"SHOPIFY_API_VERSION": "2025-01"}, ["SHOPIFY_SHOP", "SHOPIFY_ACCESS_TOKEN", "SHOPIFY_API_VERSION"]),
        ({"SHOPIFY_ACCES_TOKEN": SHOPIFY_TOKEN}, ["SHOPIFY_ACCES_TOKEN", "SHOPIFY_ACCESS_TOKEN"]),
        # Shop and token but no webhook secret: `serve` would refuse every delivery.
        ({"SHOPIFY_SHOP": "acme.myshopify.com", "SHOPIFY_ACCESS_TOKEN": SHOPIFY_TOKEN,
          "SHOPIFY_API_URL": "http://127.0.0.1:9"}, ["SHOPIFY_API_SECRET"]),
    ],
)
def test_serve_refuses_and_check_fails_with_the_same_line(monkeypatch, capsys, never_serves, env, names):
    _set(monkeypatch, env)
    assert_agree(capsys, *names)


def test_the_sample_store_is_used_only_without_any_shopify_setting(monkeypatch):
    from bot.settings import load_settings

    assert load_settings().uses_sample_store
    _set(monkeypatch, {"SHOPIFY_SHOP": "acme.myshopify.com", "SHOPIFY_ACCESS_TOKEN": SHOPIFY_TOKEN})
    settings = load_settings()
    assert not settings.uses_sample_store and settings.shopify_configured
    # An empty value is the same as unset (a `.env` copied from an example).
    monkeypatch.setenv("SHOPIFY_SHOP", "")
    monkeypatch.setenv("SHOPIFY_ACCESS_TOKEN", "")
    assert load_settings().uses_sample_store


def test_slack_without_a_review_channel_is_refused(monkeypatch, capsys, never_serves, slack, tmp_path):
    """Finding 2: `check` already failed it; `serve` ran and posted nothing."""
    (tmp_path / "policy.toml").write_text("[slack]\n")
    line = assert_agree(capsys, "review_channel")
    assert "policy.toml" in line
    assert slack.calls_to("chat.postMessage") == []


def test_a_poll_interval_in_range_is_accepted(monkeypatch):
    from bot.settings import load_settings

    monkeypatch.setenv("RETURNSBOT_POLL_INTERVAL", "10")
    assert load_settings().returnsbot_poll_interval == 10
    monkeypatch.setenv("RETURNSBOT_POLL_INTERVAL", "86400")
    assert load_settings().returnsbot_poll_interval == 86400


def test_retry_budget_and_retention_defaults_and_bounds(monkeypatch):
    from bot.settings import load_settings

    s = load_settings()
    assert s.returnsbot_retry_budget_hours == 24.0 and s.returnsbot_retention_days == 30
    _set(monkeypatch, {"RETURNSBOT_RETRY_BUDGET_HOURS": "168", "RETURNSBOT_RETENTION_DAYS": "1"})
    s = load_settings()
    assert s.returnsbot_retry_budget_hours == 168.0 and s.returnsbot_retention_days == 1
    monkeypatch.setenv("RETURNSBOT_RETRY_BUDGET_HOURS", "0.25")
    assert load_settings().returnsbot_retry_budget_hours == 0.25


# --- Socket Mode: verified with Slack before anything starts ----------------------------------------

def test_a_rejected_app_token_is_refused_before_any_post(monkeypatch, capsys, slack):
    """Finding 3: `serve` posted a digest and a card, then crashed on the app token. This
    runs the real `serve` path: nothing may reach Slack but the token check."""
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1-A0RETURNS-9999-revoked")
    line = refusal(capsys)
    assert "SLACK_APP_TOKEN" in line and "invalid_auth" in line
    assert [c.method for c in slack.calls] == ["apps.connections.open"]
    assert not {"inbox", "outbox", "cards"} & {t.name for t in threading.enumerate()}
    assert line in check_failures(capsys)
    assert slack.calls_to("chat.postMessage") == []


def test_slack_unreachable_for_socket_mode_is_one_line(monkeypatch, capsys, slack):
    monkeypatch.setenv("SLACK_APP_TOKEN", APP_TOKEN)
    slack.fail_next("apps.connections.open", status=503, times=5)
    line = refusal(capsys)
    assert "SLACK_APP_TOKEN" in line and "503" in line
    assert slack.calls_to("chat.postMessage") == []


def test_check_verifies_the_app_token_with_slack(monkeypatch, capsys, slack, sqlite_database):
    monkeypatch.setenv("SLACK_APP_TOKEN", APP_TOKEN)
    assert main(["check"]) == 0, capsys.readouterr().out
    out = capsys.readouterr().out
    assert "ok    slack socket mode:" in out
    assert "ok    slack: team Returnsbot Test" in out
    [call] = slack.calls_to("apps.connections.open")
    assert call.headers["authorization"] == f"Bearer {APP_TOKEN}"
    _no_secret(out)


# --- the port -----------------------------------------------------------------------------------

def test_a_port_in_use_is_one_line_before_any_worker(monkeypatch, capsys, slack):
    """Finding 5: a port in use was a traceback. The real `serve` path, with Slack
    configured: nothing is posted and no worker thread exists when it refuses."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = refusal(capsys, ["serve", "--host", "127.0.0.1", "--port", str(port)])
    assert line.startswith("--port ") and str(port) in line and "in use" in line
    assert slack.calls_to("chat.postMessage") == []
    assert not {"inbox", "outbox", "cards"} & {t.name for t in threading.enumerate()}


# --- the database -------------------------------------------------------------------------------

def test_sqlite_in_a_missing_directory_is_one_line(monkeypatch, capsys, never_serves, tmp_path):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'nowhere' / 'returnsbot.db'}")
    line = assert_agree(capsys, "DATABASE_URL", "nowhere")
    for command in (["poll"], ["db", "upgrade"], ["digest", "--now"]):
        assert refusal(capsys, command) == line
    assert not (tmp_path / "nowhere").exists()


def test_a_demo_database_in_a_missing_directory_names_the_flag(capsys, tmp_path):
    line = refusal(capsys, ["demo", "--database-url", f"sqlite:///{tmp_path / 'nowhere' / 'demo.db'}"])
    assert line.startswith("setting --database-url:")


def test_unreachable_postgresql_is_one_line_without_the_password(monkeypatch, capsys, never_serves):
    monkeypatch.setenv("DATABASE_URL", f"postgresql://returnsbot:{DB_PASSWORD}@127.0.0.1:1/returnsbot")
    line = assert_agree(capsys, "DATABASE_URL", "127.0.0.1")
    assert "***" in line
    assert refusal(capsys, ["poll"]) == line


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="TEST_DATABASE_URL not set")
def test_a_postgresql_database_that_does_not_exist_is_one_line(monkeypatch, capsys, never_serves):
    from sqlalchemy.engine import make_url

    url = make_url(TEST_DATABASE_URL).set(database="returnsbot_no_such_database", password=DB_PASSWORD)
    monkeypatch.setenv("DATABASE_URL", url.render_as_string(hide_password=False))
    line = assert_agree(capsys, "DATABASE_URL", "returnsbot_no_such_database")
    assert "does not exist" in line


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="TEST_DATABASE_URL not set")
def test_check_fails_an_unmigrated_postgresql_like_serve(monkeypatch, capsys, never_serves):
    """Finding 6: `check` said ok to a database `serve` refuses. A search path with no
    schema in it is an empty, un-migrated database (the suite's own schema is untouched)."""
    monkeypatch.setenv("DATABASE_URL", TEST_DATABASE_URL + "?options=-csearch_path%3Dreturnsbot_empty")
    line = assert_agree(capsys, "DATABASE_URL", "run `returnsbot db upgrade`")
    assert refusal(capsys, ["poll"]) == line


def test_check_calls_an_unmigrated_sqlite_ok_with_a_note(capsys, sqlite_database):
    """SQLite migrates itself in `serve`; `check` does not create the file either."""
    assert main(["check"]) == 0
    out = capsys.readouterr().out
    assert "ok    database: sqlite:///" in out
    assert "note  database:" in out and "returnsbot db upgrade" in out
    assert not sqlite_database.exists()
    assert main(["db", "upgrade"]) == 0
    assert main(["check"]) == 0
    out = capsys.readouterr().out
    assert "(current)" in out and "note  database:" not in out


def test_a_database_newer_than_the_code_is_refused(capsys, never_serves, sqlite_database):
    import sqlite3

    with sqlite3.connect(sqlite_database) as conn:
        conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        conn.execute("INSERT INTO alembic_version VALUES ('9999_from_the_future')")
    line = assert_agree(capsys, "DATABASE_URL", "9999_from_the_future")
    assert refusal(capsys, ["db", "upgrade"]) == line
