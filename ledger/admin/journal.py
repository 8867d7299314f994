"""The transfer journal (read-only; a reversal is proposed here and approved by a second
staff member among the adjustments)."""

from django.contrib import admin
from django.db.models import OuterRef, Q, Subquery
from django.db.models.functions import JSONObject
from django.utils import timezone

from core.admin import CsvExportMixin
from core.money import from_minor_units
from ledger.adjustments import adjustment_reversal_propose
from ledger.admin.base import (
    AccountLabelSearchMixin,
    HeldAssetFilter,
    ReadOnlyLedgerAdmin,
    ReasonActionForm,
    admin_link,
    money,
    parse_uuid,
    run_each,
    timestamp,
)
from ledger.admin.filters import CreatedRangeFilter, PartnerFilter
from ledger.models import Account, Transfer


class AccountFilter(admin.SimpleListFilter):
    """Transfers on either side of one account (?account=<id>, linked from its page)."""

    title = "account"
    parameter_name = "account"

    def _account_id(self):
        return parse_uuid(self.value()) if self.value() else None

    def lookups(self, request, model_admin):
        # Only the selected account: the sidebar says what is filtered, and there is no
        # list of every account to pick from. Django applies a filter only while it has a
        # choice to show, so a mistyped id gets one too (and matches nothing).
        if not self.value():
            return []
        account_id = self._account_id()
        account = (
            account_id and Account.objects.select_related("partner").filter(pk=account_id).first()
        )
        return [(self.value(), str(account) if account else "no such account")]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        account_id = self._account_id()
        if account_id is None:  # not an id: nothing, rather than the whole journal
            return queryset.none()
        return queryset.filter(Q(debit_account_id=account_id) | Q(credit_account_id=account_id))


class HoldFilter(admin.SimpleListFilter):
    """Holds still reserving money; "overdue" ones should have expired by now (the
    dashboard links to ?hold=overdue)."""

    title = "open holds"
    parameter_name = "hold"

    def lookups(self, request, model_admin):
        return [("open", "Open"), ("overdue", "Overdue (past expiry)")]

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.filter(status=Transfer.Status.PENDING)
        if self.value() == "overdue":  # the partial index transfer_pending_expiry serves it
            return queryset.filter(
                status=Transfer.Status.PENDING,
                expires_at__isnull=False,
                expires_at__lte=timezone.now(),
            )
        return queryset


def _transfer_text(transfer) -> str:
    return (
        f"{transfer.get_kind_display()} {money(transfer.amount, transfer.asset)} "
        f"{transfer.asset_id} · {str(transfer.pk)[:8]}"
    )


def _transfer_link(transfer) -> str:
    return admin_link(transfer, _transfer_text(transfer)) if transfer else "-"


def _transfer_link_by_id(transfer_id) -> str:
    if transfer_id is None:
        return "-"
    return _transfer_link(Transfer.objects.select_related("asset").filter(pk=transfer_id).first())


@admin.register(Transfer)
class TransferAdmin(CsvExportMixin, AccountLabelSearchMixin, ReadOnlyLedgerAdmin):
    list_display = (
        "created",
        "kind_display",
        "status_display",
        "debit",
        "credit",
        "amount_display",
        "code",
        "reference",
    )
    list_display_links = ("created",)
    list_filter = (
        AccountFilter,
        PartnerFilter,
        CreatedRangeFilter,
        HoldFilter,
        "status",
        "kind",
        ("asset", HeldAssetFilter),
    )
    list_select_related = ("debit_account__partner", "credit_account__partner", "asset")
    date_hierarchy = "created_at"
    # An account's label (alpha/USD/main) or its partner's name finds its transfers too.
    search_fields = (
        "id",
        "reference",
        "debit_account__partner__slug",
        "debit_account__partner__name",
        "credit_account__partner__slug",
        "credit_account__partner__name",
    )
    account_label_prefixes = ("debit_account__", "credit_account__")
    csv_columns = (
        ("created_at", lambda t: t.created_at),
        ("id", lambda t: t.pk),
        ("kind", lambda t: t.kind),
        ("status", lambda t: t.status),
        ("debit_account", lambda t: t.debit_account),
        ("debit_account_id", lambda t: t.debit_account_id),
        ("credit_account", lambda t: t.credit_account),
        ("credit_account_id", lambda t: t.credit_account_id),
        ("amount", lambda t: from_minor_units(t.amount, scale=t.asset.scale)),
        ("asset", lambda t: t.asset_id),
        ("code", lambda t: t.code),
        ("reference", lambda t: t.reference),
        ("hold", lambda t: t.pending_id),
        ("reverses", lambda t: t.reverses_id),
        ("batch_id", lambda t: t.batch_id),
        ("expires_at", lambda t: t.expires_at),
    )
    actions = ["propose_reversal"]
    action_form = ReasonActionForm
    fields = (
        "id",
        "created_at",
        "kind_display",
        "status_display",
        "debit",
        "credit",
        "amount_display",
        "code",
        "reference",
        "metadata",
        "pending_link",
        "resolved_by",
        "reverses_link",
        "reversed_by",
        "batch_id",
        "expires_at",
        "created_by",
        "digest",
    )

    def get_queryset(self, request):
        # A hold is resolved at most once: its resolution's kind and amount in one subquery.
        resolution = Transfer.objects.filter(pending=OuterRef("pk")).values(
            outcome=JSONObject(kind="kind", amount="amount")
        )[:1]
        return (
            super()
            .get_queryset(request)
            .select_related(*self.list_select_related)
            .annotate(resolution=Subquery(resolution))
        )

    @admin.display(description="created (UTC)", ordering="created_at")
    def created(self, transfer):
        return timestamp(transfer.created_at)

    @admin.display(description="kind", ordering="kind")
    def kind_display(self, transfer):
        return transfer.get_kind_display()

    @admin.display(description="status", ordering="status")
    def status_display(self, transfer):
        """What became of a hold: "posted 1,200.00 of 3,000.00", "voided", "expired"."""
        if transfer.status == Transfer.Status.PENDING:
            return transfer.status_now  # a hold past its timeout reads expired at once
        outcome = getattr(transfer, "resolution", None)
        if outcome and outcome["kind"] == Transfer.Kind.POST_PENDING:
            posted = money(outcome["amount"], transfer.asset)
            return f"posted {posted} of {money(transfer.amount, transfer.asset)}"
        return transfer.status

    @admin.display(description="debit account")
    def debit(self, transfer):
        return admin_link(transfer.debit_account)

    @admin.display(description="credit account")
    def credit(self, transfer):
        return admin_link(transfer.credit_account)

    @admin.display(description="amount", ordering="amount")
    def amount_display(self, transfer):
        return f"{money(transfer.amount, transfer.asset)} {transfer.asset_id}"

    @admin.display(description="hold")
    def pending_link(self, transfer):
        return _transfer_link_by_id(transfer.pending_id)

    @admin.display(description="resolved by")
    def resolved_by(self, transfer):
        return _transfer_link(transfer.resolutions.select_related("asset").first())

    @admin.display(description="reverses")
    def reverses_link(self, transfer):
        return _transfer_link_by_id(transfer.reverses_id)

    @admin.display(description="reversed by")
    def reversed_by(self, transfer):
        return _transfer_link(transfer.reversals.select_related("asset").first())

    def label(self, transfer) -> str:
        return (
            f"{transfer.id}: {money(transfer.amount, transfer.asset)} {transfer.asset_id} "
            f"{transfer.debit_account} → {transfer.credit_account}"
        )

    def has_reverse_permission(self, request):
        return self.has_right(request, "reverse")

    @admin.action(
        description="Propose reversal (posts once another staff member approves it)",
        permissions=["reverse"],
    )
    def propose_reversal(self, request, queryset):
        reason = request.POST.get("reason", "")
        run_each(
            self,
            request,
            queryset,
            lambda t: adjustment_reversal_propose(
                transfer=t, reason=reason, acting_user=request.user
            ),
            done="Reversals proposed; a second staff member approves them under Adjustments",
        )
