"""Accounts: balances, filters, the statement, and freeze / unfreeze / close actions."""

from django.contrib import admin, messages
from django.db.models import F
from django.http import Http404, HttpResponseRedirect
from django.urls import path, reverse

from core.api.csv import csv_streaming_response
from ledger.admin.base import (
    AccountLabelSearchMixin,
    HeldAssetFilter,
    ReadOnlyLedgerAdmin,
    ReasonActionForm,
    confirmation_page,
    money,
    run_each,
)
from ledger.admin.statement import statement_context, statement_period
from ledger.models import Account
from ledger.selectors import accounts_with_lapsed_holds
from ledger.services import (
    account_close,
    account_freeze,
    account_unfreeze,
    pending_transfers_expire,
)
from ledger.statements import statement_table

STATEMENT_LINES = 50  # the newest entries shown on an account's page


class OwnerFilter(admin.RelatedFieldListFilter):
    """The partner filter, where an account without a partner is the firm's own ("house")."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.title = "owner"
        self.empty_value_display = "house"

    def choices(self, changelist):
        # Django marks "house" (isnull) selected for ?partner__isnull=False too, as the
        # string "False" is truthy; that URL means every partner (the dashboard's tiles).
        partners = str(self.lookup_val_isnull).lower() in ("false", "0")
        for choice in super().choices(changelist):
            if choice["display"] == self.empty_value_display:
                choice["selected"] = choice["selected"] and not partners
            yield choice
        yield {
            "selected": partners,
            "query_string": changelist.get_query_string(
                {self.lookup_kwarg_isnull: "False"}, [self.lookup_kwarg]
            ),
            "display": "every partner",
        }


@admin.register(Account)
class AccountAdmin(AccountLabelSearchMixin, ReadOnlyLedgerAdmin):
    list_display = (
        "short_id",
        "owner",
        "asset",
        "code",
        "status",
        "posted_balance_display",
        "pending_balance_display",
        "available_balance_display",
    )
    list_filter = (
        ("partner", OwnerFilter),
        ("asset", HeldAssetFilter),
        "status",
        "kind",
    )
    ordering = (F("partner__slug").asc(nulls_last=True), "asset", "code")
    list_select_related = ("partner", "asset")
    search_fields = ("id", "partner__slug", "partner__name", "code", "asset__code")
    actions = ["freeze", "unfreeze", "close"]
    action_form = ReasonActionForm
    fieldsets = (
        (None, {"fields": ("id", "partner", "asset", "code", "kind", "status", "created_at")}),
        (
            "Balances",
            {
                "fields": (
                    "posted_balance_display",
                    "pending_balance_display",
                    "available_balance_display",
                )
            },
        ),
        (
            "Running totals (minor units)",
            {
                "fields": ("debits_posted", "credits_posted", "debits_pending", "credits_pending"),
                "classes": ("collapse",),
            },
        ),
        (
            "Balance limits",
            {
                "fields": ("debits_must_not_exceed_credits", "credits_must_not_exceed_debits"),
                "classes": ("collapse",),
            },
        ),
        ("Hash chain", {"fields": ("chain_head",), "classes": ("collapse",)}),
    )
    readonly_fields = (
        "posted_balance_display",
        "pending_balance_display",
        "available_balance_display",
    )

    def get_queryset(self, request):
        # Holds past their timeout hold nothing any more, before the expiry job runs too.
        queryset = super().get_queryset(request).select_related("partner", "asset")
        return accounts_with_lapsed_holds(queryset)

    @admin.display(description="id", ordering="id")
    def short_id(self, account):
        return str(account.pk)[:8]

    @admin.display(description="owner", ordering="partner__slug")
    def owner(self, account):
        return account.partner.slug if account.partner_id else "house"

    @admin.display(description="posted")
    def posted_balance_display(self, account):
        return money(account.posted_balance, account.asset)

    # Signed from the account's side: holds reserving its money (-) or coming to it (+).
    @admin.display(description="held (- out / + in)")
    def pending_balance_display(self, account):
        return money(account.pending_balance, account.asset)

    @admin.display(description="available")
    def available_balance_display(self, account):
        return money(account.available_balance, account.asset)

    url_rights = {"ledger_account_statement_csv": "view"}

    def get_urls(self):
        csv_url = path(
            "<path:object_id>/statement.csv",
            self.admin_site.admin_view(self.statement_csv_view),
            name="ledger_account_statement_csv",
        )
        return [csv_url, *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        account = self.get_object(request, object_id)
        if account is not None:
            context = statement_context(request, account, lines=STATEMENT_LINES)
            extra_context = {**(extra_context or {}), **context}
        return super().change_view(request, object_id, form_url, extra_context)

    def statement_csv_view(self, request, object_id):
        """The period's whole statement (?from=&to=, business dates or instants) as CSV."""
        account = self.get_object(request, object_id)
        if account is None or not self.has_view_permission(request, account):
            raise Http404
        period, errors = statement_period(request.GET)
        if errors:
            self.message_user(request, " ".join(errors), messages.ERROR)
            return HttpResponseRedirect(reverse("admin:ledger_account_change", args=[account.pk]))
        pending_transfers_expire(accounts=[account])  # lapsed holds, as on the page
        return csv_streaming_response(
            statement_table(account=account, period=period),
            filename=f"statement-{account}-{account.pk}.csv".replace("/", "_"),
        )

    # Actions: rights of core.staff_groups.ROLE_TABLE; each asks to confirm, with a reason.

    def has_freeze_permission(self, request):
        return self.has_right(request, "freeze")

    def has_close_permission(self, request):
        return self.has_right(request, "close")

    @admin.action(description="Freeze (no money in or out)", permissions=["freeze"])
    def freeze(self, request, queryset):
        return self._status_change(
            request,
            queryset,
            account_freeze,
            action="freeze",
            question="Freeze these accounts? No money moves in or out until unfrozen.",
            button="Yes, freeze them",
            done="Accounts frozen",
        )

    @admin.action(description="Unfreeze", permissions=["freeze"])
    def unfreeze(self, request, queryset):
        return self._status_change(
            request,
            queryset,
            account_unfreeze,
            action="unfreeze",
            question="Unfreeze these accounts? Money can move in and out again.",
            button="Yes, unfreeze them",
            done="Accounts unfrozen",
        )

    @admin.action(description="Close (final; only empty accounts)", permissions=["close"])
    def close(self, request, queryset):
        return self._status_change(
            request,
            queryset,
            account_close,
            action="close",
            question="Close these accounts? A closed account can never be reopened.",
            button="Yes, close them",
            done="Accounts closed",
        )

    def _status_change(self, request, queryset, service, *, action, question, button, done):
        accounts = list(queryset)
        confirm = confirmation_page(
            self, request, accounts, action=action, question=question, button=button
        )
        if confirm is not None:
            return confirm
        reason = request.POST["reason"].strip()
        run_each(
            self,
            request,
            accounts,
            lambda a: service(account=a, acting_user=request.user, reason=reason),
            done=done,
        )
        return None
