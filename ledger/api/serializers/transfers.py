"""Transfers as a partner sees them, and the transfer a partner asks for."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api.fields import (
    ClientIdField,
    MetadataField,
    PatternField,
    UUIDStringField,
)
from core.api.prebuilt_fields import PrebuiltFieldsMixin
from core.api.serializers import RequestSerializer
from ledger.api.serializers.fields import (
    MAX_METADATA_BYTES,
    MAX_TIMEOUT_SECONDS,
    AmountField,
    AmountInputField,
    AssetCodeField,
    minor_units,
)
from ledger.models import Transfer
from ledger.posting import TRANSFER_CODE_PATTERN, TransferRequest
from ledger.selectors import account_ids, assets_by_code

# Origins whose transfers carry what the partner sent: its own, and the hold risk placed
# for the transfer it asked for.
_PARTNERS_OWN = (Transfer.Origin.PARTNER_API, Transfer.Origin.RISK)


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
            transfer.origin in _PARTNERS_OWN
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
