"""Importing a bank statement of the house bank account (`settlement_bank` in the
statement's currency): parsed, refused unless opening + lines == closing and it is new
(same file, or same statement id for the account, again: refused), then written with its
lines matched, in one transaction (settlement.reconciliation.matching)."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.money import to_minor_units
from core.services import audit_record
from ledger.models import Asset
from ledger.services import house_account
from settlement.errors import StatementRefused
from settlement.models import BankStatement
from settlement.reconciliation.matching import statement_lines_match
from settlement.reconciliation.parsers import (
    ParsedStatement,
    statement_format_detect,
    statement_parse,
)

BANK_ACCOUNT = "settlement_bank"


def statement_import(
    *, content: bytes, filename: str = "", format: str | None = None, acting_user=None
) -> BankStatement:
    """Import and match one statement file; raises StatementRefused with the reason."""
    format = format or statement_format_detect(content, filename=filename)
    parsed = statement_parse(content, format=format)
    return statement_record(
        parsed=parsed, digest=parsed.digest_of(content), acting_user=acting_user
    )


def statement_record(*, parsed: ParsedStatement, digest: str, acting_user=None) -> BankStatement:
    """Check a parsed statement (it adds up, it is new), write it and its lines, matched."""
    format = parsed.format
    asset = Asset.objects.filter(code=parsed.currency).first()
    if asset is None:
        raise StatementRefused(details={"currency": [f"Unknown currency {parsed.currency!r}."]})
    try:
        opening = to_minor_units(parsed.opening, scale=asset.scale)
        closing = to_minor_units(parsed.closing, scale=asset.scale)
        amounts = [to_minor_units(line.amount, scale=asset.scale) for line in parsed.lines]
    except Exception as exc:  # more decimals than the currency has
        raise StatementRefused(details={"amount": [str(exc)]}) from exc
    if opening + sum(amounts) != closing:
        raise StatementRefused(
            "The statement does not add up: opening balance plus its lines is not its "
            "closing balance.",
            details={"opening": opening, "lines": sum(amounts), "closing": closing},
        )
    account = house_account(code=BANK_ACCOUNT, asset=asset.code)
    already = BankStatement.objects.filter(digest=digest).exists() or (
        BankStatement.objects.filter(account=account, statement_ref=parsed.statement_ref).exists()
    )
    if already:
        raise StatementRefused(
            "This statement was imported already.",
            details={"statement_id": [parsed.statement_ref]},
        )
    days = [line.value_date for line in parsed.lines]
    try:
        with transaction.atomic():
            statement = BankStatement.objects.create(
                account=account,
                format=format,
                statement_ref=parsed.statement_ref,
                digest=digest,
                opening_balance=opening,
                closing_balance=closing,
                period_start=min([parsed.opening_date, *days]),
                period_end=max([parsed.closing_date, *days]),
                line_count=len(parsed.lines),
                imported_at=timezone.now(),
                imported_by=acting_user if getattr(acting_user, "pk", None) else None,
            )
            statement_lines_match(
                statement=statement,
                lines=(
                    (number, line.value_date, amount, line.reference[:255], line.description[:255])
                    for number, (line, amount) in enumerate(
                        zip(parsed.lines, amounts, strict=True), start=1
                    )
                ),
            )
            audit_record(
                actor=acting_user,
                action="settlement.statement_imported",
                target=statement,
                after={"statement_id": statement.statement_ref, "lines": statement.line_count},
            )
    except IntegrityError as exc:  # the same statement imported concurrently
        raise StatementRefused("This statement was imported already.") from exc
    statement.refresh_from_db()  # the matched count
    return statement
