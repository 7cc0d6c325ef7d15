"""Persistence: one repository per aggregate, all on one SQLAlchemy engine."""

from bot.store.cases import CaseRecord, CaseRepo, NewCase, OutboxOp, TransitionResult
from bot.store.inbox import Receipt, ReceiptRepo
from bot.store.ops import OpsRepo
from bot.store.outbox import OutboxRepo, OutboxRow

__all__ = [
    "CaseRecord",
    "CaseRepo",
    "NewCase",
    "OpsRepo",
    "OutboxOp",
    "OutboxRepo",
    "OutboxRow",
    "Receipt",
    "ReceiptRepo",
    "TransitionResult",
]
