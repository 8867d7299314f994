"""Manual adjustments under four-eyes control (ledger.adjustments)."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from core.model_fields import staff_user_field
from core.money import format_grouped
from ledger.models.accounts import Account
from ledger.models.transfers import Transfer


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
    decided_by = staff_user_field(db_index=True)
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
