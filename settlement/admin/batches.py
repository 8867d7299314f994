"""Batches (state, cutoff, trades, what is left to post), each with its events, step runs
and the obligations not posted; the per-partner settlement report as CSV; obligations."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404
from django.urls import path
from django.utils import timezone
from django.utils.html import format_html

from core.admin import confirmation_page
from core.api.csv import csv_streaming_response
from core.money import format_grouped, from_minor_units
from ledger.admin.base import ReadOnlyLedgerAdmin, ReasonActionForm, run_each
from settlement.models import BatchEvent, Obligation, SettlementBatch, StepRun
from settlement.services.staff import batch_console_run

S = SettlementBatch.State


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        # Parts of the batch's page: whoever may see the batch sees them.
        return request.user.has_perm("settlement.view_settlementbatch")


class EventInline(ReadOnlyInline):
    model = BatchEvent
    fields = ("created_at", "from_state", "to_state", "actor", "via", "reason", "details")
    readonly_fields = fields
    verbose_name_plural = "History (append-only)"


class StepRunInline(ReadOnlyInline):
    model = StepRun
    fields = ("step", "outcome", "attempts", "started_at", "finished_at", "error")
    readonly_fields = fields
    verbose_name_plural = "Job steps (one row per step)"


class UnpostedObligationInline(ReadOnlyInline):
    model = Obligation
    fields = ("partner", "asset", "net_display", "status", "error_code", "error_message")
    readonly_fields = fields
    verbose_name_plural = "Obligations not posted (failures first)"

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .exclude(status=Obligation.Status.POSTED)
            .select_related("partner", "asset")
            .order_by("-status", "partner_id")
        )

    @admin.display(description="net")
    def net_display(self, obligation):
        return format_grouped(obligation.net_amount, scale=obligation.asset.scale)


@admin.register(SettlementBatch)
class SettlementBatchAdmin(ReadOnlyLedgerAdmin):
    list_display = (
        "business_date",
        "cycle",
        "state",
        "cutoff",
        "trade_count",
        "obligation_count",
        "unposted_count",
        "failed_count",
        "closed_at",
        "settled_at",
        "failed_step",
    )
    list_filter = ("state", ("business_date", admin.DateFieldListFilter))
    date_hierarchy = "business_date"
    ordering = ("-business_date", "-cycle")
    actions = ["close", "clear", "settle", "retry"]
    action_form = ReasonActionForm
    inlines = [EventInline, StepRunInline, UnpostedObligationInline]
    fields = (
        "id",
        ("business_date", "cycle"),
        "state",
        "cutoff",
        ("opened_at", "closed_at", "cleared_at", "settled_at"),
        "trade_count",
        ("failed_step", "failure"),
        "report_link",
    )
    url_rights = {"settlement_settlementbatch_report": "view"}

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                obligation_count=Count("obligations"),
                unposted_count=Count("obligations", filter=~Q(obligations__status="posted")),
                failed_count=Count("obligations", filter=Q(obligations__status="failed")),
            )
        )

    @admin.display(description="obligations", ordering="obligation_count")
    def obligation_count(self, batch):
        return batch.obligation_count

    @admin.display(description="not posted", ordering="unposted_count")
    def unposted_count(self, batch):
        return batch.unposted_count

    @admin.display(description="failed", ordering="failed_count")
    def failed_count(self, batch):
        return batch.failed_count

    def label(self, batch) -> str:
        return str(batch)

    # --- The per-partner report -----------------------------------------------------------

    def get_urls(self):
        report = path(
            "<path:object_id>/report.csv",
            self.admin_site.admin_view(self.report_view),
            name="settlement_settlementbatch_report",
        )
        return [report, *super().get_urls()]

    def report_view(self, request, object_id):
        if not self.has_view_permission(request):
            raise PermissionDenied
        batch = get_object_or_404(SettlementBatch, pk=object_id)
        obligations = (
            Obligation.objects.filter(batch=batch)
            .select_related("partner", "asset")
            .order_by("partner__slug", "asset_id")
        )
        header = [
            "partner",
            "asset",
            "net_amount",
            "paid_gross",
            "received_gross",
            "legs",
            "status",
            "transfer_id",
            "error_code",
        ]

        def rows():
            yield header
            for o in obligations.iterator(chunk_size=2000):
                scale = o.asset.scale
                yield [
                    o.partner.slug,
                    o.asset_id,
                    from_minor_units(o.net_amount, scale=scale),
                    from_minor_units(o.paid_gross, scale=scale),
                    from_minor_units(o.received_gross, scale=scale),
                    o.legs,
                    o.status,
                    o.transfer_id or "",
                    o.error_code,
                ]

        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        name = f"settlement-{batch.business_date}-{batch.cycle}-{stamp}.csv"
        return csv_streaming_response(rows(), filename=name)

    @admin.display(description="settlement report")
    def report_link(self, batch):
        return format_html('<a href="{}">Download per partner (CSV)</a>', "report.csv")

    # --- Actions: the same services as the jobs -------------------------------------------

    def has_run_permission(self, request):
        return self.has_right(request, "run")

    def _run(self, request, queryset, *, action: str, question: str, done: str):
        batches = list(queryset)
        page = confirmation_page(
            self,
            request,
            batches,
            action=action,
            question=question,
            button=f"Yes, {action}",
            label=self.label,
        )
        if page is not None:
            return page
        reason = request.POST.get("reason", "")
        run_each(
            self,
            request,
            batches,
            lambda batch: batch_console_run(
                batch=batch, action=action, acting_user=request.user, reason=reason
            ),
            done=done,
        )
        return None

    @admin.action(description="Close the selected open batch now", permissions=["run"])
    def close(self, request, queryset):
        if queryset.exclude(state=S.OPEN).exists():
            self.message_user(request, "Only the open batch closes.", messages.WARNING)
            return None
        return self._run(
            request,
            queryset,
            action="close",
            question="Close this batch now? Trades from now on go to the next batch.",
            done="Batches closed",
        )

    @admin.action(description="Clear the selected closed batches", permissions=["run"])
    def clear(self, request, queryset):
        return self._run(
            request,
            queryset,
            action="clear",
            question="Net these batches' trades into obligations?",
            done="Clearing started",
        )

    @admin.action(description="Settle the selected cleared batches", permissions=["run"])
    def settle(self, request, queryset):
        return self._run(
            request,
            queryset,
            action="settle",
            question="Post these batches' obligations to the ledger?",
            done="Settlement started",
        )

    @admin.action(description="Retry the selected failed batches", permissions=["run"])
    def retry(self, request, queryset):
        return self._run(
            request,
            queryset,
            action="retry",
            question="Retry the step where these batches failed?",
            done="Retry started",
        )


@admin.register(Obligation)
class ObligationAdmin(ReadOnlyLedgerAdmin):
    list_display = (
        "batch",
        "partner",
        "asset",
        "net_display",
        "paid_display",
        "received_display",
        "legs",
        "status",
        "error_code",
        "posted_at",
    )
    list_filter = ("status", "asset", ("batch__business_date", admin.DateFieldListFilter))
    search_fields = ("=partner__slug", "=batch__id")
    search_help_text = "Partner slug or batch id (exact)."
    list_select_related = ("batch", "partner", "asset")
    fields = (
        "batch",
        "partner",
        "asset",
        ("net_display", "paid_display", "received_display"),
        "legs",
        "status",
        ("error_code", "error_message"),
        ("transfer_id", "posted_at"),
    )

    @admin.display(description="net (+ receives)", ordering="net_amount")
    def net_display(self, o):
        return format_grouped(o.net_amount, scale=o.asset.scale)

    @admin.display(description="paid gross")
    def paid_display(self, o):
        return format_grouped(o.paid_gross, scale=o.asset.scale)

    @admin.display(description="received gross")
    def received_display(self, o):
        return format_grouped(o.received_gross, scale=o.asset.scale)
