"""The follow-up decision at receipt, from a click: the same checks as any decision on the
case (the card's version, the case's tier as it stands), then core's lifecycle service
carries it out (`LifecycleService.decide_followup`); its refusals are told like any other."""

from __future__ import annotations

from typing import Callable

from bot.services.decide import DecideService
from bot.services.lifecycle import FollowupRefused
from bot.store import CaseRecord
from policy.exchange_rules import ALL_CHOICES
from policy.models import CaseStatus, Money

CHOICES = ALL_CHOICES  # the one list: policy.exchange_rules


class Followups:
    def __init__(self, *, decide: DecideService, decide_followup: Callable | None = None) -> None:
        self.decide = decide
        # LifecycleService.decide_followup (the container's); None where only `check` is used.
        self._decide_followup = decide_followup

    def open_followup(self, case: CaseRecord) -> bool:
        return case.followup is not None and case.status is CaseStatus.OPEN

    def check(self, case: CaseRecord, user_id: str, version: int | None, *, record: bool = True) -> None:
        """Refuses (DecisionRefused) a stale card, a follow-up no longer open, or a user below the tier."""
        d = self.decide
        d._check_version(case, user_id, version, record=record)
        if not self.open_followup(case):
            d._refuse(case, user_id, "no_followup", "This follow-up has been decided already.", record=record)
        if record:
            d.authorise(case, user_id, verb="decide")
        elif d.may_decide_known(case, user_id) is False:
            d._not_authorised(case, user_id, d.tier_for(case), "decide", record=False)

    def carry_out(self, case_id: int, user_id: str, *, choice: str, amount: Money | None, message: str | None,
                  version: int) -> CaseRecord:
        if choice not in CHOICES:
            raise ValueError(f"unknown follow-up choice {choice!r}")
        case = self.decide.load(case_id)
        self.check(case, user_id, version)
        if self._decide_followup is None:
            raise RuntimeError("no follow-up service wired: build Followups with decide_followup")
        try:
            self._decide_followup(case_id, choice=choice, amount=amount, message=message, actor=user_id,
                                  version=version)
        except FollowupRefused as exc:
            # The lifecycle's own checks (what the store says is left to refund now) are a
            # refusal like any other: recorded, and the person is told why.
            self.decide._refuse(case, user_id, "followup_refused", str(exc))
        return self.decide.load(case_id)
