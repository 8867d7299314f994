"""The double-entry ledger's data, after TigerBeetle, by sub-domain: assets and accounts,
transfers and entries, adjustments, the hold-event outbox, check runs. Import from here."""

from ledger.models.accounts import Account, Asset
from ledger.models.adjustments import Adjustment
from ledger.models.checks import LedgerCheckRun
from ledger.models.hold_events import HoldEvent
from ledger.models.transfers import Entry, Transfer

__all__ = ["Account", "Adjustment", "Asset", "Entry", "HoldEvent", "LedgerCheckRun", "Transfer"]
