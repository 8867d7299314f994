from django.core.management.base import BaseCommand

from risk.services.velocity import velocity_rebuild


class Command(BaseCommand):
    help = "Rebuild risk's velocity buckets in the cache from the last 24 hours of decisions."

    def handle(self, *args, **options):
        self.stdout.write("Reading decisions of the last 24 hours...")
        count = velocity_rebuild(progress=lambda m: self.stdout.write(f"  {m}"))
        self.stdout.write(self.style.SUCCESS(f"Velocity rebuilt from {count} decision(s)."))
