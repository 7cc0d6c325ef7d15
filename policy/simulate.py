"""The policy simulator: past cases replayed through two policies, compared.

Pure: the caller streams `PastCase`s (a stored context snapshot and what people decided)
and gets a `Simulation`. Both policies run through the same `assess` the pipeline uses, on
the snapshot's own `now`, so a replay sees the case as it was when it opened. The proposed
policy re-runs only the detection checks whose policy inputs it changes, and the
recommendation only where its kind's inputs changed or the signals did
(`policy.assess.reassess`): the rest is what the current policy found, which is what the
same pure code would find again (tests/policy/test_detect_reads.py holds each check and
each kind's recommendation to the inputs it declares and compares with a full `assess`;
tests/sample/test_simulate_sample.py compares whole reports).

What is compared, per case:
- the recommended action under the current and the proposed policy (a change is counted
  from → to, with the case's amount and a few examples);
- auto-approval and the approval tier each policy asks for;
- money by recommended action (refund, store credit, deny …), per policy;
- agreement with the team, on the cases a person decided: the person's outcome against
  each policy's recommendation. "Escalate" agrees when the case went up a tier before it
  was decided (as DecideService records it); a ticket's reply sent agrees with whatever
  was recommended (sending the draft is following it).

Amounts are summed per currency: the shop's is reported first, anything else beside it,
never converted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from policy.assess import Changes, assess, reassess
from policy.config import Policy
from policy.models import Action, Assessment, CaseContext, CaseKind, Money, Recommendation

_ZERO = Decimal(0)
EXAMPLES_PER_CHANGE = 3
DISAGREEMENTS_LISTED = 5

# Outcomes of a decision that the simulator compares, and how they group for money.
MONEY_GROUPS = (Action.REFUND, Action.STORE_CREDIT, Action.EXCHANGE, Action.DENY, Action.ESCALATE)


@dataclass(frozen=True, slots=True)
class PastCase:
    """One stored case: its context snapshot and what people did with it."""

    case_id: int
    label: str  # "#1001 Marcus Webb": how a person finds it
    # None only with `current` and `kind` set, for a kind no proposed policy's changes reach
    # (the caller need not read a context whose assessment cannot change).
    context: CaseContext | None
    decided: Action | None = None  # a person's outcome; None: undecided, or decided by automation
    escalated: bool = False  # went up a tier before it was decided
    decided_by: str | None = None
    # What the current policy made of this context, when the caller knows it already (a
    # stored assessment made by the same policy and code): not recomputed.
    current: Assessment | None = None
    kind: CaseKind | None = None  # the context's kind, when there is no context

    @property
    def case_kind(self) -> CaseKind:
        return self.context.kind if self.context is not None else self.kind  # type: ignore[return-value]


@dataclass
class Totals:
    """Decimal sums per currency (exact; Money only at the edges)."""

    by_currency: dict[str, Decimal] = field(default_factory=dict)

    def add(self, amount: Money) -> None:
        self.by_currency[amount.currency] = self.by_currency.get(amount.currency, _ZERO) + amount.amount

    def in_(self, currency: str) -> Money:
        return Money(amount=self.by_currency.get(currency, Decimal(0)), currency=currency)

    def others(self, currency: str) -> list[Money]:
        return [Money(amount=v, currency=c) for c, v in sorted(self.by_currency.items()) if c != currency]

    def merge(self, other: Totals) -> None:
        for c, v in other.by_currency.items():
            self.by_currency[c] = self.by_currency.get(c, Decimal(0)) + v

    def to_json(self) -> dict[str, str]:
        return {c: str(v) for c, v in sorted(self.by_currency.items())}


@dataclass(frozen=True, slots=True)
class Example:
    case_id: int
    label: str
    amount: Money
    why: str  # the proposed policy's first reason
    decided: Action | None

    def to_json(self) -> dict[str, Any]:
        return {"case_id": self.case_id, "case": self.label, "amount": str(self.amount.amount),
                "currency": self.amount.currency, "why": self.why,
                "decided": self.decided.value if self.decided else None}


@dataclass
class Change:
    """Every case whose recommendation goes from one action to another."""

    before: Action
    after: Action
    count: int = 0
    money: Totals = field(default_factory=Totals)
    examples: list[Example] = field(default_factory=list)
    # Among them, cases people decided: how many decisions the new recommendation matches
    # and how many the old one matched.
    matches_people: int = 0
    matched_people: int = 0


@dataclass
class Side:
    """One policy's view of the replayed cases."""

    actions: Counter = field(default_factory=Counter)  # Action -> cases
    money: dict[Action, Totals] = field(default_factory=dict)
    auto_approved: int = 0
    tiers: Counter = field(default_factory=Counter)  # tier index -> cases
    agrees: int = 0  # decided cases whose people's outcome this policy recommends

    def count(self, rec: Recommendation, *, agrees: bool | None) -> None:
        self.actions[rec.action] += 1
        totals = self.money.get(rec.action)
        if totals is None:
            totals = self.money[rec.action] = Totals()
        totals.add(rec.amount)
        self.auto_approved += rec.auto_approve
        self.tiers[rec.tier.index] += 1
        self.agrees += bool(agrees)


@dataclass(frozen=True, slots=True)
class Disagreement:
    """A decided case where the proposed policy recommends something else than people did."""

    case_id: int
    label: str
    amount: Money
    decided: Action
    current: Action
    proposed: Action
    decided_by: str | None

    def to_json(self) -> dict[str, Any]:
        return {"case_id": self.case_id, "case": self.label, "amount": str(self.amount.amount),
                "currency": self.amount.currency, "decided": self.decided.value,
                "current": self.current.value, "proposed": self.proposed.value, "decided_by": self.decided_by}


@dataclass
class Simulation:
    currency: str  # the shop's
    cases: int = 0
    decided: int = 0  # by people
    current: Side = field(default_factory=Side)
    proposed: Side = field(default_factory=Side)
    changes: dict[tuple[Action, Action], Change] = field(default_factory=dict)
    higher_tier: int = 0  # cases the proposed policy sends to a higher tier than the current
    lower_tier: int = 0
    became_auto: int = 0  # auto-approved under the proposed policy, not under the current
    stopped_auto: int = 0
    disagreements: list[Disagreement] = field(default_factory=list)  # the biggest, by amount
    kinds: Counter = field(default_factory=Counter)
    unreadable: int = 0  # snapshots that could not be read (the caller counts them)
    reused: int = 0  # cases whose current-policy verdict was read, not recomputed (the caller counts them)
    # Cases the caller asked to follow (a suggestion's overrides): how many were replayed,
    # and how many of them the proposed policy now agrees with.
    focus_cases: int = 0
    focus_agrees: int = 0
    examples_per_change: int = EXAMPLES_PER_CHANGE
    disagreements_listed: int = DISAGREEMENTS_LISTED

    def merge(self, other: Simulation) -> None:
        """Add `other` (the same policies over other cases, e.g. another id range) into this."""
        if other.currency != self.currency:
            raise ValueError("simulations for different currencies")
        self.cases += other.cases
        self.decided += other.decided
        for mine, theirs in ((self.current, other.current), (self.proposed, other.proposed)):
            mine.actions.update(theirs.actions)
            for action, totals in theirs.money.items():
                mine.money.setdefault(action, Totals()).merge(totals)
            mine.auto_approved += theirs.auto_approved
            mine.tiers.update(theirs.tiers)
            mine.agrees += theirs.agrees
        for key, theirs in other.changes.items():
            mine = self.changes.setdefault(key, Change(theirs.before, theirs.after))
            mine.count += theirs.count
            mine.money.merge(theirs.money)
            mine.matches_people += theirs.matches_people
            mine.matched_people += theirs.matched_people
            mine.examples = sorted(mine.examples + theirs.examples, key=lambda e: e.case_id)[: self.examples_per_change]
        self.higher_tier += other.higher_tier
        self.lower_tier += other.lower_tier
        self.became_auto += other.became_auto
        self.stopped_auto += other.stopped_auto
        both = self.disagreements + other.disagreements
        self.disagreements = sorted(both, key=_disagreement_rank(self.currency))[: self.disagreements_listed]
        self.kinds.update(other.kinds)
        self.unreadable += other.unreadable
        self.reused += other.reused
        self.focus_cases += other.focus_cases
        self.focus_agrees += other.focus_agrees

    @property
    def changed(self) -> int:
        return sum(c.count for c in self.changes.values())

    def agreement(self, side: Side) -> Decimal | None:
        """Share of people-decided cases the side's recommendation matches (0..1)."""
        return Decimal(side.agrees) / self.decided if self.decided else None

    def sorted_changes(self) -> list[Change]:
        return sorted(self.changes.values(), key=lambda c: (-c.count, c.before.value, c.after.value))


def agrees(case: PastCase, recommended: Action) -> bool | None:
    """Whether the person's decision is what `recommended` says; None when no person decided."""
    if case.decided is None:
        return None
    if case.case_kind is CaseKind.TICKET:
        return case.decided is Action.ACCEPT or case.decided is recommended
    if recommended is Action.ESCALATE:
        return case.escalated
    return case.decided is recommended


def simulate(cases: Iterable[PastCase], current: Policy, proposed: Policy, *,
             examples: int = EXAMPLES_PER_CHANGE, disagreements: int = DISAGREEMENTS_LISTED) -> Simulation:
    """Replay `cases` (any iterable: it is consumed once, one case at a time) through both
    policies. Both must be resolved for the same shop (`Policy.for_shop`)."""
    return simulate_many(cases, current, [proposed], examples=examples, disagreements=disagreements)[0]


def unreached_kinds(current: Policy, proposals: list[Policy]) -> frozenset[CaseKind]:
    """The case kinds none of the proposals can assess differently from `current`: a
    caller with their stored assessments need not read their contexts."""
    changes = [Changes.between(current, p) for p in proposals]
    return frozenset(k for k in CaseKind if not any(ch.reach(k) for ch in changes))


def simulate_many(cases: Iterable[PastCase], current: Policy, proposals: list[Policy], *,
                  examples: int = EXAMPLES_PER_CHANGE, disagreements: int = DISAGREEMENTS_LISTED,
                  focus: list[frozenset[int]] | None = None) -> list[Simulation]:
    """One pass over `cases` for several proposed policies (the current one assessed once
    per case): one Simulation per proposal, in order. `focus[i]`: case ids whose agreement
    under proposal i is counted on their own (`focus_agrees`)."""
    focus = focus or [frozenset()] * len(proposals)
    for proposed in proposals:
        if current.shop_currency != proposed.shop_currency:
            raise ValueError(f"the policies are for different currencies: {current.shop_currency} vs "
                             f"{proposed.shop_currency}")
    sims = [Simulation(currency=current.shop_currency, examples_per_change=examples,
                       disagreements_listed=disagreements) for _ in proposals]
    worst: list[list] = [[] for _ in proposals]  # per proposal: (rank, -id, Disagreement), smallest first
    # Per proposal, what it changes that assessment reads: only that is assessed again on
    # each case (policy.assess.reassess), the rest is the current policy's assessment.
    runs = list(zip(sims, proposals, worst, focus, [Changes.between(current, p) for p in proposals]))
    for case in cases:
        if case.context is None:
            if case.current is None or any(changes.reach(case.case_kind) for *_, changes in runs):
                raise ValueError(f"case {case.case_id}: no context, and its assessment is needed")
            now = case.current
        else:
            now = case.current or assess(case.context, current)
        before = now.recommendation
        for sim, proposed, biggest, followed, changes in runs:
            after = reassess(case.context, proposed, now, changes).recommendation  # type: ignore[arg-type]
            agreed = _count(sim, case, before, after, examples)
            if case.case_id in followed:
                sim.focus_cases += 1
                sim.focus_agrees += bool(agreed)
            if case.decided is not None and not agreed:
                _keep_biggest(biggest, case, before, after, disagreements, sim.currency)
    for sim, biggest in zip(sims, worst):
        sim.disagreements = sorted((d for _, _, d in biggest), key=_disagreement_rank(sim.currency))
    return sims


def _rank_key(amount: Money, currency: str) -> Decimal:
    # Another currency cannot be ranked against shop money: it sorts last.
    return amount.amount if amount.currency == currency else Decimal(-1)


def _disagreement_rank(currency: str):
    return lambda d: (-_rank_key(d.amount, currency), d.case_id)


def _count(sim: Simulation, case: PastCase, before: Recommendation, after: Recommendation,
           examples: int) -> bool | None:
    """Tally one case; whether the person's decision agrees with the proposed policy (None: no person decided)."""
    sim.cases += 1
    sim.kinds[case.case_kind] += 1
    if case.decided is not None:
        sim.decided += 1
    if after is before:  # the proposal could not reach it (policy.assess.reassess): nothing differs
        agreed = agrees(case, before.action)
        sim.current.count(before, agrees=agreed)
        sim.proposed.count(before, agrees=agreed)
        return agreed
    agree_before, agree_after = agrees(case, before.action), agrees(case, after.action)
    sim.current.count(before, agrees=agree_before)
    sim.proposed.count(after, agrees=agree_after)
    sim.higher_tier += after.tier.index > before.tier.index
    sim.lower_tier += after.tier.index < before.tier.index
    sim.became_auto += after.auto_approve and not before.auto_approve
    sim.stopped_auto += before.auto_approve and not after.auto_approve
    if before.action is after.action:
        return agree_after
    change = sim.changes.get((before.action, after.action))
    if change is None:
        change = sim.changes[(before.action, after.action)] = Change(before.action, after.action)
    change.count += 1
    change.money.add(after.amount)
    change.matches_people += bool(agree_after)
    change.matched_people += bool(agree_before)
    if len(change.examples) < examples:
        change.examples.append(Example(case.case_id, case.label, after.amount,
                                       after.reasons[0] if after.reasons else "", case.decided))
    return agree_after


def _keep_biggest(worst: list, case: PastCase, before: Recommendation, after: Recommendation,
                  limit: int, currency: str) -> None:
    if limit <= 0:
        return
    amount = after.amount
    key = _rank_key(amount, currency)
    if len(worst) >= limit and key <= worst[0][0]:
        return
    worst.append((key, -case.case_id, Disagreement(case.case_id, case.label, amount, case.decided,
                                                   before.action, after.action, case.decided_by)))
    worst.sort(key=lambda w: (w[0], w[1]))
    if len(worst) > limit:
        worst.pop(0)


# --- JSON ------------------------------------------------------------------------------------


def _pct(value: Decimal | None) -> float | None:
    # A share for JSON readers; money never goes through float.
    return None if value is None else round(float(value * 100), 1)


def _side_json(sim: Simulation, side: Side) -> dict[str, Any]:
    return {
        "actions": {a.value: n for a, n in sorted(side.actions.items(), key=lambda kv: kv[0].value)},
        "money": {a.value: t.to_json() for a, t in sorted(side.money.items(), key=lambda kv: kv[0].value)},
        "auto_approved": side.auto_approved,
        "tiers": {str(i + 1): n for i, n in sorted(side.tiers.items())},
        "agrees_with_team": side.agrees,
        "agreement_pct": _pct(sim.agreement(side)),
    }


def to_json(sim: Simulation) -> dict[str, Any]:
    """The simulation as plain JSON types (amounts as decimal strings, per currency)."""
    return {
        "currency": sim.currency,
        "cases": sim.cases,
        "unreadable": sim.unreadable,
        "current_verdicts_reused": sim.reused,
        "kinds": {k.value: n for k, n in sorted(sim.kinds.items(), key=lambda kv: kv[0].value)},
        "decided_by_people": sim.decided,
        "changed": sim.changed,
        "changes": [
            {"from": c.before.value, "to": c.after.value, "count": c.count, "money": c.money.to_json(),
             "people_decisions_matched_before": c.matched_people, "people_decisions_matched_after": c.matches_people,
             "examples": [e.to_json() for e in c.examples]}
            for c in sim.sorted_changes()
        ],
        "higher_tier": sim.higher_tier,
        "lower_tier": sim.lower_tier,
        "became_auto_approved": sim.became_auto,
        "no_longer_auto_approved": sim.stopped_auto,
        "current": _side_json(sim, sim.current),
        "proposed": _side_json(sim, sim.proposed),
        "biggest_disagreements": [d.to_json() for d in sim.disagreements],
    }
