"""What other apps build on: house accounts declared by code, system-side selectors, and
digests of transfers written before origins existed."""

import hashlib

import pytest

from ledger import errors
from ledger.chain import metadata_canonical, transfer_digest, transfer_digest_matches
from ledger.integrity import ledger_chain_violations
from ledger.models import Account, Transfer
from ledger.selectors import account_by_id, hold_events, transfer_by_id
from ledger.services import (
    TransferRequest,
    house_account,
    house_account_declare,
    house_accounts_declared,
    house_accounts_ensure,
    transfer_create,
)


@pytest.fixture
def declared(monkeypatch):
    """Declarations made by a test are forgotten after it."""
    monkeypatch.setattr("ledger.services.accounts._HOUSE_ACCOUNTS", dict(house_accounts_declared()))


def test_an_app_declares_the_house_accounts_it_needs(db, declared):
    house_account_declare(
        code="orders_in_flight", kind=Account.Kind.LIABILITY, description="Cash held by orders"
    )
    house = house_accounts_ensure(asset="EUR")
    assert {"settlement_bank", "fee_income", "suspense", "orders_in_flight"} <= set(house)
    in_flight = house["orders_in_flight"]
    assert (in_flight.partner_id, in_flight.asset_id, in_flight.kind) == (None, "EUR", "liability")
    assert house_account(code="orders_in_flight", asset="EUR") == in_flight
    assert house_account(code="orders_in_flight", asset="USD").asset_id == "USD"
    assert Account.objects.filter(partner=None, code="orders_in_flight").count() == 2


def test_a_house_account_is_declared_once_with_one_meaning(db, declared):
    house_account_declare(code="clearing", kind=Account.Kind.ASSET, description="Clearing")
    house_account_declare(code="clearing", kind=Account.Kind.ASSET, description="Clearing")
    with pytest.raises(ValueError):
        house_account_declare(code="clearing", kind=Account.Kind.LIABILITY, description="Other")
    with pytest.raises(ValueError):
        house_account(code="never_declared", asset="USD")
    assert not Account.objects.filter(code="never_declared").exists()


def test_system_side_selectors_see_any_partners_rows(alpha_usd, beta_usd, fund):
    deposit = fund(alpha_usd, 500)
    assert transfer_by_id(transfer_id=deposit.pk) == deposit
    assert account_by_id(account_id=beta_usd.pk) == beta_usd
    with pytest.raises(errors.TransferNotFound):
        transfer_by_id(transfer_id=alpha_usd.pk)
    with pytest.raises(errors.AccountNotFound):
        account_by_id(account_id=deposit.pk)
    assert list(hold_events(origin=Transfer.Origin.ORDER)) == []


# --- Digests from before origins ---------------------------------------------------------


def _digest_before_origins(transfer) -> str:
    """The digest formula as it was before migration 0008, fixed forever."""
    fields = [
        str(transfer.id),
        transfer.kind,
        str(transfer.debit_account_id),
        str(transfer.credit_account_id),
        transfer.asset_id,
        str(transfer.amount),
        transfer.code,
        transfer.reference,
        metadata_canonical(transfer.metadata),
        str(transfer.pending_id or ""),
        str(transfer.reverses_id or ""),
        str(transfer.batch_id or ""),
        transfer.expires_at.isoformat() if transfer.expires_at else "",
        transfer.created_at.isoformat(),
        str(transfer.created_by_id or ""),
    ]
    return hashlib.sha256("\x1f".join(fields).encode()).hexdigest()


def test_new_digests_cover_the_origin(alpha_usd, fund):
    deposit = fund(alpha_usd, 500)
    assert transfer_digest_matches(deposit) == deposit.digest == transfer_digest(deposit)
    for field, value in (("origin", "order"), ("origin_ref", "x"), ("origin", "staff")):
        edited = Transfer.objects.get(pk=deposit.pk)
        setattr(edited, field, value)
        assert transfer_digest_matches(edited) is None, field


def test_a_row_from_before_origins_verifies_and_its_origin_cannot_be_raised(alpha_usd, fund):
    old = fund(alpha_usd, 500)
    old.digest = _digest_before_origins(old)  # as migration 0008 found it
    assert transfer_digest_matches(old) == old.digest
    old.origin = "order"  # claiming an order placed it breaks the digest
    assert transfer_digest_matches(old) is None
    old.origin, old.origin_ref = "system", "ord-1"
    assert transfer_digest_matches(old) is None


def test_ledger_verify_accepts_chains_of_rows_from_before_origins(alpha_usd, beta_usd, fund):
    """A ledger written before migration 0008: digests and entry hashes the old way."""
    from ledger.chain import entry_hash
    from ledger.models import Entry

    fund(alpha_usd, 500)
    transfer_create(
        request=TransferRequest(
            debit_account_id=alpha_usd.pk,
            credit_account_id=beta_usd.pk,
            amount=200,
            asset="USD",
        )
    )
    heads = {}
    for transfer in Transfer.objects.order_by("created_at", "id"):
        Transfer.objects.filter(pk=transfer.pk).update(digest=_digest_before_origins(transfer))
    for entry in Entry.objects.select_related("transfer").order_by("account_id", "id"):
        head = entry_hash(
            previous=heads.get(entry.account_id, ""),
            transfer_digest=_digest_before_origins(entry.transfer),
            side=entry.side,
            totals=(
                entry.debits_pending,
                entry.debits_posted,
                entry.credits_pending,
                entry.credits_posted,
            ),
        )
        Entry.objects.filter(pk=entry.pk).update(hash=head)
        heads[entry.account_id] = head
    for account_id, head in heads.items():
        Account.objects.filter(pk=account_id).update(chain_head=head)
    assert ledger_chain_violations() == []
    Transfer.objects.filter(amount=200).update(origin="order")
    assert {v["check"] for v in ledger_chain_violations()} >= {"transfer_digest"}


def test_migration_0009_gives_old_rows_the_origin_of_whoever_made_them(
    alpha_usd, beta_usd, fund, partner_user, staff_user
):
    import importlib

    from django.apps import apps

    migration = importlib.import_module(
        "ledger.migrations.0009_transfer_origin_hold_successor_and_outbox"
    )

    def move(user):
        request = TransferRequest(
            debit_account_id=alpha_usd.pk, credit_account_id=beta_usd.pk, amount=1, asset="USD"
        )
        return transfer_create(request=request, acting_user=user).pk

    fund(alpha_usd, 100)
    by_partner, by_staff, by_nobody = move(partner_user), move(staff_user), move(None)
    Transfer.objects.update(origin="system")  # what the AddField default left
    migration.origins_backfill(apps, None)
    origins = dict(Transfer.objects.values_list("pk", "origin"))
    assert (origins[by_partner], origins[by_staff], origins[by_nobody]) == (
        "partner_api",
        "staff",
        "system",
    )
