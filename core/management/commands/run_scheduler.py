"""Run the beat schedule in this process, each due job called eagerly: the embedded
default's `celery beat` + worker (`make run` starts it beside the web server).

With a broker configured it refuses: there, `celery -A config beat` sends the jobs to the
workers, and a second scheduler would run every job twice.
"""

import signal
import threading

from django.core.management.base import BaseCommand, CommandError

from config.celery import app
from core.scheduler import EmbeddedScheduler


class Command(BaseCommand):
    help = "Run the scheduled jobs (beat schedule) in-process, for the embedded default."

    def add_arguments(self, parser):
        parser.add_argument(
            "--max-interval",
            type=float,
            default=5.0,
            help="Longest sleep between looks at the schedule, in seconds (edits to the "
            "schedule in the console are seen at this pace).",
        )

    def handle(self, *args, max_interval, **options):
        if not app.conf.task_always_eager:
            raise CommandError(
                "A broker is configured: run `celery -A config beat` and a worker instead."
            )
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        scheduler = EmbeddedScheduler(app=app, lazy=False, max_interval=max_interval)
        # What it installed just now is due at once (core.scheduler), not an interval later.
        due = sorted(name for name, entry in scheduler.schedule.items() if entry.is_due()[0])
        if due:
            self.stdout.write(f"scheduler: due now: {', '.join(due)}")
        self.stdout.write(
            f"scheduler: {len(scheduler.schedule)} jobs, checking every {max_interval:g} s at most"
        )
        try:
            while not stop.is_set():
                stop.wait(min(scheduler.tick(), max_interval))
        finally:
            scheduler.close()
        self.stdout.write("scheduler: stopped")
