"""Settlement's data: batches (windows) with their events and job runs, obligations and
what each batch's fills held; bank statements and their reconciliation."""

from settlement.models.batches import (
    BatchEvent,
    HoldRelease,
    Obligation,
    SettlementBatch,
    StepRun,
)
from settlement.models.reconciliation import (
    BankStatement,
    Break,
    MatchedTransfer,
    StatementLine,
    StatementMatch,
)

__all__ = [
    "BankStatement",
    "BatchEvent",
    "Break",
    "HoldRelease",
    "MatchedTransfer",
    "Obligation",
    "SettlementBatch",
    "StatementLine",
    "StatementMatch",
    "StepRun",
]
