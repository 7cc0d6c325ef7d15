"""The shop's currency and time zone, and the effective policy that uses them.

At start-up (`Container.build`, so `serve`, `poll`, `digest` and `demo`) the primary store
connector is asked for its `ShopFacts`; the answer is stored (`shop_facts`), so a restart
while the store is unreachable uses the last answer. With no answer and nothing stored,
the policy's own `[store] currency` and `timezone` are used when it states both; else the
bot cannot know what money it compares and refuses in one line. A policy that states a
currency or time zone the shop does not use is refused, naming both (`Policy.for_shop`).
`check` runs the same resolution without storing anything.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime

from bot.store.shop import ShopFactsRepo
from integrations.connector import Connector
from policy.config import Policy, ShopMismatch
from policy.models import ShopFacts
from policy.ports import IntegrationError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Resolution:
    policy: Policy | None  # the effective policy; None when `problem` says why there is none
    facts: ShopFacts | None
    source: str  # "shop" (asked now), "stored" (an earlier answer), "policy" (its own), "" (none)
    text: str  # one line for `check`: what is used and where it came from
    problem: str | None = None  # one line per problem: start-up refuses with it, `check` fails it
    unchecked: bool = False  # the store could not be asked now: `check` says so as a note


def resolve(policy: Policy, store: Connector, repo: ShopFactsRepo | None, *, now: datetime,
            save: bool = True) -> Resolution:
    facts: ShopFacts | None = None
    source, why_not = "", None
    if store.facts is None:
        why_not = f"{store.label} does not report its currency and time zone"
    else:
        try:
            facts, source = store.facts(), "shop"
        except Exception as exc:  # any failure to ask is one line, never a traceback
            why_not = f"{store.label} didn't answer ({_reason(exc)})"
    if facts is not None and save and repo is not None:
        _save(repo, store.name, facts, now)
    when = ""
    if facts is None and repo is not None and (stored := repo.load(store.name)) is not None:
        facts, source = stored.facts, "stored"
        when = f" on {stored.fetched_at:%Y-%m-%d %H:%M} UTC"
    if facts is None:
        stated = policy.store.stated
        if stated is None:
            return Resolution(None, None, "", "", problem=_unknown(policy, why_not or "it was not asked"))
        facts, source = stated, "policy"
    try:
        effective = policy.for_shop(facts)
    except ShopMismatch as exc:
        return Resolution(None, facts, source, "", problem=str(exc))
    said = {"shop": f"as {store.label} says", "stored": f"as {store.label} said{when}",
            "policy": "from the policy's [store]"}[source]
    text = f"prices in {facts.currency}, time zone {facts.timezone} ({said})"
    if why_not:
        text += f"; {why_not}"
    return Resolution(effective, facts, source, text, unchecked=source != "shop")


def _unknown(policy: Policy, why_not: str) -> str:
    missing = [key for key in ("currency", "timezone") if getattr(policy.store, key) is None]
    what = {"currency": "currency", "timezone": "time zone"}
    keys = " and ".join(missing)
    return (f"the shop's {' and '.join(what[k] for k in missing)} {'is' if len(missing) == 1 else 'are'} not known: "
            f"{why_not} and no earlier answer is stored; set [store] {keys} in the policy, or fix the connection")


def _save(repo: ShopFactsRepo, system: str, facts: ShopFacts, now: datetime) -> None:
    try:
        repo.save(system, facts, at=now)
    except Exception as exc:  # the bot still knows them for this run; the next start asks again
        log.warning("shop.facts_not_stored system=%s error=%s", system, _reason(exc))


# "Shopify ShopFacts failed after 5 attempt(s): could not connect": which call failed is
# left out, so `check` (which knows it from the store's ping) and start-up say the same.
_WHICH_CALL = re.compile(r"^.*? failed after \d+ attempt\(s\): ")


def _reason(exc: BaseException) -> str:
    text = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
    if not text:
        return type(exc).__name__
    if not isinstance(exc, IntegrationError):
        return f"{type(exc).__name__}: {text}"
    return _WHICH_CALL.sub("", text)
