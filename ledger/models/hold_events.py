"""The outbox of hold changes (ledger.hooks)."""

from django.db import models
from django.db.models import Q

from ledger.models.transfers import Transfer


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
