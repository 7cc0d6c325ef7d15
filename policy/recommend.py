"""The recommendation: what to do with a case, how risky it is, who decides, and whether
the policy may decide alone.

Return requests: the first row that matches wins.

| # | when                                                   | action       |
|---|--------------------------------------------------------|--------------|
| 1 | open dispute, refund exceeds paid, or repeat claim     | escalate     |
| 2 | high payment risk and serial returner                  | escalate     |
| 3 | final sale and/or outside window                       | deny         |
|   | …unless VIP covers every one of them                   | store credit |
|   |   final sale: covered by VIP                           |              |
|   |   outside window: covered by VIP who is not serial     |              |
| 4 | not delivered                                          | escalate     |
| 5 | serial returner                                        | store credit |
| 6 | every item's reason is in `exchange_reasons`           | exchange     |
| 7 | otherwise                                              | refund       |

Row 1 comes first because refunding would risk paying twice; row 3 names the VIP exception
(or its refusal) in `conflicts`, e.g. "outside window, but VIP with 1 return in 2 years →
store credit".

Other kinds:

| kind              | when                                           | action      |
|-------------------|------------------------------------------------|-------------|
| dispute           | the packet answers its reason (policy/disputes) | contest     |
|                   | otherwise, or evidence past due                | concede     |
| high-value refund | refund exceeds paid, or high payment risk      | escalate    |
|                   | otherwise                                      | accept      |
| order review      | high payment risk                              | escalate    |
|                   | otherwise                                      | accept      |
| ticket            | intent `return`: the return request rows above  | (as they say) |
|                   | on what it asks to return (policy/ticket_case)  |             |
|                   | other intents                                  | accept (reply) |
| early fraud warning | left to refund < `[fraud] proactive_refund_below` | refund (in full) |
|                   | otherwise, or not comparable (currency)        | escalate    |

Risk score: the sum of signal weights, clamped to 0..100.

Auto-approve: only with `[auto_approve] enabled`, for a return request recommended as a
refund or exchange, amount (in the shop currency) ≤ `max_amount`, score ≤
`max_risk_score`, and no signal with a positive weight. The last reason says why or why not.

Tier: `required_tier(amount)`; the card goes to `channel_for(kind)`.

Currency: limits are in the shop's currency and amounts are shop money. Whatever cannot be
compared because it is in another currency is said in the reasons (`currency_notes`), so a
person sees why the case needs the last tier or why a big spender is not a VIP.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from policy.approval import channel_for, required_tier
from policy.config import Policy
from policy.detect import SIGNAL_LABELS, counted_returns, history_days, paths_differ, plural
from policy.models import Action, CaseContext, CaseKind, Money, Recommendation, ReturnOutcome, Signal, SignalCode

S = SignalCode


@dataclass(frozen=True, slots=True)
class _Decision:
    action: Action
    reasons: tuple[str, ...]
    conflicts: tuple[str, ...] = ()


_Found = dict[SignalCode, Signal]


def recommend(ctx: CaseContext, signals: Iterable[Signal], policy: Policy, *,
              amount: Money | None = None) -> Recommendation:
    """`amount`: `ctx.at_stake(shop currency)` when the caller has it."""
    signals = tuple(signals)
    found = {s.code: s for s in signals}
    decision = _DECIDE[ctx.kind](ctx, found, policy)
    score = risk_score(signals)
    if amount is None:
        amount = ctx.at_stake(policy.shop_currency)
    auto, why = _auto_approve(ctx.kind, decision.action, amount, score, signals, policy)
    if ctx.platform is not None:
        # A returns platform approves what it can by itself; what reaches a card is for a person.
        auto, why = False, None
    return Recommendation(
        action=decision.action,
        risk_score=score,
        amount=amount,
        reasons=decision.reasons + currency_notes(ctx, policy, amount) + ((why,) if why else ()),
        conflicts=decision.conflicts,
        tier=required_tier(amount, policy),
        auto_approve=auto,
        channel=channel_for(ctx.kind, policy),
    )


def currency_notes(ctx: CaseContext, policy: Policy, amount: Money | None = None) -> tuple[str, ...]:
    """What could not be compared because it is not in the shop's currency. `amount`:
    `ctx.amount` when the caller has it (it is summed over the return's lines each time)."""
    shop = policy.shop_currency
    notes = []
    currency = (amount if amount is not None else ctx.at_stake(shop)).currency
    if currency != shop:
        notes.append(f"Needs the last approval tier: the amount is in {currency} and the "
                     f"approval limits are in {shop}, which returnsbot does not convert.")
    spend = ctx.customer.lifetime_spend if ctx.customer is not None else None
    if spend is not None and spend.currency != shop and spend.amount > 0:
        notes.append(f"Lifetime spend {spend} is not in {shop}, so it is not compared with the VIP threshold.")
    return tuple(notes)


def risk_score(signals: Iterable[Signal]) -> int:
    return max(0, min(100, sum(s.weight for s in signals)))


def _explained(found: _Found, *codes: SignalCode) -> tuple[str, ...]:
    return tuple(f"{found[c].explanation}." for c in codes if c in found)


# --- return requests --------------------------------------------------------------------


def _return_request(ctx: CaseContext, found: _Found, policy: Policy) -> _Decision:
    paying_twice = (S.OPEN_DISPUTE, S.REFUND_EXCEEDS_PAID, S.REPEAT_CLAIM)
    if any(c in found for c in paying_twice):
        return _Decision(
            Action.ESCALATE,
            ("Escalate: refunding now could pay out twice.", *_explained(found, *paying_twice)),
        )
    if S.HIGH_PAYMENT_RISK in found and S.SERIAL_RETURNER in found:
        return _Decision(
            Action.ESCALATE,
            (
                "Escalate: high payment risk from a serial returner.",
                *_explained(found, S.HIGH_PAYMENT_RISK, S.SERIAL_RETURNER),
            ),
        )
    if S.FINAL_SALE in found or S.OUTSIDE_WINDOW in found:
        return _outside_policy(ctx, found)
    if S.NOT_DELIVERED in found:
        why = "Escalate: nothing is delivered yet, check with the carrier first."
        return _Decision(Action.ESCALATE, (why, *_explained(found, S.NOT_DELIVERED)))
    if S.SERIAL_RETURNER in found:
        why = "Store credit rather than a refund: serial returner."
        return _Decision(Action.STORE_CREDIT, (why, *_explained(found, S.SERIAL_RETURNER)))
    asked = _requested(ctx)
    if asked is not None:
        # A returns platform proposes the outcome the customer chose: within policy, that
        # is what is judged (an exchange request as an exchange).
        what = {Action.EXCHANGE: "Exchange", Action.STORE_CREDIT: "Store credit", Action.REFUND: "Refund"}[asked]
        return _Decision(asked, (f"{what}: as the customer asked, within the return policy.",))
    reasons = _exchange_reasons(ctx, policy)
    if reasons:
        return _Decision(Action.EXCHANGE, (f"Exchange: returned for {', '.join(reasons)}.",))
    return _Decision(Action.REFUND, ("Refund: within the return policy.",))


_ASKED = {ReturnOutcome.EXCHANGE: Action.EXCHANGE, ReturnOutcome.STORE_CREDIT: Action.STORE_CREDIT,
          ReturnOutcome.REFUND: Action.REFUND, ReturnOutcome.KEEP: Action.REFUND}


def _requested(ctx: CaseContext) -> Action | None:
    """The one outcome every line asks for, where the source says (a returns platform);
    None when it doesn't, or the lines ask for different things (judged as a refund)."""
    request = ctx.return_request
    asked = {li.requested_outcome for li in request.line_items} if request is not None else set()
    if len(asked) != 1 or None in asked:
        return None
    return _ASKED[asked.pop()]


def _outside_policy(ctx: CaseContext, found: _Found) -> _Decision:
    """Row 3: deny, unless the VIP exception covers every reason to deny."""
    breaches = tuple(c for c in (S.FINAL_SALE, S.OUTSIDE_WINDOW) if c in found)
    details = _explained(found, *breaches)
    if S.VIP_CUSTOMER not in found:
        return _Decision(Action.DENY, ("Deny: outside the return policy.", *details))
    vip = _vip_summary(ctx)
    if S.OUTSIDE_WINDOW in found and S.SERIAL_RETURNER in found:
        conflict = f"outside window and {vip}, but a serial returner → deny"
        return _Decision(
            Action.DENY,
            ("Deny: outside the return policy; no VIP exception for a serial returner.", *details),
            (conflict,),
        )
    conflicts = tuple(f"{SIGNAL_LABELS[c]}, but {vip} → store credit" for c in breaches)
    return _Decision(
        Action.STORE_CREDIT,
        (
            "Store credit: a VIP exception to the return policy.",
            *details,
            *_explained(found, S.VIP_CUSTOMER),
        ),
        conflicts,
    )


def _vip_summary(ctx: CaseContext) -> str:
    """'VIP with 1 return in 2 years' (or just 'VIP' without history)."""
    days = history_days(ctx)
    if days is None:
        return "VIP"
    return f"VIP with {plural(len(counted_returns(ctx)), 'return')} in {_period(days)}"


def _period(days: int) -> str:
    if days >= 365 and days % 365 == 0:
        return plural(days // 365, "year")
    return plural(days, "day")


def _exchange_reasons(ctx: CaseContext, policy: Policy) -> list[str]:
    """Readable reasons when every returned item's reason favours an exchange, else []."""
    request = ctx.return_request
    if request is None or not request.line_items:
        return []
    wanted = policy.returns.exchange_reasons
    if not all(item.reason in wanted for item in request.line_items):
        return []
    reasons = dict.fromkeys(item.reason for item in request.line_items)
    return [r.lower().replace("_", " ") for r in reasons]


# --- other kinds ------------------------------------------------------------------------


def _dispute(ctx: CaseContext, found: _Found, policy: Policy) -> _Decision:
    from policy.disputes import build_packet, recommend as dispute_recommendation

    action, reasons = dispute_recommendation(ctx, build_packet(ctx, policy), policy)
    return _Decision(action, reasons + _explained(found, S.HIGH_PAYMENT_RISK, S.OPEN_DISPUTE))


def _high_value_refund(ctx: CaseContext, found: _Found, policy: Policy) -> _Decision:
    worrying = (S.REFUND_EXCEEDS_PAID, S.HIGH_PAYMENT_RISK)
    if any(c in found for c in worrying):
        why = "Escalate: check this refund before more money goes out."
        return _Decision(Action.ESCALATE, (why, *_explained(found, *worrying)))
    return _Decision(Action.ACCEPT, ("Acknowledge: the refund is within what was paid.",))


def _order_review(ctx: CaseContext, found: _Found, policy: Policy) -> _Decision:
    if S.HIGH_PAYMENT_RISK in found:
        return _Decision(
            Action.ESCALATE,
            ("Escalate: check the payment before fulfilling.", *_explained(found, S.HIGH_PAYMENT_RISK)),
        )
    return _Decision(Action.ACCEPT, ("Acknowledge: no high payment risk.",))


def _early_fraud_warning(ctx: CaseContext, found: _Found, policy: Policy) -> _Decision:
    from policy.fraud import proactive_refund

    action, reasons = proactive_refund(ctx, policy)
    return _Decision(action, reasons + _explained(found, S.HIGH_PAYMENT_RISK, S.OPEN_DISPUTE))
def _ticket(ctx: CaseContext, found: _Found, policy: Policy) -> _Decision:
    from policy.ticket_case import review_of

    review = review_of(ctx)
    if ctx.return_request is not None:
        # Detection ran on what the ticket asks to return, so the return rows apply as they are.
        decided = _return_request(ctx, found, policy)
        return _Decision(decided.action, ("A return asked for in the ticket, judged by the return policy.",
                                          *decided.reasons), decided.conflicts)
    intent = review.classification.intent.value.replace("_", " ") if review is not None else "other"
    return _Decision(Action.ACCEPT, (f"Reply: a {intent} ticket, no store action.",
                                     *_explained(found, S.VIP_CUSTOMER, S.HIGH_PAYMENT_RISK, S.OPEN_DISPUTE)))


def _delayed_shipment(ctx: CaseContext, found: _Found, policy: Policy) -> _Decision:
    why = "Contact the customer about the delay, then mark it done (the case closes itself when the parcel moves)."
    return _Decision(Action.ACCEPT, (why, *_explained(found, S.SHIPMENT_DELAYED)))


_DECIDE: dict[CaseKind, Callable[[CaseContext, _Found, Policy], _Decision]] = {
    CaseKind.EARLY_FRAUD_WARNING: _early_fraud_warning,
    CaseKind.RETURN_REQUEST: _return_request,
    CaseKind.DISPUTE: _dispute,
    CaseKind.HIGH_VALUE_REFUND: _high_value_refund,
    CaseKind.ORDER_REVIEW: _order_review,
    CaseKind.DELAYED_SHIPMENT: _delayed_shipment,
    CaseKind.TICKET: _ticket,
}


# What the recommendation reads of the policy for each kind, besides the signals: attribute
# paths from the Policy (as `policy.detect._READS`). A proposed policy that changes none of
# a kind's, finding the same signals, recommends what the current one did (the simulator
# reuses it). tests/policy/test_detect_reads.py records every read and fails on one not
# covered here.
_EVERY = ("store.currency", "approval_tiers", "slack")
_RECOMMEND_READS: dict[CaseKind, tuple[str, ...]] = {
    # and AUTO_APPROVE_READS where `may_auto_approve` (a refund or an exchange)
    CaseKind.RETURN_REQUEST: (*_EVERY, "returns.exchange_reasons"),
    CaseKind.TICKET: (*_EVERY, "returns.exchange_reasons"),  # a ticket's return: the return rows
    CaseKind.DISPUTE: (*_EVERY, "disputes", "fraud"),
    CaseKind.EARLY_FRAUD_WARNING: (*_EVERY, "fraud"),
    CaseKind.HIGH_VALUE_REFUND: _EVERY,
    CaseKind.ORDER_REVIEW: _EVERY,
    CaseKind.DELAYED_SHIPMENT: _EVERY,
}


AUTO_APPROVE_READS = ("auto_approve",)


def recommendation_inputs_changed(current: Policy, proposed: Policy) -> frozenset[CaseKind]:
    """The kinds whose recommendation reads something that differs between the two policies."""
    return frozenset(kind for kind, paths in _RECOMMEND_READS.items() if paths_differ(current, proposed, paths))


# --- auto-approve -----------------------------------------------------------------------


def may_auto_approve(kind: CaseKind, action: Action) -> bool:
    """Whether `[auto_approve]` is read at all for this recommendation: a return request
    recommended as a refund or an exchange."""
    return kind is CaseKind.RETURN_REQUEST and action in (Action.REFUND, Action.EXCHANGE)


def _auto_approve(
    kind: CaseKind,
    action: Action,
    amount: Money,
    score: int,
    signals: tuple[Signal, ...],
    policy: Policy,
) -> tuple[bool, str | None]:
    """Whether the policy decides alone, and the sentence saying why (None: nothing to say)."""
    if not may_auto_approve(kind, action):
        return False, None
    rules = policy.auto_approve
    if not rules.enabled:
        return False, "A person decides: auto-approve is off."
    currency = policy.shop_currency
    if amount.currency != currency:
        return False, (
            f"A person decides: the amount is in {amount.currency}, the policy's limits in {currency}."
        )
    limit = Money.limit(rules.max_amount, currency)
    if amount > limit:
        return False, f"A person decides: {amount} is above the {limit} auto-approve limit."
    if score > rules.max_risk_score:
        return False, f"A person decides: risk score {score} is above {rules.max_risk_score}."
    # Even a low score does not auto-approve a case with something against it.
    risky = [SIGNAL_LABELS[s.code] for s in signals if s.weight > 0]
    if risky:
        return False, f"A person decides: {', '.join(risky)}."
    return True, f"Auto-approved: within policy and at most {limit}."
