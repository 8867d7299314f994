"""Serializers shared by several ledger operations. Amounts travel as decimal strings in the
asset's scale; inside they are integers of minor units (core.money)."""

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api.exceptions import plain_errors
from core.api.fields import (
    ClientIdField,
    MetadataField,
    PatternField,
    UTCInstantField,
    UUIDStringField,
)
from core.api.prebuilt_fields import PrebuiltFieldsMixin
from core.api.schema import DECIMAL_STRING, POSITIVE_DECIMAL_STRING
from core.api.serializers import RequestSerializer
from core.errors import ValidationFailed
from core.money import DecimalStringField, from_minor_units, to_minor_units
from ledger.errors import error_result
from ledger.models import Asset, Entry, Transfer
from ledger.posting import TRANSFER_CODE_PATTERN, TransferRequest
from ledger.selectors import Balance, account_balance, account_ids, assets_by_code

MAX_TIMEOUT_SECONDS = 365 * 24 * 3600
MAX_METADATA_BYTES = 8192


def minor_units(value, *, asset: Asset, field: str = "amount") -> int:
    """A validated decimal in `asset`'s minor units; too many decimals is a 400 on `field`."""
    try:
        minor = to_minor_units(value, scale=asset.scale)
    except ValidationFailed as exc:
        raise serializers.ValidationError({field: [exc.message]}) from exc
    return minor


@extend_schema_field(POSITIVE_DECIMAL_STRING)
class AmountInputField(DecimalStringField):
    """A positive decimal string (core.money), described as such in the schema."""


@extend_schema_field(DECIMAL_STRING)
class DecimalOutputField(serializers.CharField):
    """A decimal string the API writes (a balance: may be negative)."""


class AssetCodeField(serializers.CharField):
    """An asset's code in any case: `usd` reads as USD. Its schema lists the assets that
    exist (ledger.api.schema)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 16)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        return super().to_internal_value(data).upper()


@extend_schema_field(
    {
        "type": "string",
        "anyOf": [{"format": "date-time"}, {"format": "date"}],
        "example": "2026-03-31T17:00:00Z",
    }
)
class AsOfField(serializers.DateTimeField):
    """An instant (ISO 8601), or a date alone: the end of that business day in
    BUSINESS_TIME_ZONE (its last microsecond), which is what a statement "as of" a day
    means. Read as midnight, a date would leave out the whole day."""

    def to_internal_value(self, value):
        if isinstance(value, str) and _DATE_ONLY.fullmatch(value):
            try:
                following = date.fromisoformat(value) + timedelta(days=1)
            except (ValueError, OverflowError):
                self.fail("invalid", format="YYYY-MM-DD or an ISO 8601 instant")
            zone = ZoneInfo(settings.BUSINESS_TIME_ZONE)
            return datetime.combine(following, time.min, tzinfo=zone) - timedelta(microseconds=1)
        return super().to_internal_value(value)


_DATE_ONLY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@extend_schema_field({**DECIMAL_STRING, "readOnly": True})
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
    posted = DecimalOutputField(help_text="Credits minus debits posted (decimal string).")
    pending = DecimalOutputField(
        help_text="What pending transfers would add; negative for reserved outflows."
    )
    available = DecimalOutputField(help_text="Posted, less what pending debits reserve.")


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


DECIMAL = {**DECIMAL_STRING, "example": "-250.50"}
NULLABLE_DECIMAL = {**DECIMAL_STRING, "nullable": True, "example": "60.00"}


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


class EntrySerializer(PrebuiltFieldsMixin, serializers.Serializer):
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
    locals()["from"] = UTCInstantField(
        source="period.start", allow_null=True, help_text="Its first instant (null: the start)."
    )
    to = UTCInstantField(
        source="period.end",
        allow_null=True,
        help_text="The first instant after it (null: up to now).",
    )
    opening = StatementBalanceSerializer(
        source="balances.opening", help_text="Before the first line."
    )
    closing = StatementBalanceSerializer(source="balances.closing", help_text="After the last.")


# --- Transfers -----------------------------------------------------------------------------


class TransferSerializer(PrebuiltFieldsMixin, serializers.Serializer):
    """A transfer as a partner sees it. Its metadata is the writer's own: only the partner
    whose account it debits reads it; the counterparty sees null."""

    # The API lets a partner debit only its own accounts, so the debited account's owner
    # wrote the metadata. The viewer is context["partner"]; without one, nobody sees it.

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
    metadata = serializers.SerializerMethodField()
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

    @extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "additionalProperties": True,
            "description": "Yours as you sent it; null on a transfer another party wrote.",
        }
    )
    def get_metadata(self, transfer) -> dict | None:
        # Only what the partner itself sent through the API: staff's, an order's or the
        # system's notes on a transfer touching its account are not its to read.
        if (
            transfer.origin == Transfer.Origin.PARTNER_API
            and transfer.debit_account_id in self._own_account_ids()
        ):
            return transfer.metadata
        return None

    def _own_account_ids(self) -> frozenset:
        context = self.context  # the root's: computed once per answer, for every row
        if "own_account_ids" not in context:
            partner = context.get("partner")
            context["own_account_ids"] = account_ids(partner=partner) if partner else frozenset()
        return context["own_account_ids"]


class TransferResolutionSerializer(TransferSerializer):
    """The transfer that posted or voided a pending one, and the pending one's new status."""

    pending_status = serializers.CharField(
        source="pending.status", help_text="The pending transfer's status now."
    )


class TransferInputSerializer(RequestSerializer):
    """A transfer to create. Amounts are decimal strings with at most the asset's decimals."""

    # Validated into a ledger.posting.TransferRequest; context["assets"] ({code: Asset}), when
    # given, spares a query per item of a batch.

    schema_constraints = {  # timeout_seconds only with "pending": true (see validate)
        "anyOf": [
            {
                "type": "object",
                # "not false", not "enum": [true]: drf-spectacular would make a component of
                # an enum here, and name two of them alike.
                "properties": {"pending": {"type": "boolean", "not": {"enum": [False]}}},
                "required": ["pending"],
            },
            {"type": "object", "not": {"required": ["timeout_seconds"]}},
        ]
    }

    id = ClientIdField(
        required=False,
        help_text="Client-chosen, random (UUID v4 or v7): ids are unique across the whole "
        "ledger, so an id another party used is a 409. The same id and body are applied once.",
    )
    debit_account = UUIDStringField(help_text="One of your accounts.")
    credit_account = UUIDStringField(help_text="Any open account of the same asset.")
    amount = AmountInputField(help_text='A decimal string, e.g. "1500.50".')
    asset = AssetCodeField()
    reference = serializers.CharField(max_length=255, required=False, allow_blank=True)
    code = PatternField(
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


@extend_schema_field(
    {
        "type": "array",
        "items": {},
        "description": "Each a TransferInput. In an atomic batch any invalid item is a 400; "
        "in an independent one an invalid item (whatever it is) fails alone, in its result.",
    }
)
class TransferItemsField(serializers.ListField):
    """A batch's transfers, parsed one by one later (transfer_requests_parse), so that in an
    independent batch an invalid item fails alone. The batch's schema_constraints type the
    items of an atomic batch."""

    def __init__(self, **kwargs):
        super().__init__(child=serializers.JSONField(allow_null=True), **kwargs)
