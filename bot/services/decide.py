"""Decide: a person approves, denies, escalates, overrides or retries a case.

Check the version the person saw → authorise by amount tier → compare-and-set on that
version (with audit, decision and outbox rows in the same transaction) → the outbox worker
carries it out, the card sync re-renders the card. A refusal (not authorised, already
decided, stale card) changes nothing but the audit log.

`version` is the case version the button or modal carries (blocks.refs). When it is not
the stored one, the person acted on an old card: they are told what changed, and the card
is re-rendered. Even without one (the SLA timer), the update is a compare-and-set on the
version that was authorised, so nothing commits against a state nobody checked.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Callable

from blocks.format import ago, outcome_phrase, whole_money
from bot import actors
from bot.clock import Clock
from bot.services.effects import (
    approval_detail,
    approval_ops,
    approved_stage,
    concede_ops,
    contest_ops,
    decline_ops,
    platform_approval_ops,
    platform_deny_ops,
    platform_hold_ops,
    refund_on_for_case,
)
from bot.store.stages import record_in
from bot.services.ticket_returns import joined_ticket, ticket_outcome
from bot.services.membership import GroupMembership
from bot.store import CaseRecord, CaseRepo, OutboxRepo
from bot.store.cases import Decision
from policy.approval import escalation_tier, may_decide
from policy.config import Policy, RefundOn
from policy.disputes import build_packet
from policy.ports import Operation
from policy.models import Action, CaseKind, CaseStatus, DeclineReason, Money, Tier, approve_outcome

log = logging.getLogger(__name__)

DECIDABLE = (CaseStatus.OPEN, CaseStatus.ESCALATED)


class DecisionRefused(Exception):
    """A known reason a click did nothing; the message is for the person who clicked.

    `code` is the audit reason. `recorded` is False for a refusal raised before an ack
    (`precheck`): the caller records it afterwards with `DecideService.after_refusal`.
    """

    def __init__(self, message: str, *, case: CaseRecord | None = None, code: str = "refused",
                 recorded: bool = True, refresh: bool = False, detail: dict | None = None) -> None:
        super().__init__(message)
        self.case = case
        self.code = code
        self.detail = detail or {}
        self.recorded = recorded
        self.refresh = refresh  # the card is behind the case: re-render it


Membership = Callable[[str], set[str]]  # user-group id -> member user ids (may ask Slack)


class DecideService:
    def __init__(
        self,
        *,
        cases: CaseRepo,
        outbox: OutboxRepo,
        policy: Policy,
        clock: Clock,
        members: Membership = lambda group: set(),
        on_case_changed: Callable[[CaseRecord], None] = lambda case: None,
        on_outbox: Callable[[], None] = lambda: None,
        can_act: Callable[[str, str], bool] | None = None,
    ) -> None:
        self.cases = cases
        self.outbox = outbox
        self.policy = policy
        self.clock = clock
        # One cache in front of `members`: decisions (after the ack) read through it, the
        # checks before a modal opens only look at what it already knows.
        self.membership = GroupMembership(members, ttl=60.0)
        self.on_case_changed = on_case_changed
        self.on_outbox = on_outbox  # wakes the outbox worker
        # Whether the system holding a case (its source) has an action: the registry's answer
        # (without one: a store that has every store action, and no returns platform's).
        self.can_act = can_act or (lambda system, operation: operation != Operation.PROCESS_RETURN)
        self.tickets = None  # bot.services.ticket_send.TicketSender: a ticket case's Approve & send
        self.reclassifier = None  # bot.services.tickets.TicketIntake.reclassify

    # --- who may decide ----------------------------------------------------------------

    def tier_for(self, case: CaseRecord) -> Tier:
        tier = self.policy.tiers[min(case.required_tier, len(self.policy.tiers) - 1)]
        if case.status is CaseStatus.ESCALATED:
            return escalation_tier(tier, self.policy)
        return tier

    def groups_of(self, user_id: str) -> set[str]:
        groups = {a for t in self.policy.tiers for a in t.approvers if a.startswith("S")}
        return {g for g in groups if user_id in self.membership.members(g)}

    def authorise(self, case: CaseRecord, user_id: str, *, verb: str, record: bool = True) -> None:
        self._personal_rules(case, user_id, verb=verb, record=record)
        tier = self.tier_for(case)
        if not may_decide(user_id, self.groups_of(user_id), tier, self.policy):
            self._not_authorised(case, user_id, tier, verb, record=record)

    def _personal_rules(self, case: CaseRecord, user_id: str, *, verb: str, record: bool) -> None:
        if case.requested_by and case.requested_by == user_id and verb in ("approve", "override"):
            self._refuse(case, user_id, "own_request", "You asked for this one, so someone else has to approve it.",
                         record=record)
        if case.status is CaseStatus.ESCALATED and case.escalated_by == user_id:
            self._refuse(case, user_id, "own_escalation", "You escalated this case; the next tier decides it.",
                         record=record)

    def _not_authorised(self, case: CaseRecord, user_id: str, tier: Tier, verb: str, *, record: bool) -> None:
        who = ", ".join(_mention(a) for a in tier.approvers) or "nobody yet (set approvers in the policy file)"
        currency = self.policy.shop_currency
        if case.amount.currency != currency:
            limit = f"the amount is in {case.amount.currency}, the limits in {currency}"
        elif tier.up_to is not None:
            limit = f"up to {whole_money(Money.of(tier.up_to, currency))}"
        else:
            limit = "above every limit"
        self._refuse(case, user_id, "not_authorised",
                     f"You can't {verb} this case: it needs tier {tier.index + 1} ({limit}). Approvers: {who}.",
                     record=record)

    def may_decide_known(self, case: CaseRecord, user_id: str) -> bool | None:
        """Whether the user may decide the case, from what is known without asking Slack:
        True/False, or None when it hangs on a user group whose members aren't cached."""
        unknown = False
        for tier in self.policy.tiers[self.tier_for(case).index:]:
            for approver in tier.approvers:
                if approver == user_id:
                    return True
                if approver.startswith("S"):
                    members = self.membership.known(approver)
                    if members is None:
                        unknown = True
                    elif user_id in members:
                        return True
        return None if unknown else False

    # --- where a click came from ----------------------------------------------------------

    def check_card(self, case: CaseRecord, user_id: str, channel: str | None, message_ts: str | None, *,
                   record: bool = True) -> None:
        """A click proves which message it was made on (Slack signs the payload), not which
        case it is about: the button value could be anything. Only a click on this case's
        own card — the owner card or the escalation card — may decide it."""
        cards = {(case.slack_channel, case.slack_ts), (case.escalation_channel, case.escalation_ts)}
        if channel and message_ts and (channel, message_ts) in cards:
            return
        self._refuse(case, user_id, "wrong_card", "That button isn't on this case's card, so nothing was done.",
                     record=record, detail={"channel": channel, "message_ts": message_ts})

    # --- before a modal opens (the ack path: the database and caches only) --------------

    def precheck(self, case_id: int, user_id: str, *, verb: str, version: int | None, channel: str | None,
                 message_ts: str | None) -> CaseRecord:
        """The case, if nothing known says this user can't `verb` it from this card now.
        Runs before an ack, so it never asks Slack and writes nothing: a refusal comes back
        unrecorded (see `after_refusal`), and a user-group membership the cache can't tell
        is left to the decision itself, after the modal is submitted."""
        case = self.load(case_id)
        self.check_card(case, user_id, channel, message_ts, record=False)
        self._check_version(case, user_id, version, record=False)
        self._check_decidable(case, user_id, record=False)
        if verb == "escalate":
            if case.status is CaseStatus.ESCALATED:
                self._refuse(case, user_id, "already_escalated", "This case is already with the escalation tier.",
                             record=False)
            return case
        self._personal_rules(case, user_id, verb=verb, record=False)
        if self.may_decide_known(case, user_id) is False:
            self._not_authorised(case, user_id, self.tier_for(case), verb, record=False)
        return case

    def after_refusal(self, exc: DecisionRefused, user_id: str) -> None:
        """What a refusal raised before the ack still owes: its audit row, the card refresh."""
        if exc.case is None:
            return
        if not exc.recorded:
            self.cases.record_refusal(exc.case.id, actor=user_id, at=self.clock(), reason=exc.code,
                                      detail=exc.detail)
        if exc.refresh:
            self.on_case_changed(exc.case)

    # --- decisions ---------------------------------------------------------------------

    def load(self, case_id: int) -> CaseRecord:
        case = self.cases.get(case_id)
        if case is None:
            raise DecisionRefused("That case no longer exists.", code="no_case")
        return case

    def approve(self, case_id: int, user_id: str, *, version: int | None = None, override: bool = False,
                text: str | None = None) -> CaseRecord:
        """Carry out what the card's primary button says (`approve_outcome`); with
        `override`, grant the request against a deny recommendation instead. A case with
        a ticket (its own, or one that joined it) also answers the customer: the draft, or
        `text` as edited (Edit & send)."""
        if override:
            return self.override(case_id, user_id, version=version)
        case = self._decidable(case_id, user_id, version)
        self.authorise(case, user_id, verb="approve")
        recommended = Action(case.recommended_action)
        outcome = approve_outcome(case.kind, recommended)
        if case.kind is CaseKind.TICKET:  # a ticket's return is decided too (bot.services.ticket_returns)
            outcome = ticket_outcome(case, self.cases.snapshot(case)[0])
        ops, pending, within = self._approval(case, outcome, user_id, text=text)
        if case.kind is not CaseKind.TICKET and self.has_ticket(case):  # a return case a ticket joined
            decided = outcome_phrase(outcome, case.amount) or outcome.label
            reply, sent = self._ticket_ops(case, user_id, text, decided=decided)
            ops, pending = [*ops, *reply], {**pending, **sent}
        elif case.kind is CaseKind.RETURN_REQUEST:  # the customer's open ticket hears the decision
            ops, pending = self._open_ticket_message(case, user_id, ops, pending, deny=outcome is Action.DENY,
                                                     decided=outcome_phrase(outcome, case.amount) or outcome.label)
        to = CaseStatus.DENIED if outcome is Action.DENY else CaseStatus.APPROVED
        # "Escalate" is followed when the case went up a tier before being decided.
        followed = outcome is recommended or (recommended is Action.ESCALATE and case.status is CaseStatus.ESCALATED)
        followed = followed or case.kind is CaseKind.TICKET  # sending the drafted reply is what was recommended
        decision = Decision("approve", outcome.value, followed_recommendation=followed, detail=pending)
        return self._commit(case, user_id, to=to, event="case.approved", decision=decision, ops=ops, within=within,
                            detail={"edited": True} if text is not None else None)

    def _open_ticket_message(self, case: CaseRecord, user_id: str, ops, detail, *, deny: bool, decided: str,
                             text: str | None = None):
        """The drafted approval (or deny) message posted to the customer's open ticket, once
        (bot.services.ticket_returns.with_open_ticket_replies); `text` replaces the draft
        (the deny modal's message). No helpdesk agent to send as: the decision goes on, the
        detail says the ticket was not answered."""
        from policy.ticket_case import replies_of

        if self.tickets is None:
            return ops, detail
        try:
            replies = replies_of(self.cases.snapshot(case)[0])
        except Exception:
            log.warning("case %s: snapshot unreadable, no message to the customer's ticket", case.id)
            return ops, detail
        if replies is None:
            return ops, detail
        draft = replies.deny if deny else replies.approve
        text = text if text is not None else (draft.text if draft is not None else None)
        if not text or not text.strip():
            return ops, detail
        verb = "Denied" if deny else "Approved"
        try:
            more, sent = self.tickets.message_ops(case, user_id, source=replies.source, ticket_id=replies.ticket_id,
                                                  text=text, note=f"{verb} in Slack by {user_id}: {decided} "
                                                                  f"(returnsbot case {case.id}).")
        except ValueError as exc:
            log.warning("case %s: the customer's ticket is not answered: %s", case.id, exc)
            return ops, {**detail, "ticket_message": f"not sent: {exc}"}
        return [*ops, *more], {**detail, "ticket_message": sent}

    def has_ticket(self, case: CaseRecord) -> bool:
        """A return case carrying a ticket that joined it (its card has the ticket buttons)."""
        if case.kind is not CaseKind.RETURN_REQUEST:
            return False
        try:
            ctx, _ = self.cases.snapshot(case)
        except Exception:  # an unreadable snapshot: no ticket to answer from it
            log.warning("case %s: snapshot unreadable, its ticket (if any) is not answered", case.id)
            return False
        return joined_ticket(ctx) is not None

    def _approval(self, case: CaseRecord, outcome: Action, user_id: str, *, text: str | None = None):
        """The ops, the decision detail (a refund pending receipt) and the approved stage
        recorded with the decision."""
        if case.kind is CaseKind.DISPUTE:
            return contest_ops(case, self.evidence(case)), {}, None
        if case.kind is CaseKind.TICKET:
            ops, detail = self._ticket_ops(case, user_id, text)
            return ops, detail, None
        if self.platform_owned(case):
            return self._platform_approval(case, outcome, user_id)
        refund_on = refund_on_for_case(case, self.policy, cases=self.cases)
        ops = approval_ops(case, outcome, refund_on=refund_on)
        pending = approval_detail(case, outcome, refund_on=refund_on)
        within = None
        if case.kind is CaseKind.RETURN_REQUEST and outcome is not Action.DENY:
            stage = approved_stage(case, actor=user_id, at=self.clock())
            within = lambda conn: record_in(conn, self.cases.engine, case.id, stage, now=stage.at, bump=False)  # noqa: E731
        return ops, pending, within

    # --- a ticket (bot/services/ticket_send.py) ------------------------------------------

    def _ticket_ops(self, case: CaseRecord, user_id: str, text: str | None, *, decided: str | None = None):
        if self.tickets is None:
            self._refuse(case, user_id, "no_helpdesk", "No helpdesk is connected: this reply can't be sent.")
        try:
            return self.tickets.ops(case, user_id, text=text, decided=decided)
        except ValueError as exc:  # no agent to send as, no text: nothing queued
            self._refuse(case, user_id, "cannot_send", str(exc))

    def reclassify(self, case_id: int, user_id: str, *, version: int | None = None) -> CaseRecord:
        case = self._decidable(case_id, user_id, version)
        if case.kind is not CaseKind.TICKET or self.reclassifier is None:
            self._refuse(case, user_id, "not_a_ticket", "Only a ticket can be reclassified.")
        self.authorise(case, user_id, verb="reclassify")  # it changes the recommendation
        return self.reclassifier(case)

    def send_edited(self, case_id: int, user_id: str, text: str, *, version: int | None = None) -> CaseRecord:
        """Approve & send with the reply as edited in the modal (the same keys as Approve:
        one reply whichever is pressed, however often; the same decision)."""
        case = self._decidable(case_id, user_id, version)
        if case.kind is not CaseKind.TICKET and not self.has_ticket(case):
            self._refuse(case, user_id, "not_a_ticket", "Only a ticket's reply can be edited and sent.")
        return self.approve(case_id, user_id, version=version, text=text)

    # --- a return a returns platform owns (Loop) ----------------------------------------

    def platform_owned(self, case: CaseRecord) -> bool:
        """The return's decision is carried out in a returns platform (it processes returns,
        the store's actions don't apply): Loop."""
        return case.kind is CaseKind.RETURN_REQUEST and self.can_act(case.decided_in, Operation.PROCESS_RETURN)

    def _platform_approval(self, case: CaseRecord, outcome: Action, user_id: str):
        """Approving lets the platform proceed: a note now, and its processing when the
        policy's `refund_on` says (now, or once the items are back) — unless the return is
        in the platform's review queue, which its API can't accept: then it is processed
        when the platform opens it, with no second click (bot.services.platform_returns)."""
        if outcome is Action.DENY:  # approving a "deny" recommendation: closed in the platform
            return platform_deny_ops(case, platform_note(case, f"Denied in Slack by {user_id} (close)"),
                                     deny_as="close"), {"deny_as": "close"}, None
        in_review = case.external_status == "review"
        refund_on = RefundOn(refund_on_for_case(case, self.policy, cases=self.cases))
        process_now = not in_review and refund_on is RefundOn.APPROVAL
        pending = {} if process_now else {"process": "when_open" if in_review else "on_receipt"}
        note = platform_note(case, f"Approved in Slack by {user_id}: {outcome_phrase(outcome, case.amount) or outcome.label}")
        return platform_approval_ops(case, note, process_now=process_now), pending, None

    def evidence(self, case: CaseRecord) -> dict[str, str]:
        """The dispute's evidence as its card shows it: built from the case's snapshot."""
        ctx, _ = self.cases.snapshot(case)
        return {f.value: text for f, text in build_packet(ctx, self.policy).submission}

    def concede(self, case_id: int, user_id: str, *, version: int | None = None) -> CaseRecord:
        """Accept a dispute's loss (the money stays with the card holder): same tier as
        submitting evidence, recorded against the recommendation when it said contest."""
        case = self._decidable(case_id, user_id, version)
        if case.kind is not CaseKind.DISPUTE:
            self._refuse(case, user_id, "not_a_dispute", "Only a dispute's loss can be accepted.")
        self.authorise(case, user_id, verb="accept the loss of")
        # A system with no call to accept a dispute (Shopify Payments) gets nothing: the
        # decision is recorded, and without evidence the dispute closes as lost by itself.
        by_api = self.can_act(case.source, Operation.ACCEPT_DISPUTE)
        decision = Decision("concede", Action.CONCEDE.value,
                            followed_recommendation=case.recommended_action == Action.CONCEDE.value,
                            detail={} if by_api else {"accept_in_admin": True})
        return self._commit(case, user_id, to=CaseStatus.APPROVED, event="case.conceded", decision=decision,
                            ops=concede_ops(case) if by_api else [])

    def assign(self, case_id: int, user_id: str, assignee: str, *, version: int | None = None) -> CaseRecord:
        """Give the case to someone (they get its reminders); anyone who sees the card may."""
        case = self._decidable(case_id, user_id, version)
        if not assignee or not assignee.startswith(("U", "W")):
            self._refuse(case, user_id, "bad_assignee", "Pick a person to assign it to.")
        res = self.cases.transition(case.id, expected=case.status, expected_version=case.version, to=case.status,
                                    actor=user_id, at=self.clock(), event="case.assigned",
                                    detail={"assignee": assignee}, extra={"assignee": assignee})
        if not res.ok:
            self._refuse(res.case, user_id, "lost_race", stale_text(res.case, self.clock()))
        self.on_case_changed(res.case)
        return res.case

    def override(self, case_id: int, user_id: str, *, version: int | None = None) -> CaseRecord:
        """The recommendation is deny, and a person grants the request anyway — the way an
        escalated case's approval grants it (`approve_outcome` of ESCALATE: a refund for a
        return). Same tier as approving; recorded as not following the recommendation."""
        case = self._decidable(case_id, user_id, version)
        if case.recommended_action != Action.DENY.value:
            self._refuse(case, user_id, "nothing_to_override",
                         f"Nothing to override: the recommendation is {case.recommended_action.replace('_', ' ')}.")
        self.authorise(case, user_id, verb="override")
        outcome = approve_outcome(case.kind, Action.ESCALATE)
        ops, pending, within = self._approval(case, outcome, user_id)
        decision = Decision("approve", outcome.value, followed_recommendation=False, detail={"override": True, **pending})
        return self._commit(case, user_id, to=CaseStatus.APPROVED, event="case.overridden", decision=decision,
                            ops=ops, detail={"override": True, "outcome": outcome.value}, within=within)

    def deny(self, case_id: int, user_id: str, *, reason: str, internal_note: str | None,
             customer_message: str | None, notify_customer: bool, version: int | None = None,
             deny_as: str | None = None) -> CaseRecord:
        """Decline a return (Shopify ReturnDeclineReason), or dismiss a review. A returns
        platform's return is closed there, or cancelled (`deny_as`) so the customer may try
        again."""
        case = self._decidable(case_id, user_id, version)
        self.authorise(case, user_id, verb="deny")
        detail = {"reason": reason, "notify_customer": notify_customer}
        if self.platform_owned(case):
            how = detail["deny_as"] = deny_as or "close"
            known = DeclineReason.parse(reason)
            note = platform_note(case, f"Denied in Slack by {user_id} ({how}): {known.label if known else reason}"
                                 + (f" — {customer_message}" if customer_message else ""))
            ops = platform_deny_ops(case, note, deny_as=how)
        else:
            ops = decline_ops(case, reason=reason, note=customer_message, notify_customer=notify_customer)
        if customer_message and notify_customer and case.kind is CaseKind.RETURN_REQUEST:  # and on their open ticket
            known = DeclineReason.parse(reason)
            ops, detail = self._open_ticket_message(case, user_id, list(ops), detail, deny=True,
                                                    decided=f"declined ({known.label if known else reason})",
                                                    text=customer_message)
        return self._commit(
            case, user_id, to=CaseStatus.DENIED, event="case.denied",
            decision=Decision("deny", Action.DENY.value,
                              followed_recommendation=case.recommended_action == Action.DENY.value,
                              note=internal_note, detail=detail),
            ops=ops,
        )

    def escalate(self, case_id: int, user_id: str, note: str, *, extra: dict | None = None,
                 version: int | None = None) -> CaseRecord:
        case = self._decidable(case_id, user_id, version)
        if case.status is CaseStatus.ESCALATED:
            self._refuse(case, user_id, "already_escalated", "This case is already with the escalation tier.")
        # Anyone who can see the card may ask the next tier to look: no authorisation here.
        channel = self.policy.slack.escalation_channel
        # A returns platform's return is held there meanwhile (flagged, with the reason).
        ops = (platform_hold_ops(case, platform_note(case, f"Escalated in Slack by {user_id}: {note}"))
               if self.platform_owned(case) else ())
        return self._commit(
            case, user_id, to=CaseStatus.ESCALATED, event="case.escalated",
            decision=None, ops=ops, detail={"note": note, "channel": channel},
            extra={"escalated_by": user_id, "escalation_note": note, "escalation_channel": channel, **(extra or {})},
            expected=(CaseStatus.OPEN,),
        )

    def retry(self, case_id: int, user_id: str, *, version: int | None = None) -> CaseRecord:
        case = self.load(case_id)
        self._check_version(case, user_id, version)
        if case.status is not CaseStatus.FAILED:
            self._refuse(case, user_id, "not_failed", f"Nothing to retry: the case is {case.status.value}.")
        self.authorise(case, user_id, verb="retry")
        if not any(r.status == "failed" for r in self.outbox.for_case(case.id)):
            self._refuse(case, user_id, "not_failed", "Nothing to retry.")
        # The decision stands: a failed decline is retried as a decline. Its dead actions
        # are due again, with a fresh retry budget, in the same transaction as the status.
        to = CaseStatus.DENIED if case.decided_action == Action.DENY.value else CaseStatus.APPROVED
        now = self.clock()
        res = self.cases.transition(case.id, expected=CaseStatus.FAILED, expected_version=case.version, to=to,
                                    actor=user_id, at=now, event="case.retried",
                                    within=lambda conn: self.outbox.retry_failed(case.id, now=now, conn=conn))
        if not res.ok:
            self._refuse(res.case, user_id, "lost_race", stale_text(res.case, now))
        self.on_outbox()
        if res.ok:
            self.on_case_changed(res.case)
        return res.case

    # --- internals ---------------------------------------------------------------------

    def _decidable(self, case_id: int, user_id: str, version: int | None) -> CaseRecord:
        case = self.load(case_id)
        self._check_version(case, user_id, version)
        self._check_decidable(case, user_id)
        return case

    def _check_version(self, case: CaseRecord, user_id: str, version: int | None, *, record: bool = True) -> None:
        if version is None or version == case.version:
            return
        if record:
            self.on_case_changed(case)  # the card shows an old state: re-render it
        self._refuse(case, user_id, "stale", stale_text(case, self.clock()), record=record, refresh=not record)

    def _check_decidable(self, case: CaseRecord, user_id: str, *, record: bool = True) -> None:
        if case.status not in DECIDABLE:
            self._refuse(case, user_id, "already_decided", already_decided_text(case, self.clock()), record=record)

    def _commit(self, case, user_id, *, to, event, decision, ops, detail=None, extra=None, expected=DECIDABLE,
                within=None):
        if decision is not None and not ops:
            to = CaseStatus.DONE  # nothing to carry out (an acknowledgement): decided is done
        # On the version that was authorised: a change committed since (an escalation to a
        # tier this person is not in, someone else's decision) makes this a no-op.
        res = self.cases.transition(case.id, expected=expected, expected_version=case.version, to=to, actor=user_id,
                                    at=self.clock(), event=event, detail=detail, decision=decision, ops=ops,
                                    extra=extra, within=within)
        if not res.ok:  # someone else changed it between our read and our write
            self._refuse(res.case, user_id, "lost_race", stale_text(res.case, self.clock()))
        log.info("case.decided case_id=%s user=%s event=%s", case.id, user_id, event,
                 extra={"case_id": case.id, "user": user_id, "event": event})
        if ops:
            self.on_outbox()
        self.on_case_changed(res.case)
        return res.case

    def _refuse(self, case: CaseRecord, user_id: str, code: str, message: str, *, record: bool = True,
                refresh: bool = False, detail: dict | None = None) -> None:
        if record:
            self.cases.record_refusal(case.id, actor=user_id, at=self.clock(), reason=code, detail=detail)
            log.info("case.refused case_id=%s user=%s reason=%s", case.id, user_id, code,
                     extra={"case_id": case.id, "user": user_id, "reason": code})
        raise DecisionRefused(message, case=case, code=code, recorded=record, refresh=refresh, detail=detail)


def platform_note(case: CaseRecord, text: str) -> str:
    """A decision as a note on the platform's return, with why (the case's signals)."""
    why = ", ".join(code.replace("_", " ") for code in case.signal_codes)
    return f"{text}" + (f" — {why}" if why else "") + f" (returnsbot case {case.id})"


def _mention(approver: str) -> str:
    return f"<!subteam^{approver}>" if approver.startswith("S") else f"<@{approver}>"


def _decided_verb(case: CaseRecord) -> str:
    return {"deny": "denied", "accept": "acknowledged", "contest": "answered with evidence",
            "concede": "accepted as lost"}.get(case.decided_action or "", "approved")


def what_changed(case: CaseRecord, now: datetime) -> str:
    """The case's state as one clause: "escalated by <@U1> 5 minutes ago"."""
    if case.status is CaseStatus.ESCALATED:
        return f"escalated by {actors.display(case.escalated_by)} {ago(case.updated_at, now)}"
    if case.status is CaseStatus.CLOSED:
        return f"decided in the store admin {ago(case.updated_at, now)}"
    if case.status is CaseStatus.OPEN:
        return f"updated {ago(case.updated_at, now)}"
    by = actors.display(case.decided_by or actors.AUTO_APPROVER)
    when = ago(case.decided_at, now) if case.decided_at else ago(case.updated_at, now)
    clause = f"{_decided_verb(case)} by {by} {when}"
    if case.status is CaseStatus.FAILED:
        clause += ", and carrying it out failed (the card offers Retry)"
    return clause


def stale_text(case: CaseRecord, now: datetime) -> str:
    return (f"This case changed since your card showed it: {what_changed(case, now)}. "
            "The card is being refreshed; nothing was changed.")


def already_decided_text(case: CaseRecord, now: datetime) -> str:
    if case.status is CaseStatus.ESCALATED:
        return f"Escalated by {actors.display(case.escalated_by)} {ago(case.updated_at, now)}; the escalation tier decides it now."
    if case.status is CaseStatus.CLOSED:
        return "This return was already decided in the store admin."
    by = actors.display(case.decided_by or actors.AUTO_APPROVER)
    when = ago(case.decided_at, now) if case.decided_at else ""
    return f"Already {_decided_verb(case)} by {by} {when}.".replace("  ", " ").replace(" .", ".")
