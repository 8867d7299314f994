"""The embedded default's scheduler: django-celery-beat's schedule, with each due task run
right here instead of being sent to a broker (there is none: tasks run eagerly).

It is beat itself, on the same database schedule (Periodic tasks in the console), with one
change: `apply_async` of an eager task runs it in this process. `run_scheduler` drives it.
"""

from django_celery_beat.schedulers import DatabaseScheduler


class EmbeddedScheduler(DatabaseScheduler):
    producer = None  # nothing to publish to: Celery runs each task eagerly, in this process

    def send_task(self, *args, **kwargs):
        raise RuntimeError("The embedded scheduler runs registered tasks only.")
