"""The checkers catch what the ORM would never do: rows changed behind its back."""

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from ledger.integrity import ledger_chain_violations, ledger_invariants_violations
from ledger.models import Entry, LedgerCheckRun, Transfer
from ledger.services import (
    TransferRequest,
    pending_transfer_post,
    pending_transfer_void,
    transfer_create,
)


@pytest.fixture
def busy_ledger(alpha_usd, beta_usd, fund):
    fund(alpha_usd, 10_000)
    fund(beta_usd, 5_000)

    def move(debit, credit, amount, **kw):
        return transfer_create(
            request=TransferRequest(
                debit_account_id=debit.pk,
                credit_account_id=credit.pk,
                amount=amount,
                asset="USD",
                **kw,
            )
        )

    move(alpha_usd, beta_usd, 1_500)
    move(beta_usd, alpha_usd, 700)
    pending_transfer_post(pending_id=move(alpha_usd, beta_usd, 900, pending=True).pk, amount=400)
    pending_transfer_void(pending_id=move(beta_usd, alpha_usd, 300, pending=True).pk)
    move(alpha_usd, beta_usd, 200, pending=True)  # left open
    return Transfer.objects.order_by("created_at")


def _sql(statement, params=()):
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def test_a_consistent_ledger_passes_both_checks(busy_ledger):
    assert ledger_invariants_violations() == []
    assert ledger_chain_violations() == []
    call_command("ledger_check")
    call_command("ledger_verify")
    assert list(LedgerCheckRun.objects.values_list("ok", flat=True)) == [True, True]


def test_an_amount_edited_behind_the_orm_is_caught(busy_ledger):
    victim = busy_ledger.filter(kind=Transfer.Kind.SINGLE_PHASE).last()
    _sql(
        "UPDATE ledger_transfer SET amount = amount + 1 WHERE id = %s",
        [victim.pk.hex if connection.vendor == "sqlite" else victim.pk],
    )
    checks = {v["check"] for v in ledger_invariants_violations()}
    assert "account_totals" in checks
    chain = ledger_chain_violations()
    assert {"check": "transfer_digest", "transfer": str(victim.pk)} in chain
    with pytest.raises(CommandError):
        call_command("ledger_verify")
    run = LedgerCheckRun.objects.latest()
    assert run.ok is False and run.violations


def test_a_deleted_transfer_is_caught(busy_ledger):
    victim = busy_ledger.filter(kind=Transfer.Kind.SINGLE_PHASE).last()
    pk = victim.pk.hex if connection.vendor == "sqlite" else victim.pk
    _sql("DELETE FROM ledger_entry WHERE transfer_id = %s", [pk])
    _sql("DELETE FROM ledger_transfer WHERE id = %s", [pk])
    checks = {v["check"] for v in ledger_chain_violations()}
    assert checks & {"entry_chain", "chain_head"}
    with pytest.raises(CommandError):
        call_command("ledger_check")


def test_reordered_transfers_are_caught(busy_ledger):
    first, second = busy_ledger[0], busy_ledger[1]
    for transfer, other in ((first, second), (second, first)):
        pk = transfer.pk.hex if connection.vendor == "sqlite" else transfer.pk
        _sql("UPDATE ledger_transfer SET created_at = %s WHERE id = %s", [other.created_at, pk])
    broken = {v.get("transfer") for v in ledger_chain_violations()}
    assert {str(first.pk), str(second.pk)} <= broken


def test_an_entry_moved_in_time_is_caught(busy_ledger, alpha_usd):
    """Balances as of an instant read the entries' times: they must stay their transfer's."""
    from datetime import timedelta

    entry = Entry.objects.filter(account=alpha_usd).order_by("id").last()
    _sql(
        "UPDATE ledger_entry SET created_at = %s WHERE id = %s",
        [entry.created_at - timedelta(days=1), entry.pk],
    )
    chain = ledger_chain_violations()
    assert {"check": "entry_time", "account": str(alpha_usd.pk), "entry": entry.pk} in chain


def test_the_database_itself_refuses_an_overdrawn_account(busy_ledger, alpha_usd):
    from django.db import IntegrityError, transaction

    from ledger.models import Account

    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.filter(pk=alpha_usd.pk).update(debits_posted=10**12)


@pytest.mark.postgres
def test_a_broken_balance_limit_is_caught(busy_ledger, alpha_usd):
    # What a careless migration or manual fix could leave behind: the guard gone, the
    # account overdrawn. (DDL is transactional in PostgreSQL: the test rolls it back.)
    _sql("SET CONSTRAINTS ALL IMMEDIATE")  # no deferred FK checks pending before DDL
    _sql("ALTER TABLE ledger_account DROP CONSTRAINT account_debits_within_credits")
    _sql(
        "UPDATE ledger_account SET debits_posted = credits_posted + 1 WHERE id = %s",
        [alpha_usd.pk],
    )
    violations = ledger_invariants_violations()
    assert {"check": "balance_limit", "account": str(alpha_usd.pk)} in violations


@pytest.mark.postgres
def test_the_database_keeps_its_at_most_once_guards_after_every_migration(db):
    # Dropping a foreign key's own index once dropped a partial unique index on the same
    # column with it (Django matches indexes by column): these guards must survive.
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'ledger_transfer'")
        indexes = {row[0] for row in cursor.fetchall()}
    assert {"transfer_pending_resolved_once", "transfer_reversed_once"} <= indexes


@pytest.mark.postgres
def test_the_database_refuses_a_transfer_in_an_asset_its_accounts_do_not_hold(
    alpha_usd, beta_usd, fund
):
    from django.db import IntegrityError, transaction
    from django.utils import timezone

    fund(alpha_usd, 1_000)
    with pytest.raises(IntegrityError), transaction.atomic():
        _sql("SET CONSTRAINTS ALL IMMEDIATE")  # the foreign keys are checked at commit
        Transfer.objects.create(
            kind=Transfer.Kind.SINGLE_PHASE,
            status=Transfer.Status.POSTED,
            debit_account=alpha_usd,
            credit_account=beta_usd,
            asset_id="EUR",
            amount=100,
            created_at=timezone.now(),
            digest="-",
        )


def test_awkward_text_and_metadata_round_trip_the_batch_write_path_exactly(
    alpha_usd, beta_usd, fund
):
    import uuid

    from ledger.services import transfer_batch_create

    fund(alpha_usd, 1_000)
    metadata = {"a": [1, 2.5, "x", None, True], "é": "ü", "nested": {"k": "v,{}"}}
    requests = [
        TransferRequest(
            id=uuid.uuid4(),
            debit_account_id=alpha_usd.pk,
            credit_account_id=beta_usd.pk,
            amount=10 + i,
            asset="USD",
            code="pay,ment",
            reference="réf «x» 'q' \"d\" \\ ,{} NULL",
            metadata=metadata,
        )
        for i in range(3)  # more than one: the array-per-column statement on PostgreSQL
    ]
    results = transfer_batch_create(requests=requests, atomic=True)

    for request, result in zip(requests, results, strict=True):
        stored = Transfer.objects.get(pk=result.transfer.pk)
        assert (stored.reference, stored.code, stored.metadata) == (
            request.reference,
            request.code,
            metadata,
        )
        assert stored.created_at == result.transfer.created_at
    assert ledger_chain_violations() == []
