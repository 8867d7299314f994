import json

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
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
    """The console's base: what every model page of it does.

    An action or page needing more than view/add/change/delete asks `has_right` for a
    right of core.staff_groups.ROLE_TABLE (the permission `<right>_<model>`); `url_rights`
    names the right each of the admin's own URLs needs (the role matrix test walks them).
    """

    url_rights: dict[str, str] = {}

    def has_right(self, request, right: str) -> bool:
        return request.user.has_perm(f"{self.opts.app_label}.{right}_{self.opts.model_name}")

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

    @property
    def url_rights(self) -> dict[str, str]:
        opts = self.model._meta
        own = {f"{opts.app_label}_{opts.model_name}_export": "view"}
        return {**getattr(super(), "url_rights", {}), **own}

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


def confirmation_page(
    modeladmin, request, objects, *, action: str, question: str, button: str, label=str
):
    """For sensitive actions: a page that names the objects and asks for a reason, which
    the action's service writes into the audit event. None once confirmed with a reason
    (then in request.POST["reason"]); otherwise the page to answer."""
    reason = request.POST.get("reason", "").strip()
    confirmed = request.POST.get("confirmed") == "yes"
    if confirmed and reason:
        return None
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": "Are you sure?",
        "question": question,
        "button": button,
        "action": action,
        "objects": [(obj.pk, label(obj)) for obj in objects],
        "reason": reason,
        "reason_error": "Say why: the reason goes into the audit log." if confirmed else "",
        "opts": modeladmin.opts,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/action_confirmation.html", context)


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


# Fields that make someone staff, superuser or give them rights: superusers only.
PRIVILEGE_FIELDS = ("is_staff", "is_superuser", "groups", "user_permissions")


@admin.register(User)
class UserAdmin(AuditedModelAdmin, DjangoUserAdmin):
    """People and their rights. Whatever the role table grants, only a superuser creates
    users, makes anyone staff, gives groups or permissions, or edits a staff user: the
    checks below hold even if a group were given change_user by hand."""

    list_display = ("username", "partner", "is_staff", "is_active", "last_login")
    list_filter = ("is_staff", "is_active", "partner", "groups")
    fieldsets = (
        *DjangoUserAdmin.fieldsets,
        ("Partner API", {"fields": ("partner",)}),
    )
    add_fieldsets = ((None, {"fields": ("username", "partner", "password1", "password2")}),)
    actions = ["revoke_all_sessions"]
    url_rights = {"auth_user_password_change": "change"}  # Django's name, whatever the model

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        if request.user.is_superuser:
            return True
        if obj is not None and (obj.is_staff or obj.is_superuser):
            return False  # another staff user, or oneself: a superuser's job
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if request.user.is_superuser:
            return True
        if obj is not None and (obj.is_staff or obj.is_superuser):
            return False
        return super().has_delete_permission(request, obj)

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or self.has_change_permission(request, obj):
            return fieldsets
        # Who may only view a user cannot set its password: no "Reset password" button
        # that leads to a 403.
        return [
            (name, {**options, "fields": [f for f in options["fields"] if f != "password"]})
            for name, options in fieldsets
        ]

    def get_readonly_fields(self, request, obj=None):
        readonly = super().get_readonly_fields(request, obj)
        if request.user.is_superuser:
            return readonly
        return (*readonly, *PRIVILEGE_FIELDS, "partner")

    def has_revoke_sessions_permission(self, request):
        return self.has_right(request, "revoke_sessions")

    def user_change_password(self, request, id, form_url=""):
        with transaction.atomic():  # the new password and its audit event, or neither
            response = super().user_change_password(request, id, form_url)
            if request.method == "POST" and response.status_code == 302:  # the form was saved
                user = self.get_object(request, id)
                audit_record(actor=request.user, action="user.password_changed", target=user)
        return response

    @admin.action(
        description="Revoke all sessions (API tokens refused at once)",
        permissions=["revoke_sessions"],
    )
    def revoke_all_sessions(self, request, queryset):
        users = list(queryset)
        confirm = confirmation_page(
            self,
            request,
            users,
            action="revoke_all_sessions",
            question="Revoke every API session of these users? Their tokens stop working at "
            "once; they must log in again.",
            button="Yes, revoke their sessions",
        )
        if confirm is not None:
            return confirm
        reason = request.POST["reason"].strip()
        for user in users:
            user_sessions_revoke_all(user=user, acting_user=request.user, reason=reason)
        self.message_user(
            request, f"Revoked every session of {len(users)} user(s).", messages.SUCCESS
        )
        return None


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


from core import admin_framework, admin_jobs  # noqa: E402, F401 - register their pages
