"""Bank statements (with their auto-match rate), their lines, the matches and the breaks."""

from django.contrib import admin

from core.money import format_grouped
from ledger.admin.base import ReadOnlyLedgerAdmin
from settlement.models import BankStatement, Break, StatementLine, StatementMatch


def _scale(obj) -> int:
    return obj.statement.account.asset.scale


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
        ("imported_at", "imported_by"),
        "digest",
    )

    @admin.display(description="auto-matched")
    def auto_match_display(self, statement):
        return f"{statement.auto_match_rate:.1%}"

    @admin.display(description="open breaks")
    def open_breaks(self, statement):
        return statement.breaks.exclude(status=Break.Status.RESOLVED).count()

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
    list_display = ("id", "statement", "kind", "difference", "created_at", "created_by")
    list_filter = ("kind",)
    fields = ("statement", "kind", "difference", "created_at", "created_by")


@admin.register(Break)
class BreakAdmin(ReadOnlyLedgerAdmin):
    list_display = (
        "value_date",
        "age_days",
        "kind",
        "amount_display",
        "status",
        "statement",
        "line",
        "transfer",
        "adjustment",
    )
    list_filter = ("status", "kind", "statement")
    list_select_related = ("statement__account__asset", "line", "transfer", "adjustment")
    ordering = ("status", "value_date")
    fields = (
        ("kind", "status"),
        "statement",
        ("value_date", "age_days"),
        "amount_display",
        "line",
        "transfer",
        "adjustment",
        ("resolution", "resolved_at", "resolved_by"),
    )

    @admin.display(description="amount", ordering="amount")
    def amount_display(self, brk):
        return format_grouped(brk.amount, scale=_scale(brk))

    @admin.display(description="age (days)")
    def age_days(self, brk):
        from django.utils import timezone

        from settlement.services.windows import business_date_of

        return (business_date_of(timezone.now()) - brk.value_date).days
