"""The App Home tab: the viewer's queue (cases waiting on a tier they may decide: tickets
by priority, then everything by how long it has waited — `CaseRepo.queue`) and their
recent decisions."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from bot.schema import cases
from bot.store import CaseRecord
from policy.approval import may_decide
from policy.models import CaseStatus

QUEUE_LIMIT = 20
RECENT_LIMIT = 10


@dataclass(frozen=True)
class HomeItem:
    case: CaseRecord
    url: str | None  # permalink of the card


@dataclass(frozen=True)
class Home:
    user_id: str
    queue: tuple[HomeItem, ...]
    queue_total: int
    recent: tuple[HomeItem, ...]
    followups: tuple = ()  # blocks.moment.OpenTask: the person's open follow-ups, soonest due first


class HomeService:
    def __init__(self, *, cases, decide, policy, clock, gateway=None) -> None:
        self.cases = cases
        self.decide = decide
        self.policy = policy
        self.clock = clock
        self.gateway = gateway
        self.tasks = None  # bot.services.moments.FollowTasks: the person's open follow-ups

    def home_for(self, user_id: str) -> Home:
        groups = self.decide.groups_of(user_id)
        waiting = [c for c in self.cases.queue(statuses=(CaseStatus.OPEN, CaseStatus.ESCALATED), limit=1000)
                   if may_decide(user_id, groups, self.decide.tier_for(c), self.policy)
                   and not (c.status is CaseStatus.ESCALATED and c.escalated_by == user_id)]
        with self.cases.engine.connect() as conn:
            recent = [CaseRecord.from_row(r) for r in conn.execute(
                select(cases).where(cases.c.decided_by == user_id)
                .order_by(cases.c.decided_at.desc()).limit(RECENT_LIMIT))]
        return Home(
            user_id=user_id,
            queue=tuple(HomeItem(c, self._url(c)) for c in waiting[:QUEUE_LIMIT]),
            queue_total=len(waiting),
            recent=tuple(HomeItem(c, self._url(c)) for c in recent),
            followups=tuple(self.tasks.open_list(owner=user_id)) if self.tasks is not None else (),
        )

    def _url(self, case: CaseRecord) -> str | None:
        channel, ts = ((case.escalation_channel, case.escalation_ts) if case.escalation_ts
                       else (case.slack_channel, case.slack_ts))
        if not (self.gateway and channel and ts):
            return None
        try:
            return self.gateway.get_permalink(channel, ts)
        except Exception:  # a missing link must not cost the person their queue
            return None
