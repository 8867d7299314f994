import json

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count
from django.http import HttpResponseRedirect
from django.urls import path
from django.utils import timezone

from core.admin_site import partner_sections, register_dashboard_tile
from core.api.csv import csv_streaming_response, text_cell
from core.audit_display import audit_changes_table, audit_changes_text, audit_targets_label
from core.models import AuditEvent, IdempotentRequest, Partner, User
from core.services import (
    audit_record,
    audited_delete,
    audited_save,
    user_sessions_revoke_all,
)


class ConsoleModelAdmin(admin.ModelAdmin):
    """The console's base: what every model page of it does."""

    def response_action(self, request, queryset):
        # Django filters pk__in on the posted ids as they come, and a value that is not an
        # id of this model (a forged POST, with UUID keys) is a 500 there.
        pk = self.model._meta.pk
        try:
            for value in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME):
                pk.to_python(value)
        except ValidationError:
            self.message_user(request, "Some selected rows do not exist.", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())
        return super().response_action(request, queryset)


class CsvExportMixin:
    """A "Download CSV" of the list as filtered, searched and ordered on screen, streamed
    (every matching row, not one page). `csv_columns`: (header, row -> value) pairs."""

    # Its change_list template extends admin/csv_change_list.html (the download link).
    csv_columns: tuple = ()

    def get_urls(self):
        opts = self.model._meta
        export = path(
            "export.csv",
            self.admin_site.admin_view(self.csv_export_view),
            name=f"{opts.app_label}_{opts.model_name}_export",
        )
        return [export, *super().get_urls()]

    def csv_export_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            return HttpResponseRedirect("../")
        rows = changelist.get_queryset(request).iterator(chunk_size=2000)
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        return csv_streaming_response(
            self._csv_rows(rows), filename=f"{self.model._meta.model_name}-{stamp}.csv"
        )

    def _csv_rows(self, objects):
        yield [header for header, _ in self.csv_columns]
        for obj in objects:
            yield [_csv_cell(value(obj)) for _, value in self.csv_columns]


def _csv_cell(value) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return text_cell(str(value))


class AuditedModelAdmin(ConsoleModelAdmin):
    """Every add, change and delete from the console writes an audit event (before/after)."""

    def save_model(self, request, obj, form, change):
        pass  # saved in save_related, together with its relations, under one audit event

    def save_related(self, request, form, formsets, change):
        parent = super()
        audited_save(
            instance=form.instance,
            acting_user=request.user,
            save_related=lambda: parent.save_related(request, form, formsets, change),
        )

    def delete_model(self, request, obj):
        audited_delete(instance=obj, acting_user=request.user)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            audited_delete(instance=obj, acting_user=request.user)


class ReadOnlyAdmin(ConsoleModelAdmin):
    """Rows that change only through services (or never): the console only shows them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class PartnerUserInline(admin.TabularInline):
    model = User
    fields = ("username", "email", "is_active", "last_login")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Partner)
class PartnerAdmin(AuditedModelAdmin):
    list_display = ("slug", "name", "is_active", "user_count", "created_at")
    list_filter = ("is_active",)
    search_fields = ("slug", "name")
    readonly_fields = ("id", "created_at")
    inlines = [PartnerUserInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(user_count=Count("users"))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # The apps' parts of the page (accounts, holds, transfers, audit trail).
        partner = self.get_object(request, object_id)
        if partner is not None:
            sections = partner_sections(request, partner)
            extra_context = {**(extra_context or {}), "partner_sections": sections}
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description="API users", ordering="user_count")
    def user_count(self, obj):
        return obj.user_count


@admin.register(User)
class UserAdmin(AuditedModelAdmin, DjangoUserAdmin):
    list_display = ("username", "partner", "is_staff", "is_active", "last_login")
    list_filter = ("is_staff", "is_active", "partner", "groups")
    fieldsets = (
        *DjangoUserAdmin.fieldsets,
        ("Partner API", {"fields": ("partner",)}),
    )
    add_fieldsets = ((None, {"fields": ("username", "partner", "password1", "password2")}),)
    actions = ["revoke_all_sessions"]

    def user_change_password(self, request, id, form_url=""):
        with transaction.atomic():  # the new password and its audit event, or neither
            response = super().user_change_password(request, id, form_url)
            if request.method == "POST" and response.status_code == 302:  # the form was saved
                user = self.get_object(request, id)
                audit_record(actor=request.user, action="user.password_changed", target=user)
        return response

    @admin.action(description="Revoke all sessions (API tokens refused at once)")
    def revoke_all_sessions(self, request, queryset):
        for user in queryset:
            user_sessions_revoke_all(user=user, acting_user=request.user)
        self.message_user(
            request, f"Revoked every session of {queryset.count()} user(s).", messages.SUCCESS
        )


@admin.register(AuditEvent)
class AuditEventAdmin(CsvExportMixin, ReadOnlyAdmin):
    list_display = ("created_at", "actor", "action", "target", "changes_short", "trace_id")
    fields = (
        "created_at",
        "actor",
        "action",
        "target",
        "target_type",
        "target_id",
        "changes",
        "trace_id",
    )
    readonly_fields = ("target", "changes")  # not editable: the view page would omit them
    list_filter = ("action", "target_type")
    list_select_related = ("actor",)
    search_fields = ("target_id", "trace_id", "actor__username")
    date_hierarchy = "created_at"
    csv_columns = (
        ("created_at", lambda e: e.created_at),
        ("actor", lambda e: e.actor.username if e.actor_id else ""),
        ("action", lambda e: e.action),
        ("target_type", lambda e: e.target_type),
        ("target_id", lambda e: e.target_id),
        ("changes", lambda e: audit_changes_text(e)),
        ("before", lambda e: _json(e.before)),
        ("after", lambda e: _json(e.after)),
        ("trace_id", lambda e: e.trace_id),
    )

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:  # every row's target label in one query per type
            audit_targets_label(changelist.result_list)
        return response

    @admin.display(description="target", ordering="target_id")
    def target(self, event):
        """The target's label, linked to its console page where it has one."""
        if not hasattr(event, "target_label"):
            audit_targets_label([event])
        return event.target_label

    @admin.display(description="what changed")
    def changes_short(self, event):
        return audit_changes_text(event)

    @admin.display(description="before → after")
    def changes(self, event):
        return audit_changes_table(event)


def _json(value) -> str:
    return "" if value is None else json.dumps(value, sort_keys=True)


@admin.register(IdempotentRequest)
class IdempotentRequestAdmin(ConsoleModelAdmin):
    list_display = ("created_at", "partner", "key", "state", "response_status")
    list_filter = ("state", "partner")
    search_fields = ("key",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@register_dashboard_tile("Partners")
def _partners_tile(request):
    return {
        "title": "Active partners",
        "value": Partner.objects.filter(is_active=True).count(),
        "url": "core/partner/",
    }
