from ledger.management.commands.ledger_check import Command as LedgerCheckCommand
from ledger.models import LedgerCheckRun


class Command(LedgerCheckCommand):
    help = "Verify transfer digests and every account's hash chain; exits non-zero on tampering."
    kind = LedgerCheckRun.Kind.CHAIN
