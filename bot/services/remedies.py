"""A delayed shipment's remedies, from a click: reship the order, or refund its shipping.

The same checks as any decision on the case (the card's version, a case still open, the
case's tier as it stands), then one compare-and-set that records the decision and queues
the store operation (`effects.remedy_ops`: keyed per case and remedy, run in the store that
owns the order). A double click is a refusal for the second one ("already decided"), and
the outbox key makes a second queueing impossible anyway.
"""

from __future__ import annotations

from bot.services.decide import DecideService
from bot.services.effects import REMEDIES, remedy_ops
from bot.store import CaseRecord
from bot.store.cases import Decision
from policy.models import Action, CaseKind, CaseStatus, Money

# remedy → what the decision records (and the card names)
OUTCOMES = {"reship": Action.RESHIP, "refund_shipping": Action.REFUND_SHIPPING}
assert set(OUTCOMES) == set(REMEDIES)


class Remedies:
    def __init__(self, *, decide: DecideService) -> None:
        self.decide = decide

    def check(self, case: CaseRecord, user_id: str, version: int | None, *, record: bool = True) -> None:
        """Refuses (DecisionRefused) a stale card, a case that is not an open delayed
        shipment, or a user below the case's tier."""
        d = self.decide
        d._check_version(case, user_id, version, record=record)
        if case.kind is not CaseKind.DELAYED_SHIPMENT:
            d._refuse(case, user_id, "no_remedy", "Reship and refund shipping are for delayed shipments only.",
                      record=record)
        d._check_decidable(case, user_id, record=record)
        if record:
            d.authorise(case, user_id, verb="decide")
        elif d.may_decide_known(case, user_id) is False:
            d._not_authorised(case, user_id, d.tier_for(case), "decide", record=False)

    def carry_out(self, case_id: int, user_id: str, *, remedy: str, amount: Money | None = None,
                  version: int | None, note: str | None = None) -> CaseRecord:
        if remedy not in OUTCOMES:
            raise ValueError(f"unknown remedy {remedy!r}; expected one of {sorted(OUTCOMES)}")
        d = self.decide
        case = d.load(case_id)
        self.check(case, user_id, version)
        if amount is not None:
            if remedy != "refund_shipping":
                d._refuse(case, user_id, "bad_amount", "A reship has no amount: nothing was done.")
            if amount.currency != case.amount.currency or amount.amount <= 0:
                d._refuse(case, user_id, "bad_amount",
                          f"The shipping refund must be a positive amount in {case.amount.currency}; "
                          f"got {amount}. Nothing was done.")
        outcome = OUTCOMES[remedy]
        detail = {"remedy": remedy}
        if amount is not None:
            detail.update(amount=str(amount.amount), currency=amount.currency)
        decision = Decision("remedy", outcome.value, followed_recommendation=case.recommended_action == outcome.value,
                            note=note, detail=detail)
        return d._commit(case, user_id, to=CaseStatus.APPROVED, event=f"case.{remedy}", decision=decision,
                         ops=remedy_ops(case, remedy, amount=amount, note=note), detail=detail)
