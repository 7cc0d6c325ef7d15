"""`returnsbot policy suggest`: read the overrides, propose edits (policy/suggest.py), and
simulate every proposal over the same history — one replay for all of them — keeping the
ones that raise agreement with the team (the best value per key)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from bot.simulate import Reader, Scope, reading, resolved, run_many, running_policy_text, stored_shop_facts
from policy.assess import assess
from policy.config import parse_policy
from policy.edit import with_values
from policy.simulate import Simulation, agrees, to_json
from policy.suggest import Overrides, Suggestion


@dataclass
class Tried:
    suggestion: Suggestion
    simulation: Simulation
    policy_text: str  # the running policy file with the change: what --write writes

    def __getattr__(self, name: str) -> Any:  # dotted, value, evidence, table, key
        return getattr(self.suggestion, name)

    @property
    def matched(self) -> int:
        return self.simulation.focus_agrees

    @property
    def better(self) -> bool:
        sim = self.simulation
        return sim.decided > 0 and sim.proposed.agrees > sim.current.agrees

    def to_json(self) -> dict[str, Any]:
        s = self.suggestion
        return {"key": s.dotted, "value": s.value, "evidence": s.evidence, "overrides": len(s.case_ids),
                "matched": self.matched, "suggested": self.better, "simulation": to_json(self.simulation)}


@dataclass
class Suggested:
    decided: int = 0
    overrides: int = 0
    tried: list[Tried] = field(default_factory=list)

    @property
    def kept(self) -> list[Tried]:
        best: dict[str, Tried] = {}
        for t in self.tried:
            if t.better and (t.dotted not in best or t.simulation.proposed.agrees > best[t.dotted].simulation.proposed.agrees):
                best[t.dotted] = t
        gain = lambda t: t.simulation.proposed.agrees - t.simulation.current.agrees  # noqa: E731
        return sorted(best.values(), key=lambda t: -gain(t))

    @property
    def dropped(self) -> list[Tried]:
        kept_keys = {t.dotted for t in self.kept}
        return [t for t in self.tried if t.dotted not in kept_keys]


def period_text(since: str) -> str:
    return f"in the last {since.strip()}"


def suggest(engine: Engine, running: str | None, scope: Scope, *, since: str = "90d", workers: int = 1) -> Suggested:
    facts = stored_shop_facts(engine)
    text, name = running_policy_text(running)
    current = resolved(parse_policy(text, source_name=name), facts)
    found, overrides = Suggested(), Overrides(current)
    with reading(engine) as reader_engine:
        for case in Reader(reader_engine, scope).cases():
            if case.decided is None:
                continue
            found.decided += 1
            assessment = assess(case.context, current)
            if not agrees(case, assessment.recommendation.action):
                overrides.add(case, assessment)
    found.overrides = overrides.count
    candidates = overrides.suggestions(period_text(since))
    if not candidates:
        return found
    texts = [with_values(text, {c.dotted: c.value}) for c in candidates]
    proposals = [resolved(parse_policy(t, source_name=f"{name} with {c.dotted}={c.value}"), facts)
                 for t, c in zip(texts, candidates)]
    sims = run_many(engine, current, proposals, scope, workers=workers, focus=[c.case_ids for c in candidates])
    found.tried = [Tried(c, sim, t) for c, sim, t in zip(candidates, sims, texts)]
    return found
