"""Statement lines and the period they cover (ledger.statements)."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api.fields import (
    UTCInstantField,
)
from core.api.prebuilt_fields import PrebuiltFieldsMixin
from core.money import from_minor_units
from ledger.api.serializers.fields import OptionalAmountField, SignedAmountField
from ledger.models import Entry


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
