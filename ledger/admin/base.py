"""What the ledger's admin pages share: money display, links between ledger rows, read-only
model admins, and actions that call a service per object and report domain errors as
messages."""

import uuid

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import flatten_fieldsets
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from core.admin import ReadOnlyAdmin
from core.admin import confirmation_page as core_confirmation_page
from core.errors import ApplicationError
from core.money import format_grouped
from ledger.models import Account


def money(minor: int, asset) -> str:
    """For staff eyes: '1,500.50' (never for forms or exports, which want '1500.50')."""
    return format_grouped(minor, scale=asset.scale)


def admin_link(obj, text=None) -> str:
    """A link to the object's page in the console (its __str__ unless told otherwise)."""
    if obj is None:
        return "-"
    opts = obj._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, str(obj) if text is None else text)


def parse_uuid(value) -> uuid.UUID | None:
    """A UUID from a query string or form value; None for anything else."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def timestamp(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S")


class ReasonActionForm(helpers.ActionForm):
    """The changelist's action bar with a reason, which the action's service records."""

    reason = forms.CharField(
        required=False, label="Reason (audit log):", widget=forms.TextInput(attrs={"size": 30})
    )


def run_each(modeladmin, request, objects, operation, *, done: str) -> None:
    """Apply `operation` to each object in its own transaction; report failures one by one."""
    succeeded = 0
    for obj in objects:
        try:
            operation(obj)
        except ApplicationError as exc:
            modeladmin.message_user(
                request, f"{modeladmin.label(obj)}: {exc.message}", messages.ERROR
            )
        else:
            succeeded += 1
    if succeeded:
        modeladmin.message_user(request, f"{done}: {succeeded}.", messages.SUCCESS)


def confirmation_page(modeladmin, request, objects, *, action: str, question: str, button: str):
    """The console's confirmation page with a reason (core.admin), naming each object by
    the admin's `label`; None once confirmed, the reason then in request.POST["reason"]."""
    return core_confirmation_page(
        modeladmin,
        request,
        objects,
        action=action,
        question=question,
        button=button,
        label=modeladmin.label,
    )


class ReadOnlyLedgerAdmin(ReadOnlyAdmin):
    """Ledger rows change only through services: the console never adds, edits or deletes."""

    def get_readonly_fields(self, request, obj=None):
        return flatten_fieldsets(self.get_fieldsets(request, obj))

    def label(self, obj) -> str:
        return str(obj)


class HeldAssetFilter(admin.RelatedFieldListFilter):
    """Only the assets some account holds, not every ISO 4217 currency (one small query,
    never a DISTINCT over the transfer journal)."""

    def field_choices(self, field, request, model_admin):
        held = Account.objects.values("asset_id").distinct()
        return field.get_choices(include_blank=False, limit_choices_to={"pk__in": held})
