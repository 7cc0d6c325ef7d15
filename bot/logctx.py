"""Fields that follow a piece of work through the logs (correlation id, case, job).

`bound(...)` sets them for the current thread's context; `ContextFilter` copies them onto
every record logged meanwhile, so a click's correlation id shows on the lines its
background work writes.
"""

from __future__ import annotations

import contextvars
import logging
from contextlib import contextmanager
from typing import Any, Iterator

_fields: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("returnsbot_log_fields", default={})


@contextmanager
def bound(**fields: Any) -> Iterator[None]:
    merged = {**_fields.get(), **{k: v for k, v in fields.items() if v is not None}}
    token = _fields.set(merged)
    try:
        yield
    finally:
        _fields.reset(token)


def current() -> dict[str, Any]:
    return dict(_fields.get())


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _fields.get().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True
