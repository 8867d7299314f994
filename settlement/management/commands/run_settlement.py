"""Settle a business date now, synchronously, through the same services as the Celery
chain: close the date's open batch (staff sometimes settle early; later trades go to the
next batch), then clear, settle and reconcile every batch of that date (and any earlier
one left unsettled), with a progress bar per batch. Safe to run again: what is done stays
done.

The default date is the one trades are booked to now: today's until the cutoff, the next
day's after it (settlement.services.windows.next_window). With today's as the default, a
run after the cutoff found today's batch closed already and settled nothing traded since."""

from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from settlement.models import SettlementBatch
from settlement.services.runs import batch_run_to_end
from settlement.services.windows import batch_for_date_close, next_window

VIA = "command:run_settlement"


class Command(BaseCommand):
    help = "Close, clear, settle and reconcile a business date's settlement batches."

    def add_arguments(self, parser):
        parser.add_argument(
            "--date",
            help="Business date YYYY-MM-DD (default: the one trades go to now: today's until "
            "the cutoff, then the next day's).",
        )

    def handle(self, *args, date=None, **options):
        day = _parse(date) if date else next_window(timezone.now())[0]
        closed = batch_for_date_close(day=day, via=VIA)
        if closed is not None:
            self.stdout.write(f"closed {closed}")
        batches = SettlementBatch.objects.filter(business_date__lte=day).exclude(
            state=SettlementBatch.State.OPEN
        )
        failed = 0
        for batch in batches.order_by("business_date", "cycle"):
            label = f"{batch.business_date} #{batch.cycle}"
            bar = tqdm(desc=label, unit=" partners", file=self.stderr)

            def progress(done, total, bar=bar):
                bar.total = total
                bar.n = done
                bar.refresh()

            try:
                batch = batch_run_to_end(batch=batch, via=VIA, progress=progress)
            finally:
                bar.close()
            failed += batch.state == SettlementBatch.State.FAILED
            self.stdout.write(f"{batch}: {batch.trade_count} trades{_failure(batch)}")
        if failed:
            raise CommandError(f"{failed} batch(es) failed: see the console (Settlement batches).")


def _parse(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--date must be YYYY-MM-DD, not {value!r}.") from None


def _failure(batch) -> str:
    return f" - {batch.failure}" if batch.failure else ""
