"""Ticket priority: a score from the policy's weights, a level, and the SLA that follows.

score = urgency + VIP + sentiment + intent + waiting (points per hour, capped); the level is
the highest of `[priority.levels]` the score reaches, and its `[priority.sla_hours]` say
when the first reply is due. VIPs and complaints go first with the default weights.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import Field, StrictInt, create_model, field_validator
from pydantic_core import PydanticCustomError

from policy.fields import Section
from policy.models import Frozen, utc
from policy.triage import Intent, Sentiment, Urgency

Points = Annotated[StrictInt, Field(ge=-100, le=100)]
SlaHours = Annotated[StrictInt, Field(ge=1, le=24 * 30)]


class Level(StrEnum):
    URGENT = "urgent"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


class UrgencyPoints(Section):
    """One field per policy.triage.Urgency."""

    low: Points = 0
    normal: Points = 10
    high: Points = 30


class SentimentPoints(Section):
    """One field per policy.triage.Sentiment."""

    negative: Points = 15
    neutral: Points = 0
    positive: Points = 0


class _IntentPointsBase(Section):
    def of(self, intent: Intent) -> int:
        return getattr(self, intent.value)


# One field per policy.triage.Intent, built from the enum: "return" is a Python keyword,
# so a class body could not name it.
_INTENT_DEFAULTS = {Intent.COMPLAINT: 25, Intent.RETURN: 10, Intent.DELIVERY: 10, Intent.WHOLESALE: 5,
                    Intent.PRODUCT_QUESTION: 0, Intent.OTHER: 0}
IntentPoints = create_model(
    "IntentPoints", __base__=_IntentPointsBase, __doc__="Points per ticket intent.",
    **{intent.value: (Points, _INTENT_DEFAULTS[intent]) for intent in Intent},
)


class LevelThresholds(Section):
    """The score at which a ticket reaches each level; below `normal` it is low."""

    urgent: StrictInt = 60
    high: StrictInt = 35
    normal: StrictInt = 15

    @field_validator("normal")
    @classmethod
    def _ordered(cls, v: int, info) -> int:
        urgent, high = info.data.get("urgent"), info.data.get("high")
        if high is not None and v >= high:
            raise PydanticCustomError("level_order", "must be below high ({high})", {"high": high})
        if urgent is not None and high is not None and high >= urgent:
            raise PydanticCustomError("level_order", "high ({high}) must be below urgent ({urgent})",
                                      {"high": high, "urgent": urgent})
        return v


class SlaHoursByLevel(Section):
    """Hours from the ticket's creation to the first reply, per level."""

    urgent: SlaHours = 1
    high: SlaHours = 4
    normal: SlaHours = 12
    low: SlaHours = 24

    def of(self, level: Level) -> int:
        return getattr(self, level.value)


class PrioritySettings(Section):
    vip: Points = 25
    per_hour_waiting: Annotated[StrictInt, Field(ge=0, le=100)] = 2
    max_for_waiting: Annotated[StrictInt, Field(ge=0, le=100)] = 30
    urgency: UrgencyPoints = Field(default_factory=UrgencyPoints)
    sentiment: SentimentPoints = Field(default_factory=SentimentPoints)
    intent: IntentPoints = Field(default_factory=IntentPoints)  # type: ignore[valid-type]
    levels: LevelThresholds = Field(default_factory=LevelThresholds)
    sla_hours: SlaHoursByLevel = Field(default_factory=SlaHoursByLevel)


class TicketPriority(Frozen):
    score: int
    level: Level
    sla_hours: int
    reply_due_at: datetime
    reasons: tuple[str, ...]  # one per contribution that is not zero, for the card


def ticket_priority(*, urgency: Urgency, sentiment: Sentiment, intent: Intent, vip: bool,
                    created_at: datetime, now: datetime, settings: PrioritySettings) -> TicketPriority:
    created_at, now = utc(created_at), utc(now)
    hours = max(0, int((now - created_at).total_seconds() // 3600))
    parts = [
        (f"urgency {urgency.value}", getattr(settings.urgency, urgency.value)),
        ("VIP customer", settings.vip if vip else 0),
        (f"sentiment {sentiment.value}", getattr(settings.sentiment, sentiment.value)),
        (f"intent {intent.value}", settings.intent.of(intent)),
        (f"waiting {hours} h", min(settings.max_for_waiting, hours * settings.per_hour_waiting)),
    ]
    score = sum(points for _, points in parts)
    levels = settings.levels
    level = (Level.URGENT if score >= levels.urgent else Level.HIGH if score >= levels.high
             else Level.NORMAL if score >= levels.normal else Level.LOW)
    sla = settings.sla_hours.of(level)
    return TicketPriority(score=score, level=level, sla_hours=sla, reply_due_at=created_at + timedelta(hours=sla),
                          reasons=tuple(f"{label} {points:+d}" for label, points in parts if points))


# --- the queue's order ------------------------------------------------------------------
# A level as a sortable rank (0 first). Cases that are not tickets carry no priority: they
# rank as a normal ticket (urgent and high tickets go ahead of them, low ones after), and
# among equal ranks the longest-waiting goes first — so their order relative to each other
# is unchanged (docs/DECISIONS.md "ticketmetrics").
RANKS: dict[Level, int] = {Level.URGENT: 0, Level.HIGH: 1, Level.NORMAL: 2, Level.LOW: 3}
UNRANKED = RANKS[Level.NORMAL]


def rank_of(level: Level) -> int:
    return RANKS[level]


def level_of(rank: int | None) -> Level | None:
    return next((level for level, r in RANKS.items() if r == rank), None) if rank is not None else None


def head_start(rank: int | None) -> timedelta:
    """How much earlier than now a case's first card post is due, so that when several cards
    wait the higher priority posts first (the job runner claims by due time): urgent 3 s,
    high 2 s, normal and unranked 1 s, low 0."""
    r = UNRANKED if rank is None else rank
    return timedelta(seconds=max(0, RANKS[Level.LOW] - r))
