from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

from core.admin_site import register_dashboard_tile
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
                audit_record(actor=request.user, action="user.password_change", target=user)
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
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "actor", "action", "target_type", "target", "trace_id")
    readonly_fields = ("created_at", "target")  # not editable: the view page would omit them
    list_filter = ("action", "target_type")
    search_fields = ("target_id", "trace_id", "actor__username")
    date_hierarchy = "created_at"

    @admin.display(description="target", ordering="target_id")
    def target(self, event):
        """The target's console page, where it has one (a deleted row keeps its bare id)."""
        try:
            url = reverse(
                f"admin:{event.target_type.replace('.', '_')}_change", args=[event.target_id]
            )
        except NoReverseMatch:
            return event.target_id
        return format_html('<a href="{}">{}</a>', url, event.target_id)


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
