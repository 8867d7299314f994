"""Assets and the ledger's accounts, after TigerBeetle: each account carries its running
totals, integers in the asset's minor units. Partner accounts are liabilities of the firm
(credit-normal): their balance is credits minus debits."""

import uuid

from django.db import models
from django.db.models import F, Q

from core.models import Partner


class Asset(models.Model):
    """A currency (ISO 4217, scale = its exponent) or an instrument's unit."""

    code = models.CharField(primary_key=True, max_length=16)
    name = models.CharField(max_length=100)
    scale = models.PositiveSmallIntegerField(help_text="Decimal places of one minor unit.")
    is_currency = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return self.code


class Account(models.Model):
    class Kind(models.TextChoices):
        ASSET = "asset"
        LIABILITY = "liability"
        EQUITY = "equity"
        INCOME = "income"
        EXPENSE = "expense"

    class Status(models.TextChoices):
        OPEN = "open"
        FROZEN = "frozen"
        CLOSED = "closed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    partner = models.ForeignKey(
        Partner,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="accounts",
        help_text="Owner; empty for the firm's own (house) accounts.",
    )
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="accounts")
    code = models.CharField(max_length=64, default="main", help_text="Label, unique per owner.")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.LIABILITY)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    debits_must_not_exceed_credits = models.BooleanField(default=False)
    credits_must_not_exceed_debits = models.BooleanField(default=False)
    debits_pending = models.BigIntegerField(default=0)
    debits_posted = models.BigIntegerField(default=0)
    credits_pending = models.BigIntegerField(default=0)
    credits_posted = models.BigIntegerField(default=0)
    # Hash of this account's latest entry: the head of its chain (see ledger.chain).
    chain_head = models.CharField(max_length=64, default="", editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "asset", "code"],
                name="account_code_unique_per_owner",
                nulls_distinct=False,
            ),
            # The target of the transfers' (account, asset) foreign keys: see migration 0004.
            models.UniqueConstraint(fields=["id", "asset"], name="account_id_asset_unique"),
            models.CheckConstraint(
                condition=Q(debits_pending__gte=0, debits_posted__gte=0)
                & Q(credits_pending__gte=0, credits_posted__gte=0),
                name="account_totals_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(debits_must_not_exceed_credits=False)
                | Q(credits_must_not_exceed_debits=False),
                name="account_at_most_one_balance_limit",
            ),
            # The balance limits, enforced by the database as a last line of defence.
            models.CheckConstraint(
                condition=Q(debits_must_not_exceed_credits=False)
                | Q(debits_posted__lte=F("credits_posted") - F("debits_pending")),
                name="account_debits_within_credits",
            ),
            models.CheckConstraint(
                condition=Q(credits_must_not_exceed_debits=False)
                | Q(credits_posted__lte=F("debits_posted") - F("credits_pending")),
                name="account_credits_within_debits",
            ),
        ]
        indexes = [models.Index(fields=["partner", "asset"])]
        permissions = [
            ("freeze_account", "Can freeze and unfreeze accounts"),
            ("close_account", "Can close accounts"),
        ]

    def __str__(self):
        owner = self.partner.slug if self.partner_id else "house"
        return f"{owner}/{self.asset_id}/{self.code}"

    @property
    def credit_normal(self) -> bool:
        return self.kind in (self.Kind.LIABILITY, self.Kind.EQUITY, self.Kind.INCOME)

    @property
    def posted_balance(self) -> int:
        net = self.credits_posted - self.debits_posted
        return net if self.credit_normal else -net

    # Holds past their timeout that the expiry job has not resolved yet: they hold nothing
    # any more. ledger.selectors annotates them (accounts_with_lapsed_holds); zero otherwise.
    lapsed_debits_pending = 0
    lapsed_credits_pending = 0

    @property
    def pending_balance(self) -> int:
        """What live pending transfers would add (negative: reserved outflows)."""
        net = (self.credits_pending - self.lapsed_credits_pending) - (
            self.debits_pending - self.lapsed_debits_pending
        )
        return net if self.credit_normal else -net

    @property
    def available_balance(self) -> int:
        """Posted, less what live pending transfers hold; incoming pending money is not yet
        available."""
        if self.credit_normal:
            held = self.debits_pending - self.lapsed_debits_pending
            return self.credits_posted - self.debits_posted - held
        held = self.credits_pending - self.lapsed_credits_pending
        return self.debits_posted - self.credits_posted - held
