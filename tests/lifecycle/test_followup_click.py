"""A follow-up click whose amount the store's fresh figure refuses: the person is told why
(a DecisionRefused with the lifecycle's words, recorded in the audit), nothing changes."""

from datetime import timedelta

import pytest

from bot.services.decide import DecideService, DecisionRefused
from bot.services.followup import Followups
from bot.services.lifecycle import LifecycleService
from bot.store import CaseRepo, OutboxRepo
from bot.store.cases import Decision
from bot.store.stages import StageRepo
from policy.config import parse_policy
from policy.lifecycle import DisposedLine, Disposition, ReturnStage, StageUpdate
from policy.models import CaseStatus, Money, ShopFacts
from tests.bot.factories import NOW, new_case
from tests.lifecycle.orders import Orders

ORDER = "gid://shopify/Order/1001"
POLICY = parse_policy('[[approval_tiers]]\napprovers = ["U0APPROVER"]\n').for_shop(ShopFacts(currency="USD", timezone="UTC"))


def test_a_partial_above_what_the_store_says_is_left_is_told_and_recorded(engine):
    cases, outbox, store = CaseRepo(engine), OutboxRepo(engine), Orders()
    lifecycle = LifecycleService(cases=cases, stages=StageRepo(engine), source=store, policy=POLICY,
                                 clock=lambda: NOW)
    case, _ = cases.open(new_case())
    cases.transition(case.id, expected=CaseStatus.OPEN, to=CaseStatus.DONE, actor="U0APPROVER", at=NOW,
                     event="case.approved", decision=Decision("approve", "refund", True, detail={
                         "refund_on": "receipt", "pending": {"outcome": "refund", "amount": "149.00",
                                                             "currency": "USD"}}))
    line = new_case().context.return_request.line_items[0]
    lifecycle.apply(StageUpdate(return_id=case.external_id, stage=ReturnStage.RECEIVED, at=NOW + timedelta(hours=1),
                                source=case.source, ref="rfo-1", dispositions=(DisposedLine(
                                    return_line_id=line.id, quantity=1, disposition=Disposition.MISSING),)))
    opened = cases.get(case.id)
    store.refund_in_admin(ORDER, Money.of("120.00", "USD"))  # while the follow-up waits: 29.00 left
    followups = Followups(decide=DecideService(cases=cases, outbox=outbox, policy=POLICY, clock=lambda: NOW),
                          decide_followup=lifecycle.decide_followup)

    with pytest.raises(DecisionRefused, match="29.00 USD left to refund") as refused:
        followups.carry_out(case.id, "U0APPROVER", choice="partial_refund", amount=Money.of("50.00", "USD"), message=None,
                            version=opened.version)
    assert refused.value.code == "followup_refused" and store.asked[-1] == ORDER
    assert cases.get(case.id).version == opened.version and not outbox.for_case(case.id)
    assert [a["event"] for a in cases.audit(case.id)][-1] == "case.refused"
