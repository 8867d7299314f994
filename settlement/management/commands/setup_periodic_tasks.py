"""Install the default schedule (settings.CELERY_BEAT_SCHEDULE) as django-celery-beat
rows, editable in the console (Periodic tasks). An entry that exists already is left as
staff edited it, unless --reset."""

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django_celery_beat.models import IntervalSchedule, PeriodicTask


class Command(BaseCommand):
    help = "Install the default periodic tasks (settlement close, advance, ledger jobs...)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--reset", action="store_true", help="Put edited entries back to the defaults."
        )

    @transaction.atomic
    def handle(self, *args, reset=False, **options):
        for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
            schedule = entry["schedule"]
            seconds = int(schedule.total_seconds() if isinstance(schedule, timedelta) else schedule)
            interval, _ = IntervalSchedule.objects.get_or_create(
                every=seconds, period=IntervalSchedule.SECONDS
            )
            defaults = {"task": entry["task"], "interval": interval, "enabled": True}
            existing = PeriodicTask.objects.filter(name=name).first()
            if existing is None:
                PeriodicTask.objects.create(name=name, **defaults)
                self.stdout.write(f"installed {name} (every {seconds} s)")
            elif reset:
                for field, value in defaults.items():
                    setattr(existing, field, value)
                existing.save()
                self.stdout.write(f"reset {name} (every {seconds} s)")
            else:
                self.stdout.write(f"kept {name} as it is")
