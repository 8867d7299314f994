"""Settlement batches (windows), their append-only events, their job-step runs, and what
clearing derives from their trades: obligations and hold releases.

State changes go through settlement.states.batch_state_set (one transitions table)."""

import uuid

from django.db import models
from django.db.models import Q

from core.model_fields import staff_user_field


class SettlementBatch(models.Model):
    class State(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"
        CLEARED = "cleared", "Cleared"
        SETTLED = "settled", "Settled"
        FAILED = "failed", "Failed (retryable)"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    business_date = models.DateField(help_text="In BUSINESS_TIME_ZONE.")
    cycle = models.PositiveSmallIntegerField(default=1, help_text="The day's n-th batch.")
    state = models.CharField(max_length=8, choices=State.choices, default=State.OPEN)
    cutoff = models.DateTimeField(help_text="When the scheduled close takes it.")
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    cleared_at = models.DateTimeField(null=True, blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)
    trade_count = models.BigIntegerField(default=0, help_text="Counted at clearing.")
    failed_step = models.CharField(max_length=16, blank=True, help_text="Where it failed.")
    failure = models.TextField(blank=True)

    class Meta:
        verbose_name_plural = "settlement batches"
        ordering = ["-business_date", "-cycle"]
        permissions = [("run_settlementbatch", "Can close, clear, settle and retry batches")]
        constraints = [
            models.UniqueConstraint(
                fields=["business_date", "cycle"], name="settlement_batch_cycle_unique"
            ),
            # One open batch at a time: where every new trade goes.
            models.UniqueConstraint(
                fields=["state"], condition=Q(state="open"), name="settlement_one_open_batch"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.business_date} #{self.cycle} ({self.state})"


class BatchEvent(models.Model):
    """One state change of a batch: who (a user or a job), what, when. Never changed."""

    batch = models.ForeignKey(SettlementBatch, on_delete=models.PROTECT, related_name="events")
    from_state = models.CharField(max_length=8, blank=True)
    to_state = models.CharField(max_length=8)
    actor = staff_user_field()
    via = models.CharField(max_length=64, help_text="The job, command or console action.")
    reason = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["batch", "id"]

    def __str__(self) -> str:
        return f"{self.from_state or '-'} -> {self.to_state}"


class StepRun(models.Model):
    """One row per batch and step (close, clear, settle, reconcile): how often it was tried,
    and whether it finished. The step's own writes commit with its `done` mark."""

    class Step(models.TextChoices):
        CLOSE = "close", "Close"
        CLEAR = "clear", "Clear"
        SETTLE = "settle", "Settle"
        RECONCILE = "reconcile", "Reconcile"

    class Outcome(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    batch = models.ForeignKey(SettlementBatch, on_delete=models.PROTECT, related_name="steps")
    step = models.CharField(max_length=16, choices=Step.choices)
    outcome = models.CharField(max_length=8, choices=Outcome.choices, default=Outcome.RUNNING)
    attempts = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["batch", "step"], name="settlement_step_once")
        ]

    def __str__(self) -> str:
        return f"{self.step}: {self.outcome}"


class Obligation(models.Model):
    """A partner's net in one asset for one batch (positive: it receives), minor units."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        POSTED = "posted", "Posted"
        FAILED = "failed", "Failed"

    batch = models.ForeignKey(SettlementBatch, on_delete=models.PROTECT, related_name="obligations")
    partner = models.ForeignKey(
        "core.Partner", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    asset = models.ForeignKey(
        "ledger.Asset", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    net_amount = models.BigIntegerField()
    paid_gross = models.BigIntegerField(help_text="What its fills gave up, before netting.")
    received_gross = models.BigIntegerField(help_text="What its fills bought, before netting.")
    legs = models.BigIntegerField(help_text="Trade legs netted into it.")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    transfer_id = models.UUIDField(null=True, blank=True, help_text="The ledger transfer.")
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)
    posted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["batch", "partner", "asset"]
        constraints = [
            models.UniqueConstraint(
                fields=["batch", "partner", "asset"], name="settlement_obligation_unique"
            )
        ]
        indexes = [
            models.Index(
                fields=["batch", "partner"],
                condition=~Q(status="posted"),
                name="settlement_obligation_open",
            )
        ]

    def __str__(self) -> str:
        return f"{self.partner_id} {self.asset_id} {self.net_amount:+d}"


class HoldRelease(models.Model):
    """What one order's fills in a batch consumed of its hold: released when its
    partner's obligations post (a partly filled open order keeps the rest held)."""

    batch = models.ForeignKey(SettlementBatch, on_delete=models.PROTECT, related_name="releases")
    order = models.ForeignKey(
        "trading.Order", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    partner = models.ForeignKey(
        "core.Partner", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    asset = models.ForeignKey(
        "ledger.Asset", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    amount = models.BigIntegerField()
    released = models.BooleanField(default=False)
    resolution_id = models.UUIDField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["batch", "order"], name="settlement_release_unique")
        ]
        indexes = [models.Index(fields=["batch", "partner"], name="settlement_release_partner")]

    def __str__(self) -> str:
        return f"order {self.order_id}: {self.amount} {self.asset_id}"
