"""Beat on the database schedule that staff edit in the console (Periodic tasks), and the
embedded default's variant that runs each due task in this process.

django-celery-beat's own DatabaseScheduler writes CELERY_BEAT_SCHEDULE over the rows each
time beat starts (update_or_create), so an interval staff changed came back at the next
deploy. Here the defaults are installed where a row is missing and never written over
(`periodic_tasks_install`, also behind `setup_periodic_tasks`). A row installed here starts
now: django-celery-beat runs a task that has a start time and has never run at its first
tick, so a fresh deployment's dashboard knows its ledger checks at once, not an interval
(ten minutes for the ledger check) later.
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from core.jobs import job_task_call


@transaction.atomic
def periodic_tasks_install(*, reset: bool = False) -> list[tuple[str, str, int]]:
    """Rows for CELERY_BEAT_SCHEDULE's entries: (name, "installed" | "kept" | "reset",
    seconds) each. An existing row is kept as staff edited it, unless `reset`."""
    done = []
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        schedule = entry["schedule"]
        seconds = int(schedule.total_seconds() if isinstance(schedule, timedelta) else schedule)
        interval, _ = IntervalSchedule.objects.get_or_create(
            every=seconds, period=IntervalSchedule.SECONDS
        )
        defaults = {"task": entry["task"], "interval": interval, "enabled": True}
        existing = PeriodicTask.objects.filter(name=name).first()
        if existing is None:
            PeriodicTask.objects.create(name=name, start_time=timezone.now(), **defaults)
            done.append((name, "installed", seconds))
        elif reset:
            for field, value in defaults.items():
                setattr(existing, field, value)
            existing.save()
            done.append((name, "reset", seconds))
        else:
            done.append((name, "kept", seconds))
    return done


class ConsoleScheduler(DatabaseScheduler):
    """celery beat's scheduler (Procfile, CELERY_BEAT_SCHEDULER): the console's rows rule."""

    def setup_schedule(self):
        self.install_default_entries(self.schedule)
        periodic_tasks_install()


class EmbeddedScheduler(ConsoleScheduler):
    """`run_scheduler` (make run): a due task is called in this process
    (core.jobs.job_task_call), its run recorded like any other; there is no broker."""

    producer = None  # nothing to publish to

    def setup_schedule(self):
        self.app.loader.import_default_modules()  # register every app's tasks, as a worker does
        super().setup_schedule()

    def apply_async(self, entry, producer=None, advance=True, **kwargs):
        entry = self.reserve(entry) if advance else entry
        try:
            return job_task_call(self.app.tasks[entry.task], args=entry.args, kwargs=entry.kwargs)
        finally:
            self._tasks_since_sync += 1
            if self.should_sync():
                self._do_sync()
