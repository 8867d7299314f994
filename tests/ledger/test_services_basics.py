import pytest

from ledger import errors
from ledger.models import Account, Entry, Transfer
from ledger.services import (
    TransferRequest,
    pending_transfer_post,
    pending_transfer_void,
    transfer_create,
)


def _request(debit, credit, amount, **kw):
    return TransferRequest(
        debit_account_id=debit.pk, credit_account_id=credit.pk, amount=amount, asset="USD", **kw
    )


def test_a_deposit_moves_money_and_writes_two_entries(alpha_usd, fund, house_usd):
    transfer = fund(alpha_usd, 10_000)
    alpha_usd.refresh_from_db()
    bank = Account.objects.get(pk=house_usd["settlement_bank"].pk)
    assert alpha_usd.posted_balance == 10_000
    assert bank.posted_balance == 10_000  # an asset of the firm: debit-normal
    assert Entry.objects.filter(transfer=transfer).count() == 2
    assert transfer.status == Transfer.Status.POSTED


def test_a_debit_beyond_the_credits_is_refused_and_changes_nothing(alpha_usd, beta_usd, fund):
    fund(alpha_usd, 500)
    with pytest.raises(errors.InsufficientFunds):
        transfer_create(request=_request(alpha_usd, beta_usd, 501))
    alpha_usd.refresh_from_db()
    assert alpha_usd.posted_balance == 500
    assert Transfer.objects.count() == 1


def test_pending_then_partial_post_releases_the_remainder(alpha_usd, beta_usd, fund):
    fund(alpha_usd, 1_000)
    pending = transfer_create(request=_request(alpha_usd, beta_usd, 600, pending=True))
    alpha_usd.refresh_from_db()
    assert alpha_usd.available_balance == 400
    pending_transfer_post(pending_id=pending.pk, amount=250)
    alpha_usd.refresh_from_db()
    beta_usd.refresh_from_db()
    assert (alpha_usd.posted_balance, alpha_usd.debits_pending) == (750, 0)
    assert beta_usd.posted_balance == 250
    with pytest.raises(errors.PendingAlreadyResolved):
        pending_transfer_void(pending_id=pending.pk)


def test_the_same_id_is_applied_once_and_other_fields_conflict(alpha_usd, beta_usd, fund):
    fund(alpha_usd, 1_000)
    request = _request(alpha_usd, beta_usd, 100, id=__import__("uuid").uuid4())
    first = transfer_create(request=request)
    again = transfer_create(request=request)
    assert again.pk == first.pk
    alpha_usd.refresh_from_db()
    assert alpha_usd.posted_balance == 900
    with pytest.raises(errors.TransferExistsWithDifferentFields):
        transfer_create(request=_request(alpha_usd, beta_usd, 101, id=request.id))
