"""What the ledger's admin pages share: money display, links between ledger rows, read-only
model admins, and actions that call a service per object and report domain errors as
messages."""

import uuid
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import flatten_fieldsets
from django.db.models import Q
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


def changelist_link(model, text: str, **filters) -> str:
    """A link to `model`'s list in the console, filtered by `filters` (its query string)."""
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    return format_html('<a href="{}?{}">{}</a>', url, urlencode(filters), text)


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


def account_label_q(term: str, *, prefix: str = "") -> Q | None:
    """Accounts as the console labels them, `owner/ASSET/code` (alpha/USD/main, house/USD/
    settlement_bank), each part a prefix: "alpha/usd" finds alpha's USD accounts. None if
    `term` is not label-shaped."""
    if "/" not in term:
        return None
    parts = [part.strip() for part in term.split("/")]
    if len(parts) > 3 or not parts[0]:
        return None
    owner = parts[0]
    query = (
        Q(**{f"{prefix}partner__isnull": True})
        if owner.lower() == "house"
        else Q(**{f"{prefix}partner__slug__iexact": owner})
    )
    if len(parts) > 1 and parts[1]:
        query &= Q(**{f"{prefix}asset__code__istartswith": parts[1]})
    if len(parts) > 2 and parts[2]:
        query &= Q(**{f"{prefix}code__istartswith": parts[2]})
    return query


class AccountLabelSearchMixin:
    """Search by an account's label (alpha/USD/main) on top of `search_fields` (which hold
    the partner's slug and name, so "Alpha Capital" finds alpha's rows too)."""

    account_label_prefixes: tuple[str, ...] = ("",)  # paths to the accounts searched

    def get_search_results(self, request, queryset, search_term):
        terms = search_term.split()
        labels = [term for term in terms if account_label_q(term) is not None]
        if not labels:
            return super().get_search_results(request, queryset, search_term)
        rest = " ".join(term for term in terms if term not in labels)
        duplicates = False
        if rest:
            queryset, duplicates = super().get_search_results(request, queryset, rest)
        for term in labels:
            either = Q(pk__in=[])
            for prefix in self.account_label_prefixes:
                either |= account_label_q(term, prefix=prefix)
            queryset = queryset.filter(either)
        return queryset, duplicates
