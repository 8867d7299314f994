"""Every write to the ledger. Keyword-only; one transaction each; accounts locked once, in
a fixed order (ledger.locking); the rules themselves live in ledger.posting.

By sub-domain: accounts (opening, house accounts, status), transfers (one, a batch, and
ledger_apply: transfers and hold operations together; ledger_apply_bulk: the same for large
sets, answering with ids), holds (post, void, shrink, expiry),
reversals. Other apps import from here, never from the modules' private names."""

from ledger.posting import TransferRequest
from ledger.services.accounts import (
    HouseAccountSpec,
    account_close,
    account_freeze,
    account_open,
    account_unfreeze,
    house_account,
    house_account_declare,
    house_account_id,
    house_accounts_declared,
    house_accounts_ensure,
)
from ledger.services.assets import asset_ensure
from ledger.services.holds import (
    RELEASES_ANY_HOLD,
    HoldChange,
    HoldOperation,
    pending_transfer_post,
    pending_transfer_shrink,
    pending_transfer_void,
    pending_transfers_expire,
)
from ledger.services.reversals import transfer_reverse, transfer_reversible_check
from ledger.services.transfers import (
    BatchItemResult,
    HoldChangeIds,
    LedgerApplied,
    LedgerAppliedIds,
    LinkedTransferFailed,
    ledger_apply,
    ledger_apply_bulk,
    transfer_apply,
    transfer_batch_create,
    transfer_create,
)

__all__ = [
    "RELEASES_ANY_HOLD",
    "BatchItemResult",
    "HoldChange",
    "HoldChangeIds",
    "HoldOperation",
    "HouseAccountSpec",
    "LedgerApplied",
    "LedgerAppliedIds",
    "LinkedTransferFailed",
    "TransferRequest",
    "account_close",
    "account_freeze",
    "account_open",
    "account_unfreeze",
    "asset_ensure",
    "house_account",
    "house_account_declare",
    "house_account_id",
    "house_accounts_declared",
    "house_accounts_ensure",
    "ledger_apply",
    "ledger_apply_bulk",
    "pending_transfer_post",
    "pending_transfer_shrink",
    "pending_transfer_void",
    "pending_transfers_expire",
    "transfer_apply",
    "transfer_batch_create",
    "transfer_create",
    "transfer_reverse",
    "transfer_reversible_check",
]
