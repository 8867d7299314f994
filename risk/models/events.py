from django.db import models
from django.db.models import Q

from core.model_fields import staff_user_field


class RiskEvent(models.Model):
    """Something post-trade scoring found (e.g. a partner's daily volume over its limit):
    staff acknowledge it."""

    kind = models.SlugField(max_length=64)
    partner = models.ForeignKey(
        "core.Partner", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    subject = models.CharField(max_length=16, help_text="trade or transfer")
    subject_id = models.UUIDField()
    score = models.IntegerField(default=0)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    acknowledged_by = staff_user_field(db_index=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [("acknowledge_riskevent", "Can acknowledge risk events")]
        constraints = [
            # A task retried on the same trade or transfer writes its event once.
            models.UniqueConstraint(
                fields=["kind", "subject", "subject_id"], name="risk_event_once_per_subject"
            )
        ]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=Q(acknowledged_at__isnull=True),
                name="risk_event_unacknowledged",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.subject} {self.subject_id}"


class Backtest(models.Model):
    """A draft version run over the stored facts of the last `days` of decisions."""

    class State(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    version = models.ForeignKey(
        "RuleSetVersion", on_delete=models.CASCADE, related_name="backtests"
    )
    days = models.PositiveIntegerField(default=7)
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    requested_by = staff_user_field(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"backtest of {self.version} over {self.days} d ({self.state})"

    @property
    def progress_percent(self) -> int:
        return 100 if not self.total else int(100 * self.done / self.total)
