"""The ledger API's serializers, by sub-domain: shared fields, accounts, statements,
transfers and batches. Views import from here."""

from ledger.api.serializers.accounts import AccountSerializer, BalanceSerializer
from ledger.api.serializers.batches import (
    BatchItemResultSerializer,
    TransferItemsField,
    batch_item_result,
    transfer_requests_parse,
)
from ledger.api.serializers.fields import (
    MAX_METADATA_BYTES,
    MAX_TIMEOUT_SECONDS,
    AmountField,
    AmountInputField,
    AsOfField,
    AssetCodeField,
    DecimalOutputField,
    minor_units,
)
from ledger.api.serializers.statements import (
    EntrySerializer,
    StatementBalanceSerializer,
    StatementPeriodSerializer,
)
from ledger.api.serializers.transfers import (
    TransferInputSerializer,
    TransferResolutionSerializer,
    TransferSerializer,
)

__all__ = [
    "MAX_METADATA_BYTES",
    "MAX_TIMEOUT_SECONDS",
    "AccountSerializer",
    "AmountField",
    "AmountInputField",
    "AsOfField",
    "AssetCodeField",
    "BalanceSerializer",
    "BatchItemResultSerializer",
    "DecimalOutputField",
    "EntrySerializer",
    "StatementBalanceSerializer",
    "StatementPeriodSerializer",
    "TransferInputSerializer",
    "TransferItemsField",
    "TransferResolutionSerializer",
    "TransferSerializer",
    "batch_item_result",
    "minor_units",
    "transfer_requests_parse",
]
