import uuid

from django.db import models
from django.db.models import Q

from core.model_fields import staff_user_field
from risk.models.choices import Outcome, Subject


class Decision(models.Model):
    """One evaluation: what risk said about an order or a transfer, and why."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    subject = models.CharField(max_length=16, choices=Subject.choices)
    subject_id = models.UUIDField(help_text="The order's or the transfer's id.")
    partner = models.ForeignKey(
        "core.Partner", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    score = models.IntegerField(default=0)
    hits = models.JSONField(default=list, blank=True, help_text="Rules and controls that hit.")
    facts = models.JSONField(default=dict, blank=True)
    version = models.ForeignKey(
        "RuleSetVersion", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    version_number = models.PositiveIntegerField(null=True, blank=True)
    latency_us = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["subject", "created_at"], name="decision_subject_recent"),
            models.Index(fields=["subject_id"], name="decision_subject_id"),
        ]

    def __str__(self) -> str:
        return f"{self.subject} {self.subject_id}: {self.outcome}"

    @property
    def reasons(self) -> list[str]:
        return [hit["reason"] for hit in self.hits if hit.get("outcome") != Outcome.ALLOW]


class ReviewCase(models.Model):
    """A held order or transfer waiting for a person (the risk review queue)."""

    class State(models.TextChoices):
        OPEN = "open"
        CLAIMED = "claimed"
        APPROVED = "approved"
        REJECTED = "rejected"
        WITHDRAWN = "withdrawn"  # the order was cancelled while held

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    decision = models.OneToOneField(Decision, on_delete=models.PROTECT, related_name="case")
    subject = models.CharField(max_length=16, choices=Subject.choices)
    subject_id = models.UUIDField(unique=True)
    partner = models.ForeignKey(
        "core.Partner", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.OPEN)
    claimed_by = staff_user_field(db_index=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    decided_by = staff_user_field(db_index=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=255, blank=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        permissions = [("work_reviewcase", "Can claim, approve and reject held items")]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=Q(state__in=["open", "claimed"]),
                name="review_case_waiting",
            )
        ]

    def __str__(self) -> str:
        return f"{self.subject} {self.subject_id} ({self.state})"

    @property
    def waiting(self) -> bool:
        return self.state in (self.State.OPEN, self.State.CLAIMED)
