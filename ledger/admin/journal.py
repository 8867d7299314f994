"""The transfer journal (read-only; a reversal is proposed here and approved by a second
staff member among the adjustments)."""

from django.contrib import admin, messages

from ledger.adjustments import adjustment_reversal_propose
from ledger.admin.base import (
    HeldAssetFilter,
    ReadOnlyLedgerAdmin,
    ReasonActionForm,
    money,
    run_each,
    timestamp,
)
from ledger.models import Transfer

# --- Transfer journal ----------------------------------------------------------------------


@admin.register(Transfer)
class TransferAdmin(ReadOnlyLedgerAdmin):
    list_display = (
        "created",
        "kind",
        "status",
        "debit_account",
        "credit_account",
        "amount_display",
        "asset",
        "code",
        "reference",
    )
    list_display_links = ("created",)
    list_filter = ("status", "kind", ("asset", HeldAssetFilter))
    list_select_related = ("debit_account__partner", "credit_account__partner", "asset")
    date_hierarchy = "created_at"
    search_fields = ("id", "reference")
    actions = ["propose_reversal"]
    action_form = ReasonActionForm
    fields = (
        "id",
        "created_at",
        "kind",
        "status",
        "debit_account",
        "credit_account",
        "amount_display",
        "asset",
        "code",
        "reference",
        "metadata",
        "pending",
        "reverses",
        "batch_id",
        "expires_at",
        "created_by",
        "digest",
    )
    readonly_fields = ("amount_display",)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("debit_account__partner", "credit_account__partner", "asset")
        )

    @admin.display(description="created (UTC)", ordering="created_at")
    def created(self, transfer):
        return timestamp(transfer.created_at)

    @admin.display(description="amount", ordering="amount")
    def amount_display(self, transfer):
        return money(transfer.amount, transfer.asset)

    def label(self, transfer) -> str:
        return (
            f"{transfer.id}: {money(transfer.amount, transfer.asset)} {transfer.asset_id} "
            f"{transfer.debit_account} → {transfer.credit_account}"
        )

    def has_propose_reversal_permission(self, request):
        return request.user.has_perm("ledger.add_adjustment")

    @admin.action(
        description="Propose reversal (posts once another staff member approves it)",
        permissions=["propose_reversal"],
    )
    def propose_reversal(self, request, queryset):
        reason = request.POST.get("reason", "").strip()
        if not reason:
            self.message_user(request, "Give a reason for the reversal.", messages.ERROR)
            return
        run_each(
            self,
            request,
            queryset,
            lambda t: adjustment_reversal_propose(
                transfer=t, reason=reason, acting_user=request.user
            ),
            done="Reversals proposed; a second staff member approves them under Adjustments",
        )
