"""Scheduled jobs: the tasks of the beat schedule, each run recorded with its result
(JobRun), and staff's "run now".

Runs are recorded from Celery's task signals, so it is the same whoever runs the task: a
worker fed by beat (production), the embedded scheduler (`run_scheduler`, `make run`) or a
"run now" from the console.
"""

import traceback
import uuid
from dataclasses import dataclass

import structlog
from celery import current_app
from celery.signals import task_failure, task_postrun, task_prerun
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.errors import ApplicationError
from core.models import JobRun
from core.services import audit_record
from core.tracing import trace_id_current

logger = structlog.get_logger(__name__)
RESULT_CHARS = 2000


@dataclass(frozen=True)
class Job:
    name: str  # the schedule entry's name, e.g. ledger-pending-expire
    task: str  # the Celery task, e.g. ledger.tasks.ledger_pending_expire
    every: str  # how often, for people


def _every(schedule) -> str:
    seconds = getattr(schedule, "total_seconds", lambda: schedule)()
    if not isinstance(seconds, int | float):
        return str(schedule)
    for unit, size in (("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)} {unit}"
    return f"{seconds:g} s"


def jobs() -> list[Job]:
    """The default schedule (CELERY_BEAT_SCHEDULE), in its order."""
    return [
        Job(name=name, task=entry["task"], every=_every(entry["schedule"]))
        for name, entry in settings.CELERY_BEAT_SCHEDULE.items()
    ]


def job_get(name: str) -> Job:
    for job in jobs():
        if job.name == name:
            return job
    raise JobNotFound()


class JobNotFound(ApplicationError):
    code = "not_found"
    default_message = "No such scheduled job."


def latest_runs() -> dict[str, JobRun]:
    """Each job's latest run by task name (one query per job, on its index)."""
    latest = {}
    for job in jobs():
        run = JobRun.objects.filter(job=job.task).order_by("-started_at", "-id").first()
        if run is not None:
            latest[job.task] = run
    return latest


def job_run_now(*, name: str, acting_user, reason: str = "") -> JobRun:
    """Staff's "run now": the run is recorded and audited, then the job's task runs through
    Celery like a scheduled run (at once in the embedded default; on a worker when there is
    a broker, and the run's row fills in when it finishes)."""
    job = job_get(name)
    task_id = str(uuid.uuid4())
    with transaction.atomic():
        run = JobRun.objects.create(
            job=job.task, task_id=task_id, started_at=timezone.now(), trace_id=trace_id_current()
        )
        audit_record(
            actor=acting_user,
            action="job.run_requested",
            target=run,
            after={"job": job.name, "reason": reason},
        )
    try:
        job_task_call(job_task(job.task), task_id=task_id)
    except Exception as exc:  # not sent to the broker: nothing will run it
        logger.exception("job_run_now_failed", job=job.name)
        JobRun.objects.filter(pk=run.pk, outcome=JobRun.Outcome.RUNNING).update(
            outcome=JobRun.Outcome.FAILED, finished_at=timezone.now(), result=repr(exc)
        )
    run.refresh_from_db()
    return run


def job_task(name: str):
    """The registered Celery task `name` (a web process has not imported every app's
    tasks module, as a worker does at start)."""
    current_app.loader.import_default_modules()
    return current_app.tasks[name]


def job_task_call(task, *, args=(), kwargs=None, task_id=None):
    """Run a job's task: here and now when Celery is eager (its error recorded on the run,
    not raised), else queued for a worker."""
    if current_app.conf.task_always_eager:
        return task.apply(args, kwargs or {}, task_id=task_id, throw=False)
    return task.apply_async(args, kwargs or {}, task_id=task_id)


# --- Recording each run -------------------------------------------------------------------

_started: dict[str, int] = {}  # task id -> JobRun id, between prerun and postrun
_failures: dict[str, str] = {}  # task id -> its error, between failure and postrun


def _is_job(task) -> bool:
    return task.name in {job.task for job in jobs()}


@task_prerun.connect
def _run_started(sender=None, task_id=None, task=None, **kwargs):
    if not _is_job(task):
        return
    run = JobRun.objects.filter(task_id=task_id).first() if task_id else None  # a "run now"
    if run is None:
        run = JobRun.objects.create(
            job=task.name,
            task_id=task_id or "",
            started_at=timezone.now(),
            trace_id=trace_id_current(),
        )
    _started[task_id] = run.pk


@task_failure.connect
def _run_failed(sender=None, task_id=None, exception=None, **kwargs):
    if task_id in _started:
        _failures[task_id] = "".join(traceback.format_exception_only(exception)).strip()


@task_postrun.connect
def _run_finished(sender=None, task_id=None, task=None, retval=None, state=None, **kwargs):
    run_id = _started.pop(task_id, None)
    if run_id is None:
        return
    error = _failures.pop(task_id, None)
    failed = error is not None or state != "SUCCESS"
    result = (error or repr(retval)) if failed else repr(retval)
    JobRun.objects.filter(pk=run_id).update(
        finished_at=timezone.now(),
        outcome=JobRun.Outcome.FAILED if failed else JobRun.Outcome.OK,
        result=result[:RESULT_CHARS],
    )
    if failed:
        logger.error("job_failed", job=task.name, result=result[:RESULT_CHARS])
