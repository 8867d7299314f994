"""Settlement's Celery tasks: thin wrappers over settlement.services.runs. Each is safe to
run twice (the steps re-read state under locks), acknowledged only when done (acks_late: a
worker that dies mid-step leaves the message to be delivered again), time-limited, and
enqueues the next step when its transaction has committed."""

from celery import shared_task
from django.db import transaction

from core.models import User
from settlement.models import SettlementBatch
from settlement.reconciliation.breaks import breaks_adjustments_sync
from settlement.services.posting import BatchBusy
from settlement.services.runs import batch_next_step, batch_step_run, batches_to_advance
from settlement.services.windows import batch_close_due

TASK_OPTIONS = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "soft_time_limit": 50 * 60,
    "time_limit": 55 * 60,  # below the broker's visibility timeout (1 h)
}
VIA = "celery"


@shared_task(**TASK_OPTIONS)
def settlement_close_due() -> str:
    """Close the open batch once its cutoff has passed, then start its chain."""
    closed = batch_close_due(via=f"{VIA}:close")
    if closed is None:
        return "nothing due"
    _enqueue_next(closed)
    return f"closed {closed}"


@shared_task(**TASK_OPTIONS)
def settlement_batch_step(batch_id: str, step: str, acting_user_id: int | None = None) -> str:
    """One step of a batch (from the chain, or staff's console action: `acting_user_id`)."""
    batch = SettlementBatch.objects.get(pk=batch_id)
    acting_user = User.objects.filter(pk=acting_user_id).first() if acting_user_id else None
    via = f"{VIA}:{step}" if acting_user is None else f"console:{step}"
    try:
        batch = batch_step_run(batch=batch, step=step, via=via, acting_user=acting_user)
    except BatchBusy:
        return "busy: another worker runs this step"
    _enqueue_next(batch)
    return f"{step}: {batch.state}"


@shared_task(**TASK_OPTIONS)
def settlement_batches_advance() -> int:
    """The sweep behind the chain: a step whose message was lost (or whose worker died with
    the broker holding it) is started again within the schedule's period."""
    due = batches_to_advance()
    for batch in due:
        _enqueue_next(batch)
    breaks_adjustments_sync()
    return len(due)


def _enqueue_next(batch: SettlementBatch) -> None:
    step = batch_next_step(batch)
    if step is not None:
        transaction.on_commit(lambda: settlement_batch_step.delay(str(batch.pk), step))
