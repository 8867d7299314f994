"""Serializers shared by several ledger operations. Amounts travel as decimal strings in the
asset's scale; inside they are integers of minor units (core.money)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api.exceptions import plain_errors
from core.api.fields import MetadataField, UUIDStringField
from core.api.prebuilt_fields import PrebuiltFieldsMixin
from core.errors import ValidationFailed
from core.money import DecimalStringField, from_minor_units, to_minor_units
from ledger.errors import error_result
from ledger.models import Asset, Entry
from ledger.posting import TRANSFER_CODE_PATTERN, TransferRequest
from ledger.selectors import Balance, account_balance, assets_by_code, entry_posted_balance

MAX_TIMEOUT_SECONDS = 365 * 24 * 3600
MAX_METADATA_BYTES = 8192


def minor_units(value, *, asset: Asset, field: str = "amount") -> int:
    """A validated decimal in `asset`'s minor units; too many decimals is a 400 on `field`."""
    try:
        minor = to_minor_units(value, scale=asset.scale)
    except ValidationFailed as exc:
        raise serializers.ValidationError({field: [exc.message]}) from exc
    return minor


@extend_schema_field({"type": "string", "format": "decimal", "example": "1500.50"})
class AmountInputField(DecimalStringField):
    """A positive decimal string (core.money), described as such in the schema."""


@extend_schema_field(
    {"type": "string", "format": "decimal", "example": "1500.50", "readOnly": True}
)
class AmountField(serializers.Field):
    """Reads the minor units in attribute `minor` of the object and writes them in the scale
    of the object's asset (from context["assets"] when given: no query per row)."""

    def __init__(self, *, minor: str = "amount", **kwargs):
        self.minor = minor
        kwargs.update(source="*", read_only=True)
        super().__init__(**kwargs)

    def to_representation(self, obj):
        assets = self.context.get("assets") or {}
        asset = assets.get(obj.asset_id) or assets_by_code(codes=[obj.asset_id])[obj.asset_id]
        return from_minor_units(getattr(obj, self.minor), scale=asset.scale)


# --- Accounts ------------------------------------------------------------------------------


class BalanceSerializer(PrebuiltFieldsMixin, serializers.Serializer):
    posted = serializers.CharField(help_text="Credits minus debits posted (decimal string).")
    pending = serializers.CharField(
        help_text="What pending transfers would add; negative for reserved outflows."
    )
    available = serializers.CharField(help_text="Posted, less what pending debits reserve.")


class AccountSerializer(PrebuiltFieldsMixin, serializers.Serializer):
    """An account and its balances (decimal strings in the asset's scale)."""

    # Balances are the account's current ones, or those of context["balance"] (as_of).

    id = serializers.UUIDField()
    code = serializers.CharField()
    asset = serializers.CharField(source="asset_id")
    kind = serializers.CharField(help_text="asset, liability, equity, income or expense.")
    status = serializers.CharField(help_text="open, frozen or closed.")
    balance = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    @extend_schema_field(BalanceSerializer)
    def get_balance(self, account) -> dict:
        balance: Balance = self.context.get("balance") or account_balance(account=account)
        scale = account.asset.scale
        return {
            "posted": from_minor_units(balance.posted, scale=scale),
            "pending": from_minor_units(balance.pending, scale=scale),
            "available": from_minor_units(balance.available, scale=scale),
        }


class EntrySerializer(PrebuiltFieldsMixin, serializers.Serializer):
    """One statement line: the account's side of a transfer, and its posted balance after."""

    # The account is context["account"].

    transfer = serializers.UUIDField(source="transfer_id")
    side = serializers.SerializerMethodField()
    amount = serializers.SerializerMethodField()
    kind = serializers.CharField(source="transfer.kind")
    status = serializers.CharField(source="transfer.status")
    code = serializers.CharField(source="transfer.code")
    reference = serializers.CharField(source="transfer.reference")
    created_at = serializers.DateTimeField()
    posted_balance = serializers.SerializerMethodField()

    @extend_schema_field({"type": "string", "enum": ["debit", "credit"]})
    def get_side(self, entry) -> str:
        return "debit" if entry.side == Entry.Side.DEBIT else "credit"

    @extend_schema_field(OpenApiTypes.DECIMAL)
    def get_amount(self, entry) -> str:
        return from_minor_units(entry.transfer.amount, scale=self.context["account"].asset.scale)

    @extend_schema_field(OpenApiTypes.DECIMAL)
    def get_posted_balance(self, entry) -> str:
        """The account's posted balance right after this line."""
        account = self.context["account"]
        balance = entry_posted_balance(entry=entry, account=account)
        return from_minor_units(balance, scale=account.asset.scale)


# --- Transfers -----------------------------------------------------------------------------


class TransferSerializer(PrebuiltFieldsMixin, serializers.Serializer):
    id = serializers.UUIDField()
    debit_account = serializers.UUIDField(source="debit_account_id")
    credit_account = serializers.UUIDField(source="credit_account_id")
    amount = AmountField()
    asset = serializers.CharField(source="asset_id")
    status = serializers.CharField(help_text="posted, pending, voided, expired, held or rejected.")
    kind = serializers.CharField(
        help_text="single_phase, pending, post_pending, void_pending or expire_pending."
    )
    code = serializers.CharField()
    reference = serializers.CharField()
    metadata = serializers.DictField()
    pending_id = serializers.UUIDField(
        allow_null=True, help_text="The pending transfer this one posts, voids or expires."
    )
    expires_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class TransferResolutionSerializer(TransferSerializer):
    """The transfer that posted or voided a pending one, and the pending one's new status."""

    pending_status = serializers.CharField(
        source="pending.status", help_text="The pending transfer's status now."
    )


class TransferInputSerializer(PrebuiltFieldsMixin, serializers.Serializer):
    """A transfer to create. Amounts are decimal strings with at most the asset's decimals."""

    # Validated into a ledger.posting.TransferRequest; context["assets"] ({code: Asset}), when
    # given, spares a query per item of a batch.

    id = UUIDStringField(
        required=False, help_text="Client-chosen; the same id and body are applied once."
    )
    debit_account = UUIDStringField(help_text="One of your accounts.")
    credit_account = UUIDStringField(help_text="Any open account of the same asset.")
    amount = AmountInputField(help_text='A decimal string, e.g. "1500.50".')
    asset = serializers.CharField(max_length=16)
    reference = serializers.CharField(max_length=255, required=False, allow_blank=True)
    code = serializers.RegexField(
        TRANSFER_CODE_PATTERN, max_length=64, required=False, help_text="Why; default transfer."
    )
    pending = serializers.BooleanField(
        required=False, default=False, help_text="Reserve now; post or void later."
    )
    timeout_seconds = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_TIMEOUT_SECONDS,
        help_text="A pending transfer expires this long after it is created.",
    )
    metadata = MetadataField(max_bytes=MAX_METADATA_BYTES, required=False)

    def validate(self, attrs):
        assets = self.context.get("assets")
        if assets is None:
            assets = assets_by_code(codes=[attrs["asset"]])
        asset = assets.get(attrs["asset"])
        if asset is None:
            raise serializers.ValidationError({"asset": [f"Unknown asset {attrs['asset']!r}."]})
        if "timeout_seconds" in attrs and not attrs["pending"]:
            raise serializers.ValidationError(
                {"timeout_seconds": ["Only a pending transfer has a timeout."]}
            )
        attrs["minor_amount"] = minor_units(attrs["amount"], asset=asset)
        return attrs

    @staticmethod
    def transfer_request(data: dict) -> TransferRequest:
        optional = {
            name: data[name]
            for name in ("id", "code", "reference", "metadata", "timeout_seconds")
            if name in data
        }
        return TransferRequest(
            debit_account_id=data["debit_account"],
            credit_account_id=data["credit_account"],
            amount=data["minor_amount"],
            asset=data["asset"],
            pending=data["pending"],
            **optional,
        )


def transfer_requests_parse(items: list) -> tuple[list[TransferRequest | dict], dict]:
    """Each item of a batch as a TransferRequest, or as its validation errors; and the
    assets named, by code."""
    codes = [item.get("asset") for item in items if isinstance(item, dict)]
    assets = assets_by_code(codes=[code for code in codes if isinstance(code, str)])
    parsed = []
    for item in items:
        serializer = TransferInputSerializer(data=item, context={"assets": assets})
        if serializer.is_valid():
            parsed.append(TransferInputSerializer.transfer_request(serializer.validated_data))
        else:
            parsed.append(plain_errors(serializer.errors))
    return parsed, assets


# --- Batches -------------------------------------------------------------------------------


class BatchItemResultSerializer(PrebuiltFieldsMixin, serializers.Serializer):
    """One item's outcome; `code`/`reason`/`message`/`details` only when it failed, and
    `transfer` only when it was created or replayed."""

    index = serializers.IntegerField(help_text="Position of the item in `transfers`.")
    id = serializers.UUIDField(allow_null=True, help_text="The transfer's id, if known.")
    status = serializers.CharField(help_text="created, replayed or failed.")
    code = serializers.CharField(required=False, help_text="The error code, as for a request.")
    reason = serializers.CharField(required=False, help_text="The precise cause.")
    message = serializers.CharField(required=False)
    details = serializers.DictField(required=False)
    transfer = TransferSerializer(required=False)


def batch_item_result(
    *, index: int, request, result=None, errors: dict | None = None, context=None
) -> dict:
    """JSON-ready outcome of one batch item: a BatchItemResult of the service, or the item's
    validation errors (when it never reached the service)."""
    transfer_id = str(request.id) if getattr(request, "id", None) else None
    if errors is not None:
        return {
            "index": index,
            "id": transfer_id,
            "status": "failed",
            "code": "validation_error",
            "reason": "validation_error",
            "message": "Invalid input.",
            "details": errors,
        }
    if result.error is not None:
        exc = result.error
        details = {key: value for key, value in exc.details.items() if key != "reason"}
        return {
            "index": index,
            "id": transfer_id,
            "status": "failed",
            **error_result(exc),
            "details": details,
        }
    return {
        "index": index,
        "id": str(result.transfer.pk),
        "status": "replayed" if result.replayed else "created",
        "transfer": TransferSerializer(result.transfer, context=context or {}).data,
    }


@extend_schema_field(TransferInputSerializer(many=True))
class TransferItemsField(serializers.ListField):
    """A batch's transfers, parsed one by one later (transfer_requests_parse), so that in an
    independent batch an invalid item fails alone."""

    def __init__(self, **kwargs):
        super().__init__(child=serializers.JSONField(allow_null=True), **kwargs)
