"""Logging, configured once at start-up (never at import).

Log an event name with structured fields, and both formats carry the fields:

    log.info("case.decided", extra={"case_id": 1, "user": "U1"})
    # text:  2026-11-02T14:00:00.123+00:00 INFO bot.services.decide case.decided case_id=1 user=U1
    # json:  {"time": "2026-11-02T14:00:00.123+00:00", "level": "INFO", "logger": "bot.services.decide",
    #         "message": "case.decided", "case_id": 1, "user": "U1"}

`log_context(correlation_id=...)` adds fields to every record logged inside it (in this
thread or task; hand the fields on explicitly to work that runs elsewhere).

Secrets stay out: a SecretStr prints as `**********`, a field whose name says token,
secret, password or signature is redacted, and a URL's password is masked wherever it
appears (message, field or traceback).
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
import sys
from datetime import datetime, timezone
from typing import Any, Iterator

from pydantic import SecretStr

# Attributes every LogRecord has: whatever else a record carries came from `extra=`.
_RECORD_ATTRS = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}
_SECRET_NAME = re.compile(r"token|secret|password|passwd|signature|authorization|hmac", re.I)
_URL_PASSWORD = re.compile(r"(://[^:/@\s]+:)[^@\s]+@")
_BARE = re.compile(r"[^\s\"'=]+")
REDACTED = "[redacted]"

# Libraries whose INFO is noise in a running bot: Alembic's "Context impl…" on every
# start, APScheduler's "Running job…" every minute, httpx's every request URL.
_QUIET_BELOW_DEBUG = ("alembic", "apscheduler", "httpx")

_context: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("returnsbot_log_context", default={})
_handler: logging.Handler | None = None


@contextlib.contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    token = _context.set({**_context.get(), **fields})
    try:
        yield
    finally:
        _context.reset(token)


def configure(level: str = "INFO", fmt: str = "text") -> None:
    """Install returnsbot's one handler on the root logger (replacing an earlier one)."""
    global _handler
    level = level.upper()
    root = logging.getLogger()
    if _handler is not None:
        root.removeHandler(_handler)
    _handler = _StderrHandler()
    _handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root.addHandler(_handler)
    root.setLevel(level)
    quiet = logging.NOTSET if level == "DEBUG" else logging.WARNING
    for name in _QUIET_BELOW_DEBUG:
        logging.getLogger(name).setLevel(quiet)
    bolt = logging.getLogger("slack_bolt")
    if _bolt_token_warning not in bolt.filters:
        bolt.addFilter(_bolt_token_warning)


def _bolt_token_warning(record: logging.LogRecord) -> bool:
    """Bolt warns on every start that the client's token wins over SLACK_BOT_TOKEN, which it
    reads from the environment itself: they are the same token, so the warning is noise."""
    from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped

    return record.getMessage() != warning_client_prioritized_and_token_skipped()


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is now (so a replaced stderr, as in tests, works)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def fields_of(record: logging.LogRecord) -> dict[str, Any]:
    """The record's structured fields (context first, then `extra=`), secrets redacted."""
    out: dict[str, Any] = {}
    for key, value in [*_context.get().items(), *((k, v) for k, v in record.__dict__.items() if k not in _RECORD_ATTRS)]:
        if key.startswith("_"):
            continue
        out[key] = REDACTED if _SECRET_NAME.search(key) else _plain(value)
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return str(value)  # "**********"
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return mask_url_passwords(str(value))


def mask_url_passwords(text: str) -> str:
    return _URL_PASSWORD.sub(r"\1***@", text)


def _time(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds")


class TextFormatter(logging.Formatter):
    """`time LEVEL logger message key=value …`, then the traceback if there is one."""

    def format(self, record: logging.LogRecord) -> str:
        parts = [_time(record), record.levelname, record.name, record.getMessage()]
        for key, value in fields_of(record).items():
            text = json.dumps(value) if isinstance(value, bool) or value is None else str(value)
            parts.append(f"{key}={text if _BARE.fullmatch(text) else json.dumps(text, ensure_ascii=False)}")
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        if record.stack_info:
            line += "\n" + self.formatStack(record.stack_info)
        return mask_url_passwords(line)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, every field, exc_info."""

    def format(self, record: logging.LogRecord) -> str:
        obj: dict[str, Any] = {
            "time": _time(record),
            "level": record.levelname,
            "logger": record.name,
            "message": mask_url_passwords(record.getMessage()),
        }
        for key, value in fields_of(record).items():
            obj.setdefault(key, value)
        if record.exc_info:
            obj["exc_info"] = mask_url_passwords(self.formatException(record.exc_info))
        if record.stack_info:
            obj["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(obj, ensure_ascii=False, default=str)
