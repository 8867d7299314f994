import signal
import threading

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from trading.matcher import BATCH_SIZE, GAP_GRACE_SECONDS, matchers_run
from trading.models import Instrument


class Command(BaseCommand):
    help = (
        "Run the durable matchers (all instruments, or --symbols) until SIGTERM/SIGINT: "
        "each takes its instrument's advisory lock or stands by while another process has it."
    )

    def add_arguments(self, parser):
        parser.add_argument("--symbols", nargs="+", metavar="SYMBOL", help="e.g. ACME/USD")
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
        parser.add_argument("--idle-seconds", type=float, default=0.05)
        parser.add_argument("--gap-grace", type=float, default=GAP_GRACE_SECONDS)
        # Fault injection for the crash tests: keep each batch's transaction open this long.
        parser.add_argument("--commit-delay", type=float, default=0.0, help="(tests only)")

    def handle(self, *args, symbols=None, **options):
        if symbols:
            known = set(
                Instrument.objects.filter(symbol__in=symbols).values_list("symbol", flat=True)
            )
            unknown = sorted(set(symbols) - known)
            if unknown:
                raise CommandError(f"No such instrument: {', '.join(unknown)}")
        if connection.vendor != "postgresql":
            self.stderr.write(
                "Without PostgreSQL there is no advisory lock: run only one matcher process."
            )
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        self.stdout.write(f"Matching {', '.join(symbols) if symbols else 'every instrument'}.")
        matchers_run(
            symbols=symbols,
            stop=stop,
            batch_size=options["batch_size"],
            idle_seconds=options["idle_seconds"],
            gap_grace=options["gap_grace"],
            commit_delay=options["commit_delay"],
        )
        self.stdout.write("Matcher stopped.")
