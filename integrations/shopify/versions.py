"""Which Admin API version Shopify actually served, compared with the one we asked for.

Shopify answers every request and delivers every webhook with `X-Shopify-Api-Version`
(webhooks: `X-Shopify-API-Version`; header names are case-insensitive), naming the version
that executed it. A request for a version past its 12-month support window is served the
oldest supported version instead ("fall-forward"), so the bot silently runs on another API.
`VersionWatch` remembers what was served and logs a warning once per served version, so
health and `check` can say "Shopify served 2026-07 instead of 2026-10".
"""

from __future__ import annotations

import logging
import re
import threading

log = logging.getLogger(__name__)

_VERSION = re.compile(r"^(\d{4}-\d{2}|unstable)$")
_IN_URL = re.compile(r"/admin/api/(\d{4}-\d{2}|unstable)/")


def version_in_url(url: str) -> str | None:
    """The version in an Admin API URL (`…/admin/api/2026-10/graphql.json`), if any."""
    m = _IN_URL.search(url or "")
    return m.group(1) if m else None


def mismatch_note(served: str | None, requested: str | None) -> str | None:
    """One line when Shopify served another version than requested; None when they agree
    (or either is unknown)."""
    if not served or not requested or served == requested:
        return None
    if _VERSION.match(served) and _VERSION.match(requested) and "unstable" not in (served, requested):
        why = (
            f"{requested} is past Shopify's support window: set SHOPIFY_API_VERSION to a supported version"
            if served > requested
            else f"{requested} is not available on this shop yet"
        )
    else:
        why = "check SHOPIFY_API_VERSION"
    return f"Shopify served {served} instead of {requested} ({why})"


class VersionWatch:
    """Thread-safe memory of the served version, for one requested version."""

    def __init__(self, requested: str | None, *, where: str = "api") -> None:
        self.requested = requested
        self.where = where
        self._served: str | None = None
        self._warned: set[str] = set()
        self._lock = threading.Lock()

    @property
    def served(self) -> str | None:
        with self._lock:
            return self._served

    @property
    def mismatch(self) -> str | None:
        return mismatch_note(self.served, self.requested)

    def observe(self, served: str | None) -> str | None:
        """Record a served version (None/blank: nothing to record); return the mismatch
        note, logging it the first time this served version is seen."""
        served = (served or "").strip() or None
        if served is None:
            return self.mismatch
        with self._lock:
            self._served = served
            first = served not in self._warned
            self._warned.add(served)
        note = mismatch_note(served, self.requested)
        if note and first:
            log.warning("shopify.api_version_mismatch where=%s served=%s requested=%s: %s",
                        self.where, served, self.requested, note)
        return note
