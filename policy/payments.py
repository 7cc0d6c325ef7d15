"""Payment-system facts: early fraud warnings and how a payment was joined to an order.

Pure types. Connectors (integrations/<processor>/) map their objects into these; the
context carries them (CaseContext.fraud_warning / fraud_warnings / payment_links).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import field_validator

from policy.models import Frozen, Money, utc


class LinkMethod(StrEnum):
    """How a payment in the processor was joined to an order in the store, strongest first.
    The card says which one was used: a person can tell a certain link from a likely one."""

    TRANSACTION = "transaction"  # the order's own payment transaction names the charge / intent
    METADATA = "metadata"  # the payment's metadata names the order
    EMAIL_AMOUNT = "email_amount"  # fallback: same email, same amount, placed near the payment

    @property
    def label(self) -> str:
        return {
            LinkMethod.TRANSACTION: "the order's payment transaction names it",
            LinkMethod.METADATA: "the payment's metadata names the order",
            LinkMethod.EMAIL_AMOUNT: "matched on email, amount and time only (check it)",
        }[self]


class PaymentLink(Frozen):
    system: str  # "stripe"
    payment_id: str  # the charge (or payment intent) id
    order_id: str
    method: LinkMethod
    detail: str = ""  # what matched, for the card: "metadata order_name=#1001"


class PaymentReference(Frozen):
    """What a store's order says about how it was paid: the gateway of one of its payment
    transactions and an id that transaction carries (the processor's payment id, or a value
    from its receipt). A processor's connector recognises its own ids among them."""

    gateway: str
    reference: str
    # False when the store only records this payment (a manual / external gateway): the
    # money is held by the processor the reference names, and only it can give it back.
    store_processed: bool = True


class MoneyHolder(Frozen):
    """The system holding an order's money when it is not the store: a payment taken
    directly by a processor and only recorded in the store. A refund must go back through
    `system`, by `payment_id`; the store then records it without moving money again."""

    system: str  # "stripe": an action target, as a connector handles it
    payment_id: str  # the processor's payment (a Stripe charge id)
    detail: str = ""  # for the card: what showed it


class EarlyFraudWarning(Frozen):
    """A card issuer's report that a payment was fraudulent, before any dispute. While
    `actionable` a full refund heads the dispute off (the warning stops being actionable
    once the charge is fully refunded or disputed)."""

    id: str
    source: str  # "stripe"
    charge_id: str
    order_id: str | None
    fraud_type: str  # e.g. "made_with_stolen_card"
    actionable: bool
    amount: Money  # the payment's amount
    refunded: Money  # refunded on it so far
    created_at: datetime
    link: PaymentLink | None = None

    @field_validator("created_at")
    @classmethod
    def _utc(cls, v: datetime) -> datetime:
        return utc(v)

    @property
    def left_to_refund(self) -> Money:
        left = self.amount - self.refunded
        return left if left.amount > 0 else Money.zero(self.amount.currency)

    @property
    def fraud_label(self) -> str:
        return self.fraud_type.replace("_", " ")


def _resolve_case_context() -> None:
    from policy import models

    models.CaseContext.model_rebuild(_types_namespace={"EarlyFraudWarning": EarlyFraudWarning,
                                                       "PaymentLink": PaymentLink, "MoneyHolder": MoneyHolder})


_resolve_case_context()
