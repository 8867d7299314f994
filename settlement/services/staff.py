"""Staff's console actions on a batch: close it now, clear, settle, retry. Each is audited
with its reason and runs the same step as the jobs: the close here, the others through the
step task (on a worker in production, at once in the embedded default)."""

from django.db import transaction

from core.jobs import job_task_call
from core.services import audit_record
from settlement import tasks
from settlement.errors import BatchStateConflict
from settlement.models import SettlementBatch, StepRun
from settlement.services.runs import batch_next_step, batch_retry_step
from settlement.services.windows import batch_close

S = SettlementBatch.State
# What each action needs the batch to be, and the step it runs.
ACTIONS = {
    "clear": (S.CLOSED, StepRun.Step.CLEAR),
    "settle": (S.CLEARED, StepRun.Step.SETTLE),
    "retry": (S.FAILED, None),
}


def batch_console_run(*, batch: SettlementBatch, action: str, acting_user, reason: str) -> None:
    batch.refresh_from_db()
    with transaction.atomic():
        audit_record(
            actor=acting_user,
            action=f"settlement.batch_{action}_requested",
            target=batch,
            after={"reason": reason, "state": batch.state},
        )
    if action == "close":
        if batch.state != S.OPEN:
            raise BatchStateConflict("Only the open batch closes.")
        batch = batch_close(
            batch=batch, via="console:close", acting_user=acting_user, reason=reason
        )
        step = batch_next_step(batch)
    else:
        needed, step = ACTIONS[action]
        if batch.state != needed:
            raise BatchStateConflict(
                f"Only a {needed} batch can {action}; this one is {batch.state}."
            )
        step = step or batch_retry_step(batch)
    job_task_call(tasks.settlement_batch_step, args=(str(batch.pk), step, acting_user.pk))
