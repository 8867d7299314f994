"""The invariant checker's and chain verifier's runs: each failed run is an alert until a
staff member acknowledges it."""

import json

from django.contrib import admin, messages
from django.utils.html import format_html

from ledger.admin.base import ReadOnlyLedgerAdmin, run_each
from ledger.integrity import ledger_check_acknowledge
from ledger.models import LedgerCheckRun


@admin.register(LedgerCheckRun)
class LedgerCheckRunAdmin(ReadOnlyLedgerAdmin):
    list_display = ("started_at", "kind", "ok", "violation_count", "finished_at", "acknowledged_by")
    list_filter = ("kind", "ok", ("acknowledged_by", admin.EmptyFieldListFilter))
    actions = ["acknowledge"]
    list_select_related = ("acknowledged_by",)
    date_hierarchy = "started_at"
    fields = (
        "kind",
        "started_at",
        "finished_at",
        "ok",
        "violation_count",
        "violations_display",
        "acknowledged_by",
    )
    readonly_fields = ("violation_count", "violations_display")

    @admin.display(description="violations")
    def violation_count(self, run):
        return len(run.violations or ())

    @admin.display(description="details")
    def violations_display(self, run):
        return format_html("<pre>{}</pre>", json.dumps(run.violations, indent=2, default=str))

    def has_acknowledge_permission(self, request):
        return self.has_right(request, "acknowledge")

    @admin.action(
        description="Acknowledge (looked into: no longer an alert)", permissions=["acknowledge"]
    )
    def acknowledge(self, request, queryset):
        if not queryset.filter(ok=False).exists():
            self.message_user(request, "Only failed runs need acknowledging.", messages.WARNING)
            return
        run_each(
            self,
            request,
            list(queryset.filter(ok=False)),
            lambda run: ledger_check_acknowledge(run=run, acting_user=request.user),
            done="Failed runs acknowledged",
        )
