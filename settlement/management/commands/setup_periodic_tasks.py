"""Install the default schedule (settings.CELERY_BEAT_SCHEDULE) as django-celery-beat
rows, editable in the console (Periodic tasks). An entry that exists already is left as
staff edited it, unless --reset. Beat (core.scheduler) installs missing ones itself too."""

from django.core.management.base import BaseCommand

from core.scheduler import periodic_tasks_install


class Command(BaseCommand):
    help = "Install the default periodic tasks (settlement close, advance, ledger jobs...)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--reset", action="store_true", help="Put edited entries back to the defaults."
        )

    def handle(self, *args, reset=False, **options):
        for name, verb, seconds in periodic_tasks_install(reset=reset):
            if verb == "kept":
                self.stdout.write(f"kept {name} as it is")
            else:
                self.stdout.write(f"{verb} {name} (every {seconds} s)")
