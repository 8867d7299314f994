"""Import a bank statement of the house bank account (CSV, camt.053 or MT940: see
settlement.reconciliation.parsers for the CSV columns) and match it; prints the auto-match
rate and the breaks left. Refuses a statement that does not add up or was imported."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from settlement.errors import StatementRefused
from settlement.models import BankStatement
from settlement.reconciliation.statements import statement_import


class Command(BaseCommand):
    help = "Import and reconcile a bank statement file (CSV, camt.053, MT940)."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument(
            "--format",
            choices=[choice for choice, _ in BankStatement.Format.choices],
            help="Default: from the file's content.",
        )

    def handle(self, *args, file, format=None, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"No such file: {file}")
        self.stdout.write(f"importing {path.name}...")
        try:
            statement = statement_import(
                content=path.read_bytes(), filename=path.name, format=format
            )
        except StatementRefused as exc:
            raise CommandError(f"refused: {exc.message} {exc.details or ''}".strip()) from exc
        breaks = statement.breaks.count()
        self.stdout.write(
            f"{statement.statement_ref}: {statement.line_count} lines, "
            f"{statement.matched_count} matched automatically "
            f"({statement.auto_match_rate:.1%}), {breaks} break(s) to resolve"
        )
