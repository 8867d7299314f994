"""The embedded default's scheduler: django-celery-beat's schedule, with each due task run
right here instead of being sent to a broker (there is none: tasks run eagerly).

It is beat itself, on the same database schedule (Periodic tasks in the console), with one
change: a due task is called in this process (core.jobs.job_task_call), its run recorded
like any other. `run_scheduler` drives it.
"""

from django_celery_beat.schedulers import DatabaseScheduler

from core.jobs import job_task_call


class EmbeddedScheduler(DatabaseScheduler):
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
