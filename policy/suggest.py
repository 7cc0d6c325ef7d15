"""Policy changes that would match what people decided against the recommendation.

Pure. `Overrides` is fed the decided cases whose people's outcome differs from the current
policy's recommendation (with the current assessment), and proposes edits of keys that
exist in policy/config.py, each with the cases it is meant to match:

| people did                                   | when the policy said                          | suggestion |
|----------------------------------------------|-----------------------------------------------|------------|
| granted (refund, store credit, exchange)     | deny: outside the base window only            | `[returns] window_days` = the latest such request (and the 3rd quartile) |
| store credit                                 | deny: outside window / final sale, not a VIP  | `[vip] lifetime_spend` = the lowest such customer's spend |
| refund                                       | store credit: serial returner by count        | `[risk.serial_returner] min_returns` = their most returns + 1 |
| exchange                                     | refund (row 7)                                | `[returns] exchange_reasons` + their reasons |
| refund                                       | exchange (the reasons rule)                   | `[returns] exchange_reasons` − their reasons |
| granted                                      | deny: final sale only                         | `[returns] final_sale_tags` − their tags |

A suggestion is a candidate: bot/suggest.py simulates every one over the same history and
keeps those that raise agreement with the team.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR

from policy.config import Policy
from policy.models import Action, Assessment, Money, SignalCode
from policy.simulate import PastCase

S = SignalCode
GRANTED = (Action.REFUND, Action.STORE_CREDIT, Action.EXCHANGE)


@dataclass(frozen=True)
class Suggestion:
    dotted: str  # "returns.window_days"
    value: str  # as TOML: "45", '["COLOR"]'
    evidence: str  # what people did, in a sentence
    case_ids: frozenset[int]  # the overrides it is meant to match

    @property
    def table(self) -> str:
        return self.dotted.rsplit(".", 1)[0]

    @property
    def key(self) -> str:
        return self.dotted.rsplit(".", 1)[1]


def _toml_list(values: Iterable[str]) -> str:
    return json.dumps(list(values))  # a JSON list of plain strings is a TOML array


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"


def _quantile(ordered: list[int], num: int, den: int) -> int:
    """The smallest value covering num/den of `ordered` (ascending)."""
    return ordered[max(0, -(-len(ordered) * num // den) - 1)]


def _range(values: list, fmt=str) -> str:
    lo, hi = min(values), max(values)
    return fmt(lo) if lo == hi else f"{fmt(lo)}–{fmt(hi)}"


@dataclass
class Overrides:
    """Collects overrides by rule; `suggestions()` turns them into candidate edits."""

    policy: Policy
    count: int = 0
    late: list[tuple[int, int]] = field(default_factory=list)  # (case id, days after delivery)
    not_vip: list[tuple[int, Money, str]] = field(default_factory=list)  # (case id, lifetime spend, breach)
    serial: list[tuple[int, int]] = field(default_factory=list)  # (case id, returns counted)
    wants_exchange: dict[str, list[int]] = field(default_factory=dict)  # reason -> case ids
    wants_refund: dict[str, list[int]] = field(default_factory=dict)
    final_sale: dict[str, list[int]] = field(default_factory=dict)  # tag -> case ids

    def add(self, case: PastCase, assessment: Assessment) -> None:
        self.count += 1
        rec, found = assessment.recommendation, {s.code: s for s in assessment.signals}
        decided, ctx = case.decided, case.context
        breaches = [c for c in (S.OUTSIDE_WINDOW, S.FINAL_SALE) if c in found]
        if rec.action is Action.DENY and decided in GRANTED and breaches:
            window = found.get(S.OUTSIDE_WINDOW)
            if window and S.FINAL_SALE not in found and window.evidence.get("window_days") == str(
                    self.policy.returns.window_days):
                self.late.append((case.case_id, int(window.evidence["days"])))
            sale = found.get(S.FINAL_SALE)
            if sale and S.OUTSIDE_WINDOW not in found:
                for tag in sale.evidence.get("tags", "").split(", "):
                    if tag:
                        self.final_sale.setdefault(tag, []).append(case.case_id)
            spend = ctx.customer.lifetime_spend if ctx.customer is not None else None
            vip_possible = not (S.OUTSIDE_WINDOW in found and S.SERIAL_RETURNER in found)
            if (decided is Action.STORE_CREDIT and S.VIP_CUSTOMER not in found and vip_possible and spend is not None
                    and spend.currency == self.policy.shop_currency and spend.amount > 0):
                self.not_vip.append((case.case_id, spend, "final sale" if breaches == [S.FINAL_SALE] else "outside the window"))
        serial = found.get(S.SERIAL_RETURNER)
        if (rec.action is Action.STORE_CREDIT and decided is Action.REFUND and serial is not None
                and serial.evidence.get("rule") == "count"):
            self.serial.append((case.case_id, int(serial.evidence["returns"])))
        request = ctx.return_request
        reasons = sorted({li.reason for li in request.line_items}) if request is not None else []
        if rec.action is Action.REFUND and decided is Action.EXCHANGE and reasons:
            for reason in reasons:
                self.wants_exchange.setdefault(reason, []).append(case.case_id)
        if rec.action is Action.EXCHANGE and decided is Action.REFUND and reasons and request is not None \
                and all(li.requested_outcome is None for li in request.line_items):
            for reason in reasons:
                self.wants_refund.setdefault(reason, []).append(case.case_id)

    def suggestions(self, period: str) -> list[Suggestion]:
        """Candidate edits; `period` names the history ("in the last 90d")."""
        p, out = self.policy, []
        if self.late:
            days = sorted(d for _, d in self.late)
            ids = frozenset(i for i, _ in self.late)
            evidence = (f"People granted {_times(len(days))} {period} a return the policy denied as outside the "
                        f"{p.returns.window_days}-day window (asked {_range(days)} days after delivery or shipment).")
            # A few windows to try (the simulation keeps the best): covering half, three
            # quarters, or all of the late requests people granted.
            for value in sorted({_quantile(days, 1, 2), _quantile(days, 3, 4), days[-1]}):
                if value > p.returns.window_days:
                    out.append(Suggestion("returns.window_days", str(value), evidence, ids))
        if self.not_vip:
            spends = [m for _, m, _ in self.not_vip]
            why = sorted({b for _, _, b in self.not_vip})
            amounts = sorted(m.amount.to_integral_value(rounding=ROUND_FLOOR) for m in spends)
            evidence = (f"People chose store credit over deny {_times(len(spends))} {period} for customers "
                        f"{' or '.join(why)} who are not VIPs (lifetime spend "
                        f"{_range(spends, lambda m: m.format())}; the VIP threshold is "
                        f"{Money.of(p.vip.lifetime_spend, p.shop_currency).format()}).")
            ids = frozenset(i for i, _, _ in self.not_vip)
            # Thresholds that make all of them, or the better-spending half, VIPs.
            for value in sorted({amounts[0], amounts[len(amounts) // 2]}, reverse=True):
                if value < p.vip.lifetime_spend:
                    out.append(Suggestion("vip.lifetime_spend", str(value), evidence, ids))
        if self.serial:
            counts = [n for _, n in self.serial]
            value = max(counts) + 1
            if value > p.risk.serial_returner.min_returns:
                evidence = (f"People refunded {_times(len(counts))} {period} a serial returner the policy gave store "
                            f"credit ({_range(counts)} returns; the rule counts {p.risk.serial_returner.min_returns}).")
                out.append(Suggestion("risk.serial_returner.min_returns", str(value), evidence,
                                      frozenset(i for i, _ in self.serial)))
        wanted = [r.value for r in p.returns.exchange_reasons]
        add = sorted(r for r in self.wants_exchange if r not in wanted)
        if add:
            ids = frozenset(i for r in add for i in self.wants_exchange[r])
            evidence = (f"People chose an exchange over a refund {_times(len(ids))} {period} for returns because of "
                        f"{', '.join(r.lower().replace('_', ' ') for r in add)}.")
            out.append(Suggestion("returns.exchange_reasons", _toml_list([*wanted, *add]), evidence, ids))
        drop = sorted(r for r in self.wants_refund if r in wanted)
        if drop:
            ids = frozenset(i for r in drop for i in self.wants_refund[r])
            evidence = (f"People refunded {_times(len(ids))} {period} returns the policy proposed to exchange "
                        f"({', '.join(r.lower().replace('_', ' ') for r in drop)}).")
            out.append(Suggestion("returns.exchange_reasons", _toml_list([r for r in wanted if r not in drop]),
                                  evidence, ids))
        folded = {t.casefold(): t for t in self.final_sale}
        tags = [t for t in p.returns.final_sale_tags if t.casefold() in folded]
        if tags:
            ids = frozenset(i for t in tags for i in self.final_sale[folded[t.casefold()]])
            evidence = (f"People granted {_times(len(ids))} {period} returns the policy denied as final sale "
                        f"(tagged {', '.join(tags)}).")
            out.append(Suggestion("returns.final_sale_tags",
                                  _toml_list([t for t in p.returns.final_sale_tags if t not in tags]), evidence, ids))
        return out
