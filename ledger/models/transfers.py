"""Transfers (immutable; two-phase holds resolved once) and the per-account entries that
answer a balance at any past instant and carry the hash chain."""

import uuid

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from core.model_fields import staff_user_field
from core.money import format_grouped
from ledger.models.accounts import Account, Asset


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
    batch_id = models.UUIDField(
        null=True,
        blank=True,
        help_text="Linked transfers share it (the caller's batch id, when it chose one).",
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(db_index=True)
    created_by = staff_user_field()
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
            models.Index(  # a caller's batch (a settlement batch) listed from the ledger
                fields=["batch_id"], condition=Q(batch_id__isnull=False), name="transfer_batch"
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
        (the job then writes its expire_pending transfer, exactly once); a hold risk placed
        for review reads held, and rejected once risk voided it."""
        if self.origin == self.Origin.RISK and self.kind == self.Kind.PENDING:
            return {
                self.Status.PENDING: self.Status.HELD,
                self.Status.VOIDED: self.Status.REJECTED,
            }.get(self.status, self.status)
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
