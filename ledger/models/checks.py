"""Runs of the ledger's checks (ledger.integrity)."""

from django.db import models

from core.model_fields import staff_user_field


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
    acknowledged_by = staff_user_field(db_index=True)

    class Meta:
        ordering = ["-started_at"]
        get_latest_by = "started_at"
        permissions = [("acknowledge_ledgercheckrun", "Can acknowledge a failed check run")]

    def __str__(self):
        return f"{self.kind} {'ok' if self.ok else 'VIOLATIONS'} {self.started_at:%Y-%m-%d %H:%M}"
