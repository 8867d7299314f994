"""Serializers shared by several ledger operations. Amounts travel as decimal strings in the
asset's scale; inside they are integers of minor units (core.money)."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api.exceptions import plain_errors
from core.api.fields import MetadataField, UUIDStringField
from core.errors import ValidationFailed
from core.money import DecimalStringField, from_minor_units, to_minor_units
from ledger.errors import error_result
from ledger.models import Asset, Entry
from ledger.posting import TRANSFER_CODE_PATTERN, TransferRequest
from ledger.selectors import Balance, account_balance, assets_by_code

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
        asset = assets.get(obj.asset_id) or obj.asset
        return from_minor_units(getattr(obj, self.minor), scale=asset.scale)


# --- Accounts ------------------------------------------------------------------------------


class BalanceSerializer(serializers.Serializer):
    posted = serializers.CharField(help_text="Credits minus debits posted (decimal string).")
    pending = serializers.CharField(
        help_text="What pending transfers would add; negative for reserved outflows."
    )
    available = serializers.CharField(help_text="Posted, less what pending debits reserve.")


class AccountSerializer(serializers.Serializer):
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


DECIMAL = {"type": "string", "format": "decimal", "example": "-250.50"}
NULLABLE_DECIMAL = {**DECIMAL, "nullable": True, "example": "60.00"}


class MinorUnitsField(serializers.Field):
    """Minor units of the statement's account (context["account"]) as a decimal string."""

    def __init__(self, **kwargs):
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, minor):
        return from_minor_units(minor, scale=self.context["account"].asset.scale)


@extend_schema_field(DECIMAL)
class SignedAmountField(MinorUnitsField):
    pass


@extend_schema_field(NULLABLE_DECIMAL)
class OptionalAmountField(MinorUnitsField):
    pass


class EntrySerializer(serializers.Serializer):
    """One statement line (a ledger.statements.StatementLine): the account's side of a
    transfer, what it did to the posted and to the held money, and both balances after.
    Signed from the account's side: money in is positive, money out negative."""

    # The account is context["account"].

    transfer = serializers.UUIDField(source="entry.transfer_id")
    side = serializers.SerializerMethodField()
    amount = SignedAmountField(source="transfer.amount", help_text="The transfer's amount.")
    kind = serializers.CharField(
        source="transfer.kind",
        help_text="single_phase, pending (a hold), post_pending, void_pending or "
        "expire_pending (what resolved a hold).",
    )
    status = serializers.CharField(
        source="transfer.status",
        help_text="posted, pending, voided or expired; a hold's says what became of it, and "
        "its resolution's what the resolution did.",
    )
    code = serializers.CharField(source="transfer.code")
    reference = serializers.CharField(source="transfer.reference")
    created_at = serializers.DateTimeField(source="entry.created_at")
    posted_delta = SignedAmountField(help_text="What this line did to the posted balance.")
    held_delta = SignedAmountField(
        help_text="What this line did to the held money (balance.pending): a hold reserving "
        "money out is negative, its release positive."
    )
    posted_balance = SignedAmountField(help_text="The running posted balance after this line.")
    held_balance = SignedAmountField(
        help_text="What open holds move after this line (as balance.pending)."
    )
    posted_amount = OptionalAmountField(
        source="hold_posted",
        allow_null=True,
        help_text="A hold or its resolution: how much of the hold was posted; null otherwise "
        "(and while the hold is open).",
    )
    released_amount = OptionalAmountField(
        source="hold_released",
        allow_null=True,
        help_text="A hold or its resolution: how much of the hold was released unposted.",
    )

    @extend_schema_field({"type": "string", "enum": ["debit", "credit"]})
    def get_side(self, line) -> str:
        return "debit" if line.entry.side == Entry.Side.DEBIT else "credit"

    def to_representation(self, line):
        # The fields above describe the line (schema); this writes it directly: a page of
        # 500 lines through DRF's per-field machinery took most of the request's time.
        scale = self.context["account"].asset.scale
        entry, transfer = line.entry, line.transfer

        def amount(minor):
            return None if minor is None else from_minor_units(minor, scale=scale)

        return {
            "transfer": str(entry.transfer_id),
            "side": "debit" if entry.side == Entry.Side.DEBIT else "credit",
            "amount": amount(transfer.amount),
            "kind": transfer.kind,
            "status": transfer.status,
            "code": transfer.code,
            "reference": transfer.reference,
            "created_at": self.fields["created_at"].to_representation(entry.created_at),
            "posted_delta": amount(line.posted_delta),
            "held_delta": amount(line.held_delta),
            "posted_balance": amount(line.posted_balance),
            "held_balance": amount(line.held_balance),
            "posted_amount": amount(line.hold_posted),
            "released_amount": amount(line.hold_released),
        }


class StatementBalanceSerializer(serializers.Serializer):
    posted = SignedAmountField()
    held = SignedAmountField(source="pending", help_text="As balance.pending.")


class StatementPeriodSerializer(serializers.Serializer):
    """The window the lines cover and the balances at its two ends: the lines' posted_delta
    sum to closing.posted - opening.posted, their held_delta to closing.held - opening.held."""

    # "from" is a Python keyword: declared through the class namespace.
    locals()["from"] = serializers.DateTimeField(
        source="period.start", allow_null=True, help_text="Its first instant (null: the start)."
    )
    to = serializers.DateTimeField(
        source="period.end",
        allow_null=True,
        help_text="The first instant after it (null: up to now).",
    )
    opening = StatementBalanceSerializer(
        source="balances.opening", help_text="Before the first line."
    )
    closing = StatementBalanceSerializer(source="balances.closing", help_text="After the last.")


# --- Transfers -----------------------------------------------------------------------------


class TransferSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    debit_account = serializers.UUIDField(source="debit_account_id")
    credit_account = serializers.UUIDField(source="credit_account_id")
    amount = AmountField()
    asset = serializers.CharField(source="asset_id")
    status = serializers.CharField(
        source="status_now",
        help_text="posted, pending, voided, expired, held or rejected; a pending transfer past "
        "its timeout reads expired at once.",
    )
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
    origin = serializers.CharField(
        help_text="Who placed it: partner_api, order, risk, settlement, staff or system."
    )
    origin_ref = serializers.CharField(help_text="The origin's own id, e.g. the order's.")
    replaces_id = serializers.UUIDField(
        allow_null=True, help_text="The hold this one keeps part of (a shrunk hold)."
    )


class TransferResolutionSerializer(TransferSerializer):
    """The transfer that posted or voided a pending one, and the pending one's new status."""

    pending_status = serializers.CharField(
        source="pending.status", help_text="The pending transfer's status now."
    )


class TransferInputSerializer(serializers.Serializer):
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


class BatchItemResultSerializer(serializers.Serializer):
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
