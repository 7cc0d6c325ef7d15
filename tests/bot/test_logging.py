"""Logging: `RETURNSBOT_LOG_FORMAT=text|json`, structured fields from `extra=`, no secrets,
and no Alembic chatter unless asked for."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from decimal import Decimal

from pydantic import SecretStr

from bot.cli import main
from bot.logging_setup import configure, log_context
from tests.bot.cli_support import clean_env, restore_logging  # noqa: F401

log = logging.getLogger("bot.test_logging")


def _lines(capsys) -> list[str]:
    return capsys.readouterr().err.strip().splitlines()


def test_text_format_prints_extra_fields_as_key_value(capsys):
    configure("INFO", "text")
    log.info("case.decided", extra={"case_id": 1, "user": "U1", "note": "two words"})
    [line] = _lines(capsys)
    assert line.endswith(' INFO bot.test_logging case.decided case_id=1 user=U1 note="two words"')
    assert line[:20].count("-") == 2 and "T" in line.split()[0]  # an ISO time first


def test_json_format_is_one_object_per_line_with_every_field(capsys):
    configure("INFO", "json")
    log.info("case.decided", extra={"case_id": 1, "user": "U1", "amount": Decimal("12.50")})
    try:
        raise ValueError("boom\nsecond line")
    except ValueError:
        log.exception("outbox.failed", extra={"row": 7})
    first, second = _lines(capsys)
    record = json.loads(first)
    assert {k: record[k] for k in ("level", "logger", "message", "case_id", "user", "amount")} == {
        "level": "INFO", "logger": "bot.test_logging", "message": "case.decided", "case_id": 1, "user": "U1",
        "amount": "12.50",
    }
    assert datetime.fromisoformat(record["time"]).utcoffset().total_seconds() == 0
    failed = json.loads(second)
    assert failed["level"] == "ERROR" and failed["row"] == 7
    assert "ValueError: boom" in failed["exc_info"] and "Traceback" in failed["exc_info"]


def test_messages_with_arguments_are_formatted_in_both_formats(capsys):
    configure("INFO", "json")
    log.warning("worker.error worker=%s", "inbox")
    assert json.loads(_lines(capsys)[0])["message"] == "worker.error worker=inbox"


def test_secrets_are_never_logged(capsys):
    for fmt in ("text", "json"):
        configure("DEBUG", fmt)
        log.info("connecting to postgresql://bot:pa55word@db/returnsbot",
                 extra={"token": "xoxb-raw-token", "api": SecretStr("shpat_secret"), "slack_signing_secret": "sig",
                        "url": "postgresql+psycopg://bot:pa55word@db:5432/returnsbot", "user": "U1"})
        out = "\n".join(_lines(capsys))
        for secret in ("xoxb-raw-token", "shpat_secret", "sig\"", "=sig", "pa55word"):
            assert secret not in out, (fmt, out)
        assert "U1" in out and "db:5432/returnsbot" in out


def test_log_context_adds_its_fields_to_every_record_inside_it(capsys):
    configure("INFO", "json")
    with log_context(correlation_id="c-42"):
        log.info("click.acked")
        with log_context(case_id=3):
            log.info("case.decided", extra={"user": "U1"})
    log.info("after")
    acked, decided, after = (json.loads(line) for line in _lines(capsys))
    assert acked["correlation_id"] == "c-42" and "case_id" not in acked
    assert decided["correlation_id"] == "c-42" and decided["case_id"] == 3 and decided["user"] == "U1"
    assert "correlation_id" not in after


def test_configuring_twice_leaves_one_handler(capsys):
    configure("INFO", "text")
    configure("INFO", "json")
    log.info("once")
    assert len(_lines(capsys)) == 1


def test_alembic_info_is_off_by_default(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'a.db'}")
    monkeypatch.setenv("RETURNSBOT_LOG_LEVEL", "INFO")
    assert main(["db", "upgrade"]) == 0
    err = capsys.readouterr().err
    assert "Context impl" not in err and "Will assume" not in err and "Running upgrade" not in err


def test_alembic_info_shows_at_debug_as_json(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'a.db'}")
    monkeypatch.setenv("RETURNSBOT_LOG_LEVEL", "debug")
    monkeypatch.setenv("RETURNSBOT_LOG_FORMAT", "json")
    assert main(["db", "upgrade"]) == 0
    records = [json.loads(line) for line in _lines(capsys)]
    assert any(r["logger"].startswith("alembic") and "Context impl" in r["message"] for r in records)
