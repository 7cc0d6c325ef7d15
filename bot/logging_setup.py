"""Configure logging once, at start-up (never at import)."""

from __future__ import annotations

import logging
import os


def configure(level: str | None = None) -> None:
    logging.basicConfig(
        level=(level or os.environ.get("RETURNSBOT_LOG_LEVEL", "INFO")).upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    # httpx logs every request URL at INFO; keep ours readable.
    logging.getLogger("httpx").setLevel(logging.WARNING)
