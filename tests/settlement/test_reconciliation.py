"""Reconciliation: statements in each format matched to the house bank account's
transfers (exact, within tolerance, 1:N, N:1), what is left as breaks, refusals, and staff
resolving breaks by hand or through a four-eyes adjustment."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from core.models import User
from ledger.adjustments import adjustment_approve
from ledger.models import Transfer
from ledger.selectors import account_balance
from ledger.services import TransferRequest, account_open, house_account, transfer_create
from settlement.errors import StatementRefused
from settlement.models import BankStatement, Break, StatementLine
from settlement.reconciliation.breaks import (
    break_adjustment_propose,
    breaks_adjustments_sync,
    breaks_match_by_hand,
)
from settlement.reconciliation.statements import statement_import
from tests.settlement.statement_files import BUILDERS

pytestmark = pytest.mark.django_db


@pytest.fixture
def ledger_day(partner):
    """What the ledger shows at the bank today (a deposit credits the partner and debits
    the house bank account)."""
    alpha = account_open(partner=partner, asset="USD")
    bank = house_account(code="settlement_bank", asset="USD")

    def move(amount, reference, *, into_bank=True):
        debit, credit = (bank, alpha) if into_bank else (alpha, bank)
        return transfer_create(
            request=TransferRequest(
                debit_account_id=debit.pk,
                credit_account_id=credit.pk,
                amount=amount,
                asset="USD",
                code="deposit" if into_bank else "withdrawal",
                reference=reference,
            )
        )

    transfers = {
        "DEP-1": move(15_000, "DEP-1"),
        "DEP-2": move(9_950, "DEP-2"),  # the bank says 100.00: within the 1.00 tolerance
        "BATCH-9a": move(3_000, "BATCH-9"),  # two transfers, one line of 50.00
        "BATCH-9b": move(2_000, "BATCH-9"),
        "SPLIT-3": move(8_000, "SPLIT-3"),  # one transfer, two lines of 50.00 and 30.00
        "LEDGER-ONLY": move(1_200, "LEDGER-ONLY"),
    }
    transfers["WD-1"] = move(2_000, "WD-1", into_bank=False)
    return transfers


def lines_of_the_day():
    today = timezone.localdate()
    return [
        (today, "150.00", "DEP-1"),
        (today, "-20.00", "WD-1"),
        (today, "100.00", "DEP-2"),
        (today, "50.00", "BATCH-9"),
        (today, "50.00", "SPLIT-3"),
        (today, "30.00", "SPLIT-3"),
        (today, "7.77", "BANK-ONLY"),
    ]


def kinds(statement):
    return {
        line.reference + (f"@{line.amount}" if line.reference == "SPLIT-3" else ""): (
            line.match.kind if line.match else None
        )
        for line in StatementLine.objects.filter(statement=statement).select_related("match")
    }


@pytest.mark.parametrize("format", ["csv", "mt940", "camt053"])
def test_each_format_matches_exactly_within_tolerance_1_n_and_n_1_and_leaves_breaks(
    ledger_day, format, settings
):
    settings.SETTLEMENT_MATCH_AMOUNT_TOLERANCE = 100  # 1.00
    content = BUILDERS[format](f"ST-{format}", lines_of_the_day())

    statement = statement_import(content=content, filename=f"statement.{format}")

    assert (statement.format, statement.line_count, statement.matched_count) == (format, 7, 6)
    assert round(statement.auto_match_rate, 3) == round(6 / 7, 3)
    assert (statement.opening_balance, statement.closing_balance) == (100_000, 136_777)
    assert kinds(statement) == {
        "DEP-1": "exact",
        "WD-1": "exact",
        "DEP-2": "tolerance",
        "BATCH-9": "one_to_many",
        "SPLIT-3@5000": "many_to_one",
        "SPLIT-3@3000": "many_to_one",
        "BANK-ONLY": None,
    }
    tolerance = StatementLine.objects.get(statement=statement, reference="DEP-2").match
    assert tolerance.difference == 50
    assert set(tolerance.transfers.values_list("transfer_id", flat=True)) == {
        ledger_day["DEP-2"].pk
    }
    breaks = {(b.kind, b.amount, b.status) for b in Break.objects.filter(statement=statement)}
    assert breaks == {("bank_only", 777, "open"), ("ledger_only", 1_200, "open")}
    assert Break.objects.get(kind="ledger_only").transfer_id == ledger_day["LEDGER-ONLY"].pk


def test_an_unbalanced_statement_is_refused_and_nothing_is_kept(ledger_day):
    content = BUILDERS["csv"]("ST-BAD", lines_of_the_day(), closing="1367.78")
    with pytest.raises(StatementRefused, match="does not add up"):
        statement_import(content=content)
    assert not BankStatement.objects.exists() and not StatementLine.objects.exists()


def test_a_statement_imported_twice_is_refused_the_second_time(ledger_day):
    content = BUILDERS["mt940"]("ST-ONCE", lines_of_the_day())
    statement_import(content=content)
    with pytest.raises(StatementRefused, match="imported already"):
        statement_import(content=content)
    other_file_same_id = BUILDERS["mt940"]("ST-ONCE", lines_of_the_day()[:2])
    with pytest.raises(StatementRefused, match="imported already"):
        statement_import(content=other_file_same_id)
    assert BankStatement.objects.count() == 1


def test_a_later_statement_matching_a_ledger_only_transfer_resolves_its_break(ledger_day):
    statement_import(content=BUILDERS["csv"]("ST-1", lines_of_the_day()))
    today = timezone.localdate()
    statement_import(
        content=BUILDERS["csv"]("ST-2", [(today, "12.00", "LEDGER-ONLY")], opening="1367.77")
    )
    assert Break.objects.get(kind="ledger_only").status == "resolved"


def test_staff_match_a_break_by_hand(ledger_day, admin_user):
    statement = statement_import(content=BUILDERS["csv"]("ST-H", lines_of_the_day()))
    bank_only = Break.objects.get(statement=statement, kind="bank_only")
    ledger_only = Break.objects.get(statement=statement, kind="ledger_only")

    match = breaks_match_by_hand(
        breaks=[bank_only, ledger_only], acting_user=admin_user, reason="same wire, bank fee"
    )

    assert (match.kind, match.difference) == ("manual", 777 - 1_200)
    assert set(Break.objects.values_list("status", flat=True)) == {"resolved"}
    assert StatementLine.objects.get(reference="BANK-ONLY").match == match
    statement.refresh_from_db()
    assert statement.matched_count == 6  # the auto-match rate counts the passes only


def test_a_correcting_adjustment_resolves_a_break_once_a_second_person_approves_it(
    ledger_day, admin_user
):
    statement = statement_import(content=BUILDERS["csv"]("ST-A", lines_of_the_day()))
    bank_only = Break.objects.get(statement=statement, kind="bank_only")
    adjustment = break_adjustment_propose(brk=bank_only, acting_user=admin_user, reason="fee")
    bank_only.refresh_from_db()
    assert bank_only.status == "adjusting" and breaks_adjustments_sync() == 0

    approver = User.objects.create_user(username="approver", password="x", is_staff=True)
    bank = statement.account
    before = account_balance(account=bank).posted
    adjustment = adjustment_approve(adjustment=adjustment, acting_user=approver)
    assert breaks_adjustments_sync() == 1

    bank_only.refresh_from_db()
    assert bank_only.status == "resolved" and "approved" in bank_only.resolution
    posted = Transfer.objects.get(pk=adjustment.transfer_id)
    assert (posted.amount, posted.debit_account_id) == (777, bank.pk)  # money in at the bank
    bank.refresh_from_db()
    assert abs(account_balance(account=bank).posted - before) == 777
    assert StatementLine.objects.get(reference="BANK-ONLY").match.transfers.get().transfer == posted


def test_import_statement_command_prints_the_rate_and_refuses_a_repeat(ledger_day, tmp_path):
    path = tmp_path / "statement.xml"
    path.write_bytes(BUILDERS["camt053"]("ST-CMD", lines_of_the_day()))
    out = StringIO()
    call_command("import_statement", str(path), stdout=out)
    assert "7 lines, 6 matched automatically (85.7%), 2 break(s)" in out.getvalue()
    with pytest.raises(CommandError, match="imported already"):
        call_command("import_statement", str(path), stdout=StringIO())
