"""The close -> clear -> settle -> reconcile chain, one step at a time, each recorded in
its StepRun row (one per batch and step: attempts, outcome, error). Every step is safe to
run again: it re-reads the batch's state under a lock and does only what is left."""

import structlog
from django.db import transaction
from django.utils import timezone

from settlement.models import SettlementBatch, StepRun
from settlement.services.clearing import batch_clear
from settlement.services.posting import batch_settle
from settlement.services.reconcile_batch import batch_reconcile

logger = structlog.get_logger(__name__)
S = SettlementBatch.State
Step = StepRun.Step

# The state a batch leaves each step in when the step did its work.
STEP_DONE_STATE = {Step.CLEAR: S.CLEARED, Step.SETTLE: S.SETTLED, Step.RECONCILE: S.SETTLED}


def _run_started(batch, step) -> StepRun:
    with transaction.atomic():
        run, _ = StepRun.objects.get_or_create(
            batch=batch, step=step, defaults={"started_at": timezone.now()}
        )
        run = StepRun.objects.select_for_update().get(pk=run.pk)
        if run.outcome != StepRun.Outcome.DONE:
            run.attempts += 1
            run.outcome, run.finished_at = StepRun.Outcome.RUNNING, None
            run.started_at = timezone.now()
            run.save(update_fields=["attempts", "outcome", "started_at", "finished_at"])
        return run


def _run_finished(run: StepRun, *, ok: bool, error: str = "") -> None:
    StepRun.objects.filter(pk=run.pk).update(
        outcome=StepRun.Outcome.DONE if ok else StepRun.Outcome.FAILED,
        finished_at=timezone.now(),
        error=error[:4000],
    )


def batch_step_run(
    *, batch: SettlementBatch, step: str, via: str, acting_user=None, progress=None
) -> SettlementBatch:
    """Run one step of `batch`, recorded; a step already done returns the batch as it is."""
    run = _run_started(batch, step)
    if run.outcome == StepRun.Outcome.DONE:
        batch.refresh_from_db()
        return batch
    try:
        if step == Step.CLEAR:
            batch = batch_clear(batch=batch, via=via, acting_user=acting_user)
        elif step == Step.SETTLE:
            batch = batch_settle(batch=batch, via=via, acting_user=acting_user, progress=progress)
        else:
            batch = batch_reconcile(batch=batch)
    except Exception as exc:
        _run_finished(run, ok=False, error=f"{type(exc).__name__}: {exc}")
        raise
    ok = batch.state == STEP_DONE_STATE[step]
    _run_finished(run, ok=ok, error="" if ok else batch.failure)
    return batch


def batch_next_step(batch: SettlementBatch) -> str | None:
    """What the chain does next for `batch` (None: nothing; a failed batch waits for staff,
    who retry it from the console, or for run_settlement)."""
    if batch.state == S.CLOSED:
        return Step.CLEAR
    if batch.state == S.CLEARED:
        return Step.SETTLE
    if (
        batch.state == S.SETTLED
        and not StepRun.objects.filter(
            batch=batch, step=Step.RECONCILE, outcome=StepRun.Outcome.DONE
        ).exists()
    ):
        return Step.RECONCILE
    return None


def batch_retry_step(batch: SettlementBatch) -> str | None:
    """The step a failed batch goes back to."""
    if batch.state != S.FAILED:
        return batch_next_step(batch)
    return Step.CLEAR if batch.failed_step == "clear" else Step.SETTLE


def batch_run_to_end(
    *, batch: SettlementBatch, via: str, acting_user=None, progress=None, retry: bool = True
) -> SettlementBatch:
    """Every remaining step of `batch` in order (a failed one retried first if `retry`),
    stopping at the first that does not finish."""
    step = batch_retry_step(batch) if retry else batch_next_step(batch)
    while step is not None:
        batch = batch_step_run(
            batch=batch, step=step, via=via, acting_user=acting_user, progress=progress
        )
        if batch.state == S.FAILED:
            break
        step = batch_next_step(batch)
    return batch


def batches_to_advance(*, up_to=None):
    """Batches the chain has work for (closed, cleared, or settled but not reconciled)."""
    batches = SettlementBatch.objects.filter(state__in=[S.CLOSED, S.CLEARED, S.SETTLED])
    if up_to is not None:
        batches = batches.filter(business_date__lte=up_to)
    return [b for b in batches.order_by("business_date", "cycle") if batch_next_step(b)]
