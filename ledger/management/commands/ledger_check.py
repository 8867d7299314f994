from django.core.management.base import BaseCommand, CommandError

from ledger.integrity import ledger_check_run
from ledger.models import LedgerCheckRun


class Command(BaseCommand):
    help = "Verify the ledger's invariants; exits non-zero on any violation."
    kind = LedgerCheckRun.Kind.INVARIANTS

    def handle(self, *args, **options):
        run = ledger_check_run(kind=self.kind, progress=lambda m: self.stdout.write(f"  {m}"))
        if not run.ok:
            for violation in run.violations[:50]:
                self.stderr.write(f"  {violation}")
            raise CommandError(f"{len(run.violations)} violation(s); see LedgerCheckRun {run.pk}.")
        self.stdout.write(self.style.SUCCESS(f"Ledger {self.kind} OK."))
