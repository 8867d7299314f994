"""The ledger's partner API (API.md, "Ledger"): one class per operation; each validates,
calls one service or selector, and serializes. Errors are raised, never returned.

Response choices (documented in the schema too):
- POST transfers/: 201 when this request created the transfer; 200 with the same body when
  the client `id` existed with the same fields (a replay). An Idempotency-Key replay
  repeats the first answer's status and body.
- POST transfers/{id}/post/ and void/: 200 with the resolving transfer (kind post_pending
  or void_pending) and `pending_status`, the pending transfer's new status.
- POST transfers/batch/: 200 with per-item results; an atomic batch in which an item
  fails answers with that item's status and code (422 insufficient_funds, 409 conflict...)
  and details.results in the same per-item shape.
"""

from ledger.api.views.accounts import (
    AccountCollectionApi,
    AccountDetailApi,
    AccountEntriesApi,
    AccountListApi,
    AccountOpenApi,
)
from ledger.api.views.batch import TransferBatchApi
from ledger.api.views.transfers import (
    TransferCollectionApi,
    TransferCreateApi,
    TransferDetailApi,
    TransferListApi,
    TransferPostApi,
    TransferVoidApi,
)

__all__ = [
    "AccountCollectionApi",
    "AccountDetailApi",
    "AccountEntriesApi",
    "AccountListApi",
    "AccountOpenApi",
    "TransferBatchApi",
    "TransferCollectionApi",
    "TransferCreateApi",
    "TransferDetailApi",
    "TransferListApi",
    "TransferPostApi",
    "TransferVoidApi",
]
