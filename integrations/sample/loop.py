"""The sample store's Loop: Loop-shaped returns of real sample orders, so `returnsbot demo`
(and `serve` on the sample store) shows Loop-owned cases with no credentials.

The returns are Loop's own JSON (the fields `integrations.loop.mapping` reads, with the
sample orders' Shopify order and line ids), turned into events by the real Loop mapping
(`integrations.loop.events`): what correlates, and how a case reads, is what a real Loop
gives. In Loop's review queue, one for each rule the policy can fire:

- #1022 (Sofía): pants delivered months ago → outside window;
- #1045 (Ben): the final-sale softshell and a cap → final sale;
- #1032 (Tasha): a mug, from a customer with many returns → serial returner;
- #1020 (Marcus): a sleeping bag and a shell, $718 → high value;
- #1050 (Ryan): a jacket not delivered yet, on a high-risk payment → high payment risk;

open in Loop: #1033 (Grace) asks to exchange a mug for a larger one (an exchange request),
and #1038 (Priya, whose payment has an early fraud warning) is flagged in Loop.

Actions are the real `LoopActions` (check before act, one note per key, the same state
rules) over `SampleLoopAPI`, an in-memory Loop that answers as the reference says Loop
does (a refusal is Loop's error body, read by the real `client.refusal`). One difference,
said on purpose: **processing completes at once** in the sample (a real Loop queues it and
answers `return.closed` later), so PROCESS_RETURN is done when it returns, and the closed
return's event (PROCESSED) is in `stage_events()` for the demo and the poller.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Mapping

from integrations.connector import Capability, Connector, PollSpec
from integrations.loop import events as loop_events, mapping
from integrations.loop.actions import LoopActions
from integrations.loop.client import LoopRefused, refusal
from policy.models import DomainEvent, Order
from policy.ports import ActionResult, Operation, PollPage, Underway

NAME = "sample_loop"
LABEL = "Loop (sample data)"
ADMIN_LABEL = "Loop admin"
FIRST_ID = 880001
STATUS_PAGE = "https://ridgeline-sample.loopreturns.com/#/return/sample-{}"


@dataclass(frozen=True)
class Scenario:
    """One sample Loop return: the order, which of its lines (0-based), how Loop holds it."""

    order: str
    lines: tuple[int, ...]
    state: str = "review"
    flagged: bool = False
    reason: str = "Changed my mind"
    exchange_for: str | None = None  # the variant the customer chose: an exchange request
    requested_days_ago: float = 1.0


SCENARIOS = (
    Scenario("#1022", (0,), reason="Changed my mind", requested_days_ago=1.4),  # outside window
    Scenario("#1045", (0, 1), reason="Didn't like the fit", requested_days_ago=0.6),  # final sale
    Scenario("#1032", (1,), reason="No longer needed", requested_days_ago=0.9),  # serial returner
    Scenario("#1020", (0, 1), reason="Not as described", requested_days_ago=1.8),  # high value
    Scenario("#1050", (0,), reason="Changed my mind", requested_days_ago=0.2),  # high payment risk
    Scenario("#1033", (2,), state="open", reason="Too small", exchange_for="Enamel Camp Mug - Large",
             requested_days_ago=0.7),  # an exchange request
    Scenario("#1038", (0,), state="open", flagged=True, reason="Defective", requested_days_ago=0.5),  # flagged
)


def _numeric(gid: str) -> str:
    return gid.rsplit("/", 1)[-1]


def _loop_time(at: datetime) -> str:
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def loop_body(return_id: int, order: Order, scenario: Scenario, *, at: datetime) -> dict[str, Any]:
    """A Loop return of `scenario`'s lines of `order` (a line per unit, as Loop lists them)."""
    lines, total = [], Decimal("0.00")
    for index in scenario.lines:
        li = order.line_items[index]
        price = li.unit_price.amount
        for unit in range(li.quantity):
            total += price
            lines.append({
                "line_item_id": str(return_id * 10 + len(lines)), "provider_line_item_id": _numeric(li.id),
                "title": li.title, "sku": li.sku, "price": str(price), "discount": "0.00", "tax": "0.00",
                "refund": "0.00" if scenario.exchange_for else str(price), "return_reason": scenario.reason,
                "outcome": "exchange" if scenario.exchange_for else "refund",
                "exchange_variant": scenario.exchange_for or ""})
    amount = str(total)
    exchanges = ([{"title": scenario.exchange_for, "variant_id": str(return_id * 100), "price": amount}]
                 if scenario.exchange_for else [])
    return {
        "id": return_id, "state": scenario.state, "flagged": scenario.flagged,
        "created_at": _loop_time(at), "updated_at": _loop_time(at), "currency": order.currency,
        "provider_order_id": _numeric(order.id), "order_name": order.name, "customer": order.email,
        "total": amount, "return_total": amount, "return_product_total": amount,
        "refund": "0.00" if scenario.exchange_for else amount, "gift_card": "0.00",
        "exchange_total": amount if scenario.exchange_for else "0.00", "exchanges": exchanges,
        "line_items": lines, "labels": [], "refunds": [], "label_status": None,
        "status_page_url": STATUS_PAGE.format(return_id), "exchange_order_id": None, "gift_card_order_id": None,
    }


class SampleLoopAPI:
    """In memory, the calls `LoopActions` makes, answering as Loop does (reference/loop):
    process refuses flagged, review, closed, cancelled and expired returns; cancel refuses
    expired, flagged, closed and cancelled; flag puts the return in review; close closes it
    without outcomes. Every call is recorded in `calls` (refusals included)."""

    def __init__(self, clock) -> None:
        self.clock = clock
        self.returns: dict[str, dict[str, Any]] = {}
        self.notes_by_return: dict[str, list[dict[str, Any]]] = {}
        self.calls: list[tuple[str, str]] = []  # (call, return id)
        self.changed: dict[str, None] = {}  # returns whose state changed since they were loaded, in order
        self._lock = threading.RLock()
        self._note_ids = itertools.count(1)

    # --- reads ----------------------------------------------------------------------------

    def details(self, return_id: str | int) -> dict:
        rid = str(return_id)
        with self._lock:
            self.calls.append(("details", rid))
            return dict(self._get(rid, "details"))

    def notes(self, return_id: str | int) -> list[dict]:
        rid = str(return_id)
        with self._lock:
            self.calls.append(("notes", rid))
            self._get(rid, "notes")
            return [dict(n) for n in self.notes_by_return.get(rid, [])]

    # --- actions --------------------------------------------------------------------------

    def note(self, return_id: str | int, text: str) -> bool:
        rid = str(return_id)
        with self._lock:
            self.calls.append(("note", rid))
            self._get(rid, "note")
            if not text.strip():
                return self._answer("note", rid, 422, {"errors": {"message": "Content is required."}})
            self.notes_by_return.setdefault(rid, []).append(
                {"id": next(self._note_ids), "content": text, "created_at": _loop_time(self.clock())})
            return True

    def process(self, return_id: str | int) -> bool:
        rid = str(return_id)
        with self._lock:
            self.calls.append(("process", rid))
            ret = self._get(rid, "process")
            if ret["flagged"]:
                return self._answer("process", rid, 200, {"content": "Return is flagged and cannot be processed."})
            if ret["state"] != "open":
                return self._answer("process", rid, 200, {"errors": {
                    "message": f"Return is {ret['state']} and therefore cannot be processed.",
                    "code": "UNPROCESSABLE_RETURN"}})
            # The sample's processing completes at once: the outcomes fulfilled, the return closed.
            if ret["exchanges"]:
                ret["exchange_order_id"] = 9000000000 + int(rid)
            if Decimal(ret["refund"]) > 0:
                ret["refunds"] = [{"gateway": "shopify_payments", "amount": ret["refund"],
                                   "currency": ret["currency"], "provider_refund_id": str(7000000000 + int(rid))}]
            self._set(rid, state="closed")
            return True

    def cancel(self, return_id: str | int) -> bool:
        rid = str(return_id)
        with self._lock:
            self.calls.append(("cancel", rid))
            ret = self._get(rid, "cancel")
            if ret["state"] == "expired" or ret["flagged"]:
                word = "expired" if ret["state"] == "expired" else "flagged"
                return self._answer("cancel", rid, 200, {"content": f"Return is {word} and cannot be processed."})
            if ret["state"] in ("closed", "cancelled"):
                return self._answer("cancel", rid, 200, {"errors": {
                    "message": f"Return is {ret['state']} and therefore cannot be processed.",
                    "code": "UNPROCESSABLE_RETURN"}})
            self._set(rid, state="cancelled")
            return True

    def flag(self, return_id: str | int) -> bool:
        rid = str(return_id)
        with self._lock:
            self.calls.append(("flag", rid))
            ret = self._get(rid, "flag")
            if ret["state"] in ("closed", "cancelled", "expired"):
                return self._answer("flag", rid, 200, {"errors": {
                    "message": f"Return is {ret['state']} and therefore cannot be processed.",
                    "code": "UNPROCESSABLE_RETURN"}})
            self._set(rid, state="review", flagged=True)
            return True

    def close(self, return_id: str | int) -> bool:
        rid = str(return_id)
        with self._lock:
            self.calls.append(("close", rid))
            ret = self._get(rid, "close")
            if ret["state"] in ("closed", "cancelled"):
                return self._answer("close", rid, 200, {"message": f"Return is {ret['state']} and therefore "
                                                                  "cannot be processed."})
            self._set(rid, state="closed")
            return True

    def changed_returns(self) -> list[dict[str, Any]]:
        """The returns an action changed since they were loaded (copies, in order of change)."""
        with self._lock:
            return [dict(self.returns[rid]) for rid in self.changed]

    # --- internals ------------------------------------------------------------------------

    def _get(self, rid: str, what: str) -> dict[str, Any]:
        ret = self.returns.get(rid)
        if ret is None:
            self._answer(what, rid, 404, {"errors": {"message": "Return not found.", "code": "NOT_FOUND"}})
        return ret  # type: ignore[return-value]

    def _set(self, rid: str, **fields: Any) -> None:
        self.returns[rid].update(fields, updated_at=_loop_time(self.clock()))
        self.changed[rid] = None

    @staticmethod
    def _answer(what: str, rid: str, status: int, body: Any) -> bool:
        """Loop's refusal, read the way the real client reads it."""
        found = refusal(status, body)
        code, message = found if found else ("invalid", repr(body))
        raise LoopRefused(f"{what} return {rid}", code=code, loop_message=message, status=status)


class SampleLoop:
    """The sample's Loop returns, their events, and the actions on them."""

    def __init__(self, store, *, clock=None) -> None:
        self.store = store
        self.clock = clock or getattr(store, "_clock", None) or (lambda: store.now)  # the store's time
        self.api = SampleLoopAPI(self.clock)
        self.actions = LoopActions(self.api)
        self._build()

    def _order(self, name: str) -> Order | None:
        found = [o for o in self.store.find_orders(name, limit=2) if o.name == name]
        return found[0] if found else None

    def _build(self) -> None:
        now = self.store.now
        for return_id, scenario in zip(itertools.count(FIRST_ID), SCENARIOS):
            order = self._order(scenario.order)
            if order is None or max(scenario.lines) >= len(order.line_items):
                continue  # another data set: left out
            at = now - timedelta(days=scenario.requested_days_ago)
            self.api.returns[str(return_id)] = loop_body(return_id, order, scenario, at=at)

    def returned(self, return_id: str | int) -> mapping.LoopReturn:
        return mapping.loop_return(self.api.returns[str(return_id)])

    # --- the demo's feeds -----------------------------------------------------------------

    def events(self) -> list[DomainEvent]:
        """Each return as Loop first announced it (return.created → RETURN_REQUESTED)."""
        return [loop_events.for_state(mapping.loop_return(body)) for body in self.api.returns.values()]

    def stage_events(self) -> list[DomainEvent]:
        """What the returns our actions changed say now (closed → PROCESSED, cancelled, …):
        the `return.updated` / `return.closed` webhooks a real Loop would send."""
        return [loop_events.for_state(mapping.loop_return(body)) for body in self.api.changed_returns()]

    def poll(self, cursor: str | None) -> PollPage:
        """As the real poller: every return's state (ingest knows what it has seen)."""
        return PollPage(events=[*self.events(), *self.stage_events()], cursor=None)

    # --- the actions ----------------------------------------------------------------------

    def process(self, payload: Mapping[str, Any], key: str) -> ActionResult:
        """The real action; the sample's processing is done at once, so the check-back the
        real one asks for is made right away (it reads the return closed: done)."""
        try:
            return self.actions.process(payload, key)
        except Underway:
            return self.actions.process(payload, key)

    def action_table(self) -> dict[str, Any]:
        return {**self.actions.actions(), Operation.PROCESS_RETURN: self.process}


def connector_for(store, *, clock=None) -> Connector:
    loop = SampleLoop(store, clock=clock)
    return Connector(
        name=NAME, label=LABEL, handles=frozenset({mapping.SOURCE}), capabilities=frozenset({Capability.RETURNS}),
        source=loop, pollers=(PollSpec(f"{NAME}.returns", loop.poll),), actions=loop.action_table(),
        admin_label=ADMIN_LABEL, admin_url=lambda return_id, **_: mapping.admin_url(return_id),
        # Not `sample`: that flag is the sample *store*; its cases say "sample store" already.
        ping=lambda: "sample Loop returns for the sample store (no LOOP_API_KEY set)",
    )
