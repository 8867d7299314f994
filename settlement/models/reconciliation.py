"""Bank statements of the house bank account, their lines, the matches to ledger transfers,
and the breaks left for staff (settlement.reconciliation)."""

from django.db import models
from django.db.models import Q

from core.model_fields import staff_user_field


class BankStatement(models.Model):
    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        CAMT053 = "camt053", "ISO 20022 camt.053"
        MT940 = "mt940", "SWIFT MT940"

    account = models.ForeignKey(
        "ledger.Account", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    format = models.CharField(max_length=8, choices=Format.choices)
    statement_ref = models.CharField(max_length=64, help_text="The bank's statement id.")
    digest = models.CharField(max_length=64, unique=True, help_text="sha256 of the file.")
    opening_balance = models.BigIntegerField()
    closing_balance = models.BigIntegerField()
    period_start = models.DateField()
    period_end = models.DateField()
    line_count = models.PositiveIntegerField(default=0)
    matched_count = models.PositiveIntegerField(default=0)
    imported_at = models.DateTimeField()
    imported_by = staff_user_field()

    class Meta:
        ordering = ["-imported_at"]
        permissions = [("import_bankstatement", "Can import bank statements")]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "statement_ref"], name="settlement_statement_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.statement_ref} ({self.period_start}..{self.period_end})"

    @property
    def auto_match_rate(self) -> float:
        return self.matched_count / self.line_count if self.line_count else 1.0


class StatementMatch(models.Model):
    """Lines and ledger transfers that explain each other (1:1, 1:N, N:1, or by hand)."""

    class Kind(models.TextChoices):
        EXACT = "exact", "1:1 exact"
        TOLERANCE = "tolerance", "1:1 within tolerance"
        ONE_TO_MANY = "one_to_many", "1 line : N transfers"
        MANY_TO_ONE = "many_to_one", "N lines : 1 transfer"
        MANUAL = "manual", "By hand"

    # No index of its own: the unique (statement, anchor) serves lookups by statement.
    statement = models.ForeignKey(
        BankStatement, on_delete=models.PROTECT, related_name="matches", db_index=False
    )
    kind = models.CharField(max_length=12, choices=Kind.choices)
    # What the set-based passes key a match on: "l<line id>" (1:1, 1:N) or "t<transfer id>"
    # (N:1); a match made by hand has "m<uuid>".
    anchor = models.CharField(max_length=64)
    difference = models.BigIntegerField(default=0, help_text="Lines minus transfers.")
    created_at = models.DateTimeField()
    created_by = staff_user_field()

    class Meta:
        verbose_name_plural = "statement matches"
        constraints = [
            models.UniqueConstraint(fields=["statement", "anchor"], name="settlement_match_anchor")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"


class StatementLine(models.Model):
    # No index of its own: the unique (statement, line_no) serves lookups by statement.
    statement = models.ForeignKey(
        BankStatement, on_delete=models.PROTECT, related_name="lines", db_index=False
    )
    line_no = models.PositiveIntegerField()
    value_date = models.DateField()
    amount = models.BigIntegerField(help_text="Signed: positive is money into the account.")
    reference = models.CharField(max_length=255, blank=True)
    description = models.CharField(max_length=255, blank=True)
    match = models.ForeignKey(
        StatementMatch, on_delete=models.PROTECT, null=True, blank=True, related_name="lines"
    )

    class Meta:
        ordering = ["statement", "line_no"]
        constraints = [
            models.UniqueConstraint(fields=["statement", "line_no"], name="settlement_line_unique")
        ]
        indexes = [
            models.Index(
                fields=["statement"], condition=Q(match__isnull=True), name="settlement_line_open"
            )
        ]

    def __str__(self) -> str:  # no amount: it takes the currency's decimals (the admin's)
        return f"line {self.line_no} {self.value_date} {self.reference}".rstrip()


class MatchedTransfer(models.Model):
    """A ledger transfer explained by a match: each transfer at most once, ever."""

    match = models.ForeignKey(StatementMatch, on_delete=models.PROTECT, related_name="transfers")
    transfer = models.OneToOneField("ledger.Transfer", on_delete=models.PROTECT, related_name="+")

    def __str__(self) -> str:
        return f"transfer {self.transfer_id}"


class Break(models.Model):
    """What reconciliation could not explain: a line with no transfer (bank only) or a
    transfer with no line (ledger only), until staff resolve it."""

    class Kind(models.TextChoices):
        BANK_ONLY = "bank_only", "At the bank, not in the ledger"
        LEDGER_ONLY = "ledger_only", "In the ledger, not at the bank"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ADJUSTING = "adjusting", "Adjustment proposed"
        RESOLVED = "resolved", "Resolved"

    statement = models.ForeignKey(BankStatement, on_delete=models.PROTECT, related_name="breaks")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    line = models.OneToOneField(
        StatementLine, on_delete=models.PROTECT, null=True, blank=True, related_name="line_break"
    )
    transfer = models.ForeignKey(
        "ledger.Transfer", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    amount = models.BigIntegerField(help_text="Signed, as the bank account sees it.")
    value_date = models.DateField()
    adjustment = models.ForeignKey(
        "ledger.Adjustment", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolution = models.CharField(max_length=255, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = staff_user_field()

    class Meta:
        permissions = [("resolve_break", "Can resolve reconciliation breaks")]
        indexes = [
            models.Index(fields=["status", "value_date"], name="settlement_break_open"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.value_date}"
