import uuid

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q


class Partner(models.Model):
    """An organisation that integrates over the partner API (a client, a payment partner)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    slug = models.SlugField(max_length=64, unique=True, help_text="Short stable name, e.g. alpha.")
    name = models.CharField(max_length=200)
    is_active = models.BooleanField(default=True, help_text="Inactive partners cannot log in.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self):
        return self.slug


class User(AbstractUser):
    """A person or system that logs in: staff (admin) or a partner's API user, never both."""

    partner = models.ForeignKey(
        Partner, on_delete=models.PROTECT, null=True, blank=True, related_name="users"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(partner__isnull=True) | Q(is_staff=False, is_superuser=False),
                name="partner_user_is_never_staff",
            )
        ]
        # Rights beyond view/add/change/delete, granted per group in core.staff_groups.
        permissions = [("revoke_sessions_user", "Can revoke a user's API sessions")]

    @property
    def is_partner_user(self) -> bool:
        return self.partner_id is not None


class AuditEvent(models.Model):
    """Who changed what, when, with the state before and after. Append-only."""

    id = models.BigAutoField(primary_key=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=100, db_index=True)
    target_type = models.CharField(max_length=100)
    target_id = models.CharField(max_length=64)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    trace_id = models.CharField(max_length=128, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self):
        return f"{self.action} {self.target_type}:{self.target_id}"


class IdempotentRequest(models.Model):
    """An Idempotency-Key a partner sent, with the request's hash and the stored response."""

    class State(models.TextChoices):
        IN_PROGRESS = "in_progress"
        COMPLETED = "completed"

    id = models.BigAutoField(primary_key=True)
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    state = models.CharField(max_length=16, choices=State.choices, default=State.IN_PROGRESS)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["partner", "key"], name="idempotency_key_per_partner")
        ]

    def __str__(self):
        return f"{self.partner_id}:{self.key}"


class JobRun(models.Model):
    """One run of a scheduled job (by the schedule or staff's "run now"), with its result."""

    class Outcome(models.TextChoices):
        RUNNING = "running"
        OK = "ok"
        FAILED = "failed"

    id = models.BigAutoField(primary_key=True)
    job = models.CharField(max_length=200, help_text="The Celery task's name.")
    task_id = models.CharField(max_length=64, blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=8, choices=Outcome.choices, default=Outcome.RUNNING)
    result = models.TextField(blank=True, help_text="What the task returned, or its error.")
    trace_id = models.CharField(max_length=128, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["job", "-started_at"], name="jobrun_latest_per_job")]
        permissions = [("run_jobrun", "Can run a scheduled job now")]
        verbose_name = "scheduled job run"
        verbose_name_plural = "scheduled jobs"  # the page lists the jobs, then their runs

    def __str__(self):
        return f"{self.job} {self.outcome} {self.started_at:%Y-%m-%d %H:%M:%S}"
