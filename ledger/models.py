"""The double-entry ledger, after TigerBeetle: accounts with running totals, immutable
transfers, two-phase (pending) transfers, and per-account entries that answer a balance at
any past instant and carry the hash chain.

Totals are integers in the asset's minor units. Partner accounts are liabilities of the
firm (credit-normal): their balance is credits minus debits.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from core.models import Partner
from core.money import format_grouped


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


class Transfer(models.Model):
    """An immutable movement of `amount` from `debit_account` to `credit_account`.

    Only a pending transfer's `status` moves on, once (posted, voided or expired), when the
    transfer that resolves it is written. Corrections are new transfers, never edits.
    """

    class Kind(models.TextChoices):  # labels: what staff call them
        SINGLE_PHASE = "single_phase", "Transfer"  # posted at once
        PENDING = "pending", "Hold"  # reserves; resolved later by one of the three below
        POST_PENDING = "post_pending", "Hold posted"
        VOID_PENDING = "void_pending", "Hold released (void)"
        EXPIRE_PENDING = "expire_pending", "Hold expired"

    class Status(models.TextChoices):
        POSTED = "posted"
        PENDING = "pending"
        VOIDED = "voided"
        EXPIRED = "expired"
        HELD = "held"
        REJECTED = "rejected"

    class Origin(models.TextChoices):
        """Who asked for the transfer. Only the origin that placed a hold may release it
        (settlement, staff and the system's jobs may release any: ledger.services.holds)."""

        PARTNER_API = "partner_api", "Partner API"
        ORDER = "order"
        RISK = "risk"
        SETTLEMENT = "settlement"
        STAFF = "staff"
        SYSTEM = "system"  # scheduled jobs and scripts (expiry, demo data)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=8, choices=Status.choices)
    # Indexes are the composite ones in Meta: each extra index is a write on every transfer.
    debit_account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    credit_account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="+", db_index=False)
    amount = models.BigIntegerField()
    code = models.CharField(max_length=64, default="transfer", help_text="Why: deposit, fee...")
    reference = models.CharField(max_length=255, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    pending = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        db_index=False,  # the partial unique index below serves lookups (migration 0005)
        related_name="resolutions",
        help_text="The pending transfer this one posts, voids or expires.",
    )
    reverses = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        db_index=False,  # the partial unique index below serves lookups (migration 0005)
        related_name="reversals",
    )
    # A hold made smaller (ledger.services.holds) is voided and its remainder re-held as a
    # new pending transfer naming it here: each hold is replaced at most once.
    replaces = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        db_index=False,  # the partial unique index below serves lookups
        related_name="successors",
        help_text="The hold this pending transfer keeps part of.",
    )
    origin = models.CharField(max_length=16, choices=Origin.choices, default=Origin.SYSTEM)
    origin_ref = models.CharField(
        max_length=64, blank=True, default="", help_text="The origin's own id, e.g. the order's."
    )
    batch_id = models.UUIDField(null=True, blank=True, help_text="Linked transfers share it.")
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    # sha256 over the immutable fields (ledger.chain.transfer_digest); entries chain it.
    digest = models.CharField(max_length=64, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="transfer_amount_positive"),
            models.CheckConstraint(
                condition=~Q(debit_account=F("credit_account")),
                name="transfer_accounts_differ",
            ),
            models.CheckConstraint(
                condition=Q(pending__isnull=True)
                | Q(kind__in=["post_pending", "void_pending", "expire_pending"]),
                name="transfer_only_resolutions_name_a_pending",
            ),
            models.CheckConstraint(
                condition=Q(pending__isnull=False)
                | ~Q(kind__in=["post_pending", "void_pending", "expire_pending"]),
                name="transfer_resolutions_name_a_pending",
            ),
            models.UniqueConstraint(
                fields=["pending"],
                condition=Q(pending__isnull=False),
                name="transfer_pending_resolved_once",
            ),
            models.UniqueConstraint(
                fields=["reverses"],
                condition=Q(reverses__isnull=False),
                name="transfer_reversed_once",
            ),
            models.UniqueConstraint(
                fields=["replaces"],
                condition=Q(replaces__isnull=False),
                name="transfer_hold_replaced_once",
            ),
            models.CheckConstraint(
                condition=Q(replaces__isnull=True) | Q(kind="pending"),
                name="transfer_only_holds_replace",
            ),
        ]
        indexes = [
            models.Index(fields=["debit_account", "created_at"]),
            models.Index(fields=["credit_account", "created_at"]),
            models.Index(
                fields=["expires_at"],
                condition=Q(status="pending", expires_at__isnull=False),
                name="transfer_pending_expiry",
            ),
            models.Index(  # holds by their origin's id (an order's); plain transfers have none
                fields=["origin", "origin_ref"],
                condition=~Q(origin_ref=""),
                name="transfer_origin_ref",
            ),
        ]
        permissions = [("reverse_transfer", "Can propose a transfer's reversal")]

    def __str__(self):
        amount = format_grouped(self.amount, scale=self.asset.scale)
        return f"{self.get_kind_display()} {amount} {self.asset_id} {self.id}"

    @property
    def lapsed(self) -> bool:
        """Pending past its timeout: expired, though the expiry job may not have run yet."""
        return (
            self.status == self.Status.PENDING
            and self.expires_at is not None
            and self.expires_at <= timezone.now()
        )

    @property
    def status_now(self) -> str:
        """The status as readers see it: a lapsed hold reads expired the moment it lapses
        (the job then writes its expire_pending transfer, exactly once)."""
        return self.Status.EXPIRED if self.lapsed else self.status


class Entry(models.Model):
    """One account's side of a transfer, with the account's totals right after it.

    Entries of an account, in id order, form its statement and its hash chain:
    hash = sha256(previous hash, transfer digest, side, totals after).
    """

    class Side(models.TextChoices):
        DEBIT = "D"
        CREDIT = "C"

    id = models.BigAutoField(primary_key=True)
    # Served by the (account, created_at, id) index and the unique (transfer, side).
    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="entries", db_index=False
    )
    transfer = models.ForeignKey(
        Transfer, on_delete=models.PROTECT, related_name="entries", db_index=False
    )
    side = models.CharField(max_length=1, choices=Side.choices)
    created_at = models.DateTimeField()
    debits_pending = models.BigIntegerField()
    debits_posted = models.BigIntegerField()
    credits_pending = models.BigIntegerField()
    credits_posted = models.BigIntegerField()
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["transfer", "side"], name="entry_one_per_side"),
        ]
        indexes = [models.Index(fields=["account", "created_at", "id"])]
        verbose_name_plural = "entries"

    def __str__(self):
        return f"{self.side} {self.account_id} {self.transfer_id}"


class Adjustment(models.Model):
    """A manual posting (bank deposit, correction) under four-eyes control: one staff user
    proposes, a different one approves, and only approval posts the transfer."""

    class State(models.TextChoices):
        PROPOSED = "proposed"
        APPROVED = "approved"
        REJECTED = "rejected"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    debit_account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    credit_account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    amount = models.BigIntegerField()
    code = models.CharField(max_length=64, default="adjustment")
    reason = models.TextField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PROPOSED)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    proposed_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    transfer = models.OneToOneField(
        Transfer, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Set when the proposal is to reverse this posted transfer: approval posts its reversal.
    reverses = models.ForeignKey(
        Transfer, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-proposed_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="adjustment_amount_positive"),
            models.UniqueConstraint(
                fields=["reverses"],
                condition=Q(state="proposed"),
                name="adjustment_one_open_reversal_per_transfer",
            ),
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("proposed_by")),
                name="adjustment_four_eyes",
            ),
        ]
        permissions = [("decide_adjustment", "Can approve or reject another's adjustment")]

    def __str__(self):
        asset = self.debit_account.asset
        amount = format_grouped(self.amount, scale=asset.scale)
        return f"{self.code} {amount} {asset.code} ({self.state})"


class HoldEvent(models.Model):
    """Outbox: one row per change of a hold (posted, voided, expired, shrunk), written in the
    transaction that changed it, so the hold's origin can never miss it (ledger.hooks)."""

    class Change(models.TextChoices):
        POSTED = "posted"  # fully, or partly with the rest kept as `successor`
        VOIDED = "voided"
        EXPIRED = "expired"
        SHRUNK = "shrunk"  # part released, the rest kept as `successor`

    id = models.BigAutoField(primary_key=True)
    origin = models.CharField(max_length=16, choices=Transfer.Origin.choices)
    origin_ref = models.CharField(max_length=64, blank=True)
    change = models.CharField(max_length=8, choices=Change.choices)
    # A hold changes once (it is resolved once), so it has one event: the unique index says so.
    hold = models.ForeignKey(Transfer, on_delete=models.PROTECT, related_name="+", db_index=False)
    resolution = models.ForeignKey(
        Transfer, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    successor = models.ForeignKey(
        Transfer, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    created_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["hold"], name="hold_event_one_per_hold")]
        indexes = [
            models.Index(
                fields=["id"], condition=Q(delivered_at__isnull=True), name="hold_event_undelivered"
            )
        ]

    def __str__(self):
        return f"{self.origin}:{self.origin_ref} {self.change} {self.hold_id}"


class LedgerCheckRun(models.Model):
    """One run of the invariant checker (and chain verifier); violations are alerts."""

    class Kind(models.TextChoices):
        INVARIANTS = "invariants"
        CHAIN = "chain"

    id = models.BigAutoField(primary_key=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    ok = models.BooleanField()
    violations = models.JSONField(default=list, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-started_at"]
        get_latest_by = "started_at"
        permissions = [("acknowledge_ledgercheckrun", "Can acknowledge a failed check run")]

    def __str__(self):
        return f"{self.kind} {'ok' if self.ok else 'VIOLATIONS'} {self.started_at:%Y-%m-%d %H:%M}"
