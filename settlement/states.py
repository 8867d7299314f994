"""The batch state machine: ONE table of allowed transitions and one function that moves a
batch, writing its append-only event row in the same transaction (who, what, when)."""

from django.utils import timezone

from settlement.errors import BatchStateConflict
from settlement.models import BatchEvent, SettlementBatch

S = SettlementBatch.State

# (from, to) -> the timestamp field it sets (None: none). Anything else is refused.
TRANSITIONS: dict[tuple[str, str], str | None] = {
    (S.OPEN, S.CLOSED): "closed_at",
    (S.CLOSED, S.CLEARED): "cleared_at",
    (S.CLOSED, S.FAILED): None,  # clearing did not balance
    (S.CLEARED, S.SETTLED): "settled_at",
    (S.CLEARED, S.FAILED): None,  # an obligation could not post
    (S.FAILED, S.CLOSED): None,  # retry clearing
    (S.FAILED, S.CLEARED): None,  # retry settlement
}


def batch_state_set(
    batch: SettlementBatch,
    *,
    to: str,
    via: str,
    acting_user=None,
    reason: str = "",
    details: dict | None = None,
    failed_step: str = "",
    now=None,
) -> BatchEvent:
    """Move `batch` (locked by the caller) to `to`, or raise BatchStateConflict. Failing
    names the step that failed (`failed_step`), which a retry goes back to."""
    stamp = TRANSITIONS.get((batch.state, to), False)
    if stamp is False:
        raise BatchStateConflict(
            f"A {batch.state} batch cannot become {to}.",
            details={"state": batch.state, "to": to},
        )
    now = now or timezone.now()
    event = BatchEvent.objects.create(
        batch=batch,
        from_state=batch.state,
        to_state=to,
        actor=acting_user if getattr(acting_user, "pk", None) else None,
        via=via,
        reason=reason,
        details=details or {},
        created_at=now,
    )
    fields = ["state"]
    batch.state = to
    if stamp:
        setattr(batch, stamp, now)
        fields.append(stamp)
    if to == S.FAILED:
        batch.failure, batch.failed_step = reason, failed_step
        fields += ["failure", "failed_step"]
    elif batch.failure:
        batch.failure, batch.failed_step = "", ""
        fields += ["failure", "failed_step"]
    batch.save(update_fields=fields)
    return event
