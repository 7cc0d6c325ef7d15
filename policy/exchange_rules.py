"""Exchanges through the return lifecycle, as pure rules (no I/O).

- `in_stock`: whether a store's stock figure can fill an exchange item (the connector reads
  the figure; the rule is the same for every store).
- `out_of_stock_followup`: the follow-up an exchange item out of stock opens on the case: the
  exchange cannot happen, so the money the return is worth goes back, as a refund or as
  store credit — and only those two (`allowed_choices`).
- `is_exchange_outcome`: whether a case's approval was an exchange.
- `exchange_receipt`: the returned items of an exchange arrive: every one accepted closes the
  return (`CLOSE`); otherwise the usual exception at receipt opens, recommending no refund
  (the customer has the exchange already).
"""

from __future__ import annotations

from collections.abc import Iterable

from policy.lifecycle import DisposedLine, Disposition
from policy.lifecycle_rules import ApprovedLine, AutoRefund, FollowUp, evaluate_receipt, format_money
from policy.models import Money

EXCHANGE_OUT_OF_STOCK = "exchange_out_of_stock"
EXCHANGE = "exchange"  # the decision outcome (Action.EXCHANGE's value)

# Every follow-up choice, in the order the card shows them; some reasons allow fewer.
ALL_CHOICES = ("refund", "partial_refund", "store_credit", "no_refund")
_ALLOWED = {
    # The customer sent the item back for another one that isn't there: they keep nothing,
    # so "no refund" would take their money, and a partial refund has nothing to be short of.
    EXCHANGE_OUT_OF_STOCK: ("refund", "store_credit"),
}
# Store credit keeps the customer's money in the shop they meant to buy from again.
_RECOMMENDED = {EXCHANGE_OUT_OF_STOCK: "store_credit"}


def allowed_choices(reason: str | None) -> tuple[str, ...]:
    """The choices a follow-up with `reason` offers (and the decision accepts)."""
    return _ALLOWED.get(reason or "", ALL_CHOICES)


def choice_allowed(followup: dict | None, choice: str) -> bool:
    """`choice` on the case's `followup` column: allowed for its reason (no follow-up: none is)."""
    if not followup:
        return False
    return choice in allowed_choices(str(followup.get("reason") or ""))


def in_stock(*, wanted: int, available: int | None, tracked: bool, oversell: bool) -> bool:
    """Stock that is not tracked, or may be oversold (sold while out of stock), never runs
    out; tracked stock must hold every unit wanted."""
    if not tracked or oversell or available is None:
        return True
    return available >= wanted


def is_exchange_outcome(outcome: str | None) -> bool:
    return outcome == EXCHANGE


def out_of_stock_followup(titles: Iterable[str], *, amount: Money) -> FollowUp:
    """The follow-up for exchange items out of stock: `amount` (what the return is worth)
    back as store credit (recommended) or a refund. The summary names the items; the card
    adds the recommendation."""
    names = [t for t in titles if t] or ["an exchange item"]
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    verb = "is" if len(names) == 1 else "are"
    summary = f"{shown} {verb} out of stock: the exchange can't ship ({format_money(amount)} to give back)"
    return FollowUp(EXCHANGE_OUT_OF_STOCK, summary, _RECOMMENDED[EXCHANGE_OUT_OF_STOCK], amount, amount)


CLOSE = "close"  # exchange_receipt: every item back as accepted → close the return


def exchange_receipt(lines: Iterable[ApprovedLine], dispositions: Iterable[DisposedLine], *, amount: Money,
                     accepted: Iterable[Disposition | str] = (Disposition.RESTOCKED,)) -> str | FollowUp:
    """`CLOSE` when every returned item came back with an accepted disposition, else the
    follow-up `evaluate_receipt` names (missing, not restocked, fewer received) — with no
    refund recommended: the exchange is the customer's settlement, and nothing is owed
    for an item that did not come back as it should."""
    verdict = evaluate_receipt(lines, dispositions, decided=amount, refundable=amount, accepted=accepted)
    if isinstance(verdict, AutoRefund):
        return CLOSE
    what, _, _ = verdict.summary.partition(" → ")  # "1 of 2 items missing"
    return FollowUp(verdict.reason, f"{what}, the exchange already released", "no_refund",
                    Money.zero(amount.currency), amount)
