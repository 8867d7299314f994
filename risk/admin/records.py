"""Lists and controls (edited here; each save is audited and live on the next decision),
decisions and risk events (read only; events are acknowledged)."""

import json

from django.contrib import admin
from django.utils.html import format_html, format_html_join

from core.admin import ConsoleModelAdmin, ReadOnlyAdmin
from ledger.admin.base import run_each, timestamp
from risk.models import Backtest, Control, Decision, RiskEvent, RiskList, RiskListEntry
from risk.services import config_delete, config_save
from risk.services.events import risk_event_acknowledge


class ConfigAdmin(ConsoleModelAdmin):
    """Saved and deleted through risk.services (audited; the config token renewed)."""

    def save_model(self, request, obj, form, change):
        pass  # saved in save_related, with its entries, under one audit event

    def save_related(self, request, form, formsets, change):
        config_save(instance=form.instance, acting_user=request.user)
        for formset in formsets:
            for entry in formset.save(commit=False):
                config_save(instance=entry, acting_user=request.user)
            for entry in formset.deleted_objects:
                config_delete(instance=entry, acting_user=request.user)

    def delete_model(self, request, obj):
        config_delete(instance=obj, acting_user=request.user)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            config_delete(instance=obj, acting_user=request.user)


class RiskListEntryInline(admin.TabularInline):
    model = RiskListEntry
    fields = ("value", "note", "created_at")
    readonly_fields = ("created_at",)
    extra = 1


@admin.register(RiskList)
class RiskListAdmin(ConfigAdmin):
    list_display = ("name", "description", "entry_count")
    search_fields = ("name", "entries__value")
    inlines = [RiskListEntryInline]

    @admin.display(description="entries")
    def entry_count(self, risk_list):
        return risk_list.entries.count()


@admin.register(Control)
class ControlAdmin(ConfigAdmin):
    list_display = (
        "kind",
        "partner",
        "instrument_or_all",
        "limit",
        "reference_price",
        "enabled",
        "updated_at",
    )
    list_filter = ("kind", "enabled")
    list_editable = ("enabled",)
    list_select_related = ("partner",)
    search_fields = ("instrument", "partner__slug", "note")
    fields = (
        "kind",
        "partner",
        "instrument",
        "limit",
        "reference_price",
        "enabled",
        "note",
        "units",
    )
    readonly_fields = ("units",)

    @admin.display(description="instrument")
    def instrument_or_all(self, control):
        return control.instrument or "all"

    @admin.display(description="limit is in")
    def units(self, control):
        lines = [
            f"{Control.Kind(kind).label}: {unit}" for kind, unit in Control.LIMIT_UNITS.items()
        ]
        return format_html("<br>".join(["{}"] * len(lines)), *lines)

    def save_model(self, request, obj, form, change):
        pass  # list_editable saves through here too: config_save in save_related

    def save_related(self, request, form, formsets, change):
        config_save(instance=form.instance, acting_user=request.user)


def _pretty(value) -> str:
    return format_html("<pre>{}</pre>", json.dumps(value, indent=1, sort_keys=True))


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdmin):
    list_display = (
        "created",
        "subject",
        "outcome",
        "score",
        "reasons_display",
        "partner",
        "version_number",
        "latency_us",
    )
    list_filter = ("outcome", "subject")
    list_select_related = ("partner",)
    search_fields = ("=subject_id", "=id", "partner__slug")
    date_hierarchy = "created_at"
    fields = (
        "id",
        "subject",
        "subject_id",
        "partner",
        "outcome",
        "score",
        "version_number",
        "latency_us",
        "created_at",
        "hits_display",
        "facts_display",
    )
    readonly_fields = fields
    show_full_result_count = False  # no COUNT(*) over the whole table on every page

    @admin.display(description="decided (UTC)", ordering="created_at")
    def created(self, decision):
        return timestamp(decision.created_at)

    @admin.display(description="reasons")
    def reasons_display(self, decision):
        return ", ".join(decision.reasons) or "-"

    @admin.display(description="hits (values seen)")
    def hits_display(self, decision):
        return _pretty(decision.hits)

    @admin.display(description="facts")
    def facts_display(self, decision):
        return _pretty(decision.facts)


@admin.register(RiskEvent)
class RiskEventAdmin(ReadOnlyAdmin):
    list_display = (
        "created",
        "kind",
        "partner",
        "subject",
        "score",
        "acknowledged_by",
        "acknowledged_at",
    )
    list_filter = ("kind", ("acknowledged_at", admin.EmptyFieldListFilter))
    list_select_related = ("partner", "acknowledged_by")
    fields = (
        "kind",
        "partner",
        "subject",
        "subject_id",
        "score",
        "details_display",
        "created_at",
        "acknowledged_by",
        "acknowledged_at",
    )
    readonly_fields = fields
    actions = ["acknowledge"]

    def label(self, event) -> str:
        return str(event)

    @admin.display(description="found (UTC)", ordering="created_at")
    def created(self, event):
        return timestamp(event.created_at)

    @admin.display(description="details")
    def details_display(self, event):
        return _pretty(event.details)

    def has_acknowledge_permission(self, request):
        return self.has_right(request, "acknowledge")

    @admin.action(description="Acknowledge", permissions=["acknowledge"])
    def acknowledge(self, request, queryset):
        run_each(
            self,
            request,
            list(queryset),
            lambda e: risk_event_acknowledge(event=e, acting_user=request.user),
            done="Acknowledged",
        )


@admin.register(Backtest)
class BacktestAdmin(ReadOnlyAdmin):
    list_display = ("created", "version", "days", "state", "progress", "changed", "requested_by")
    list_filter = ("state",)
    list_select_related = ("version__rule_set", "requested_by")
    fields = (
        "version",
        "days",
        "state",
        "progress",
        "requested_by",
        "created_at",
        "finished_at",
        "error",
        "result_table",
    )
    readonly_fields = fields

    @admin.display(description="requested (UTC)", ordering="created_at")
    def created(self, backtest):
        return timestamp(backtest.created_at)

    @admin.display(description="progress")
    def progress(self, backtest):
        return f"{backtest.done} / {backtest.total} decisions ({backtest.progress_percent}%)"

    @admin.display(description="outcomes changed")
    def changed(self, backtest):
        return backtest.result.get("changed", "-")

    @admin.display(description="result")
    def result_table(self, backtest):
        result = backtest.result
        if not result:
            return "running" if backtest.state == Backtest.State.RUNNING else "-"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((r["reason"], r["name"], r["hits"]) for r in result["rules"]),
        )
        changes = format_html_join("", "<tr><td>{}</td><td>{}</td></tr>", result["changes"].items())
        return format_html(
            "<p>Against live version: {}</p>"
            "<table><tr><th>rule</th><th>name</th><th>would hit</th></tr>{}</table>"
            "<p>Outcomes that would change ({} in all):</p>"
            "<table><tr><th>live -> this version</th><th>subjects</th></tr>{}</table>",
            f"v{result['against']}" if result["against"] else "none",
            rows,
            result["changed"],
            changes,
        )
