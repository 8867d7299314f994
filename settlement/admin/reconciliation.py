"""Bank statements (with their auto-match rate), their lines, the matches and the breaks."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from core.admin import confirmation_page
from core.errors import ApplicationError
from core.money import format_grouped
from ledger.admin.base import ReadOnlyLedgerAdmin, ReasonActionForm, changelist_link, run_each
from settlement.models import BankStatement, Break, StatementLine, StatementMatch
from settlement.reconciliation.breaks import (
    break_adjustment_propose,
    breaks_adjustments_sync,
    breaks_match_by_hand,
)
from settlement.reconciliation.statements import statement_import
from settlement.services.windows import business_date_of

MAX_STATEMENT_BYTES = 50 * 1024 * 1024


class StatementImportForm(forms.Form):
    file = forms.FileField(help_text="CSV, camt.053 (XML) or MT940.")
    format = forms.ChoiceField(
        choices=[("", "from the file"), *BankStatement.Format.choices], required=False
    )


def _scale(obj) -> int:
    return obj.statement.account.asset.scale


def _line_text(line) -> str:
    """A line as staff read it: its amount in the currency's decimals, not minor units."""
    amount = format_grouped(line.amount, scale=_scale(line))
    return f"#{line.line_no} {line.value_date} {amount} {line.reference}".rstrip()


@admin.register(BankStatement)
class BankStatementAdmin(ReadOnlyLedgerAdmin):
    list_display = (
        "statement_ref",
        "format",
        "account",
        "period_start",
        "period_end",
        "line_count",
        "matched_count",
        "auto_match_display",
        "open_breaks",
        "imported_at",
    )
    list_filter = ("format", ("imported_at", admin.DateFieldListFilter))
    search_fields = ("=statement_ref",)
    list_select_related = ("account__asset",)
    fields = (
        ("statement_ref", "format"),
        "account",
        ("period_start", "period_end"),
        ("opening_display", "closing_display"),
        ("line_count", "matched_count", "auto_match_display"),
        ("lines_link", "breaks_link"),
        ("imported_at", "imported_by"),
        "digest",
    )

    url_rights = {"settlement_bankstatement_import": "import"}

    def get_urls(self):
        upload = path(
            "import/",
            self.admin_site.admin_view(self.import_view),
            name="settlement_bankstatement_import",
        )
        return [upload, *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_import": self.has_right(request, "import")}
        return super().changelist_view(request, extra_context)

    def import_view(self, request):
        if not self.has_right(request, "import"):
            raise PermissionDenied
        form = StatementImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                if upload.size > MAX_STATEMENT_BYTES:
                    raise ApplicationError("The file is larger than 50 MB.")
                statement = statement_import(
                    content=upload.read(),
                    filename=upload.name,
                    format=form.cleaned_data["format"] or None,
                    acting_user=request.user,
                )
            except ApplicationError as exc:
                self.message_user(request, f"Refused: {exc.message}", messages.ERROR)
            else:
                self.message_user(
                    request,
                    f"{statement.statement_ref}: {statement.line_count} lines, "
                    f"{statement.auto_match_rate:.1%} matched automatically, "
                    f"{statement.breaks.count()} break(s).",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    reverse("admin:settlement_bankstatement_change", args=[statement.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "title": "Import a bank statement",
            "form": form,
            "opts": self.opts,
        }
        return TemplateResponse(request, "admin/settlement/bankstatement/import.html", context)

    @admin.display(description="auto-matched")
    def auto_match_display(self, statement):
        return f"{statement.auto_match_rate:.1%}"

    @admin.display(description="open breaks")
    def open_breaks(self, statement):
        return statement.breaks.exclude(status=Break.Status.RESOLVED).count()

    @admin.display(description="lines")
    def lines_link(self, statement):
        unmatched = statement.line_count - statement.matched_count
        text = f"all {statement.line_count:,} lines ({unmatched:,} not matched automatically)"
        return changelist_link(StatementLine, text, statement__id__exact=statement.pk)

    @admin.display(description="breaks")
    def breaks_link(self, statement):
        text = f"{self.open_breaks(statement):,} open breaks"
        return changelist_link(
            Break, text, statement__id__exact=statement.pk, status__exact=Break.Status.OPEN
        )

    @admin.display(description="opening balance")
    def opening_display(self, statement):
        return format_grouped(statement.opening_balance, scale=statement.account.asset.scale)

    @admin.display(description="closing balance")
    def closing_display(self, statement):
        return format_grouped(statement.closing_balance, scale=statement.account.asset.scale)


@admin.register(StatementLine)
class StatementLineAdmin(ReadOnlyLedgerAdmin):
    list_display = ("statement", "line_no", "value_date", "amount_display", "reference", "match")
    list_filter = (("match", admin.EmptyFieldListFilter), "statement")
    search_fields = ("=reference",)
    list_select_related = ("statement__account__asset", "match")
    fields = (
        "statement",
        ("line_no", "value_date"),
        "amount_display",
        ("reference", "description"),
        "match",
    )

    @admin.display(description="amount", ordering="amount")
    def amount_display(self, line):
        return format_grouped(line.amount, scale=_scale(line))


@admin.register(StatementMatch)
class StatementMatchAdmin(ReadOnlyLedgerAdmin):
    list_display = ("id", "statement", "kind", "difference_display", "created_at", "created_by")
    list_filter = ("kind",)
    list_select_related = ("statement__account__asset", "created_by")
    fields = ("statement", "kind", "difference_display", "created_at", "created_by")

    @admin.display(description="difference (lines minus transfers)", ordering="difference")
    def difference_display(self, match):
        return format_grouped(match.difference, scale=_scale(match))


@admin.register(Break)
class BreakAdmin(ReadOnlyLedgerAdmin):
    list_display = (
        "value_date",
        "age_days",
        "kind",
        "amount_display",
        "status",
        "statement",
        "line_display",
        "transfer",
        "adjustment",
    )
    list_filter = ("status", "kind", "statement")
    list_select_related = (
        "statement__account__asset",
        "line",
        "transfer__asset",
        "adjustment",
    )
    ordering = ("status", "value_date")
    actions = ["match_by_hand", "propose_adjustment"]
    action_form = ReasonActionForm
    fields = (
        ("kind", "status"),
        "statement",
        ("value_date", "age_days"),
        "amount_display",
        "line_display",
        "transfer",
        "adjustment",
        ("resolution", "resolved_at", "resolved_by"),
    )

    @admin.display(description="amount", ordering="amount")
    def amount_display(self, brk):
        return format_grouped(brk.amount, scale=_scale(brk))

    @admin.display(description="line")
    def line_display(self, brk):
        return _line_text(brk.line) if brk.line_id else "-"

    @admin.display(description="age (days)")
    def age_days(self, brk):
        return (business_date_of(timezone.now()) - brk.value_date).days

    def label(self, brk) -> str:
        return f"{brk.get_kind_display()}: {self.amount_display(brk)} on {brk.value_date}"

    def changelist_view(self, request, extra_context=None):
        breaks_adjustments_sync()  # an approved correcting adjustment resolves its break
        return super().changelist_view(request, extra_context)

    def has_resolve_permission(self, request):
        return self.has_right(request, "resolve")

    @admin.action(
        description="Match the selected breaks together (one bank-only, its ledger-only ones)",
        permissions=["resolve"],
    )
    def match_by_hand(self, request, queryset):
        breaks = list(queryset)
        page = confirmation_page(
            self,
            request,
            breaks,
            action="match_by_hand",
            question="Match this bank line with these ledger transfers? Any difference is "
            "recorded on the match.",
            button="Yes, match them",
            label=self.label,
        )
        if page is not None:
            return page
        try:
            match = breaks_match_by_hand(
                breaks=breaks, acting_user=request.user, reason=request.POST["reason"]
            )
        except ApplicationError as exc:
            self.message_user(request, exc.message, messages.ERROR)
        else:
            self.message_user(request, f"Matched by hand: {match}.", messages.SUCCESS)
        return None

    @admin.action(
        description="Propose a correcting adjustment (four-eyes) for the selected bank-only breaks",
        permissions=["resolve"],
    )
    def propose_adjustment(self, request, queryset):
        breaks = list(queryset)
        page = confirmation_page(
            self,
            request,
            breaks,
            action="propose_adjustment",
            question="Propose postings that make the ledger agree with the bank (house bank "
            "account against suspense)? A second staff member approves each.",
            button="Yes, propose",
            label=self.label,
        )
        if page is not None:
            return page
        reason = request.POST["reason"]
        run_each(
            self,
            request,
            breaks,
            lambda brk: break_adjustment_propose(brk=brk, acting_user=request.user, reason=reason),
            done="Adjustments proposed (awaiting approval)",
        )
        return None
