"""The ledger's service layer, rule by rule: what the state machine (test_stateful.py) does not
make obvious. Each test states one rule of DESIGN.md "Ledger" or issue 3."""

import uuid
from contextlib import contextmanager
from datetime import timedelta
from unittest import mock

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.services import partner_create
from ledger import errors
from ledger.adjustments import (
    adjustment_approve,
    adjustment_propose,
    adjustment_reject,
    adjustment_reversal_propose,
)
from ledger.integrity import ledger_chain_violations, ledger_invariants_violations
from ledger.models import Account, Adjustment, Entry, Transfer
from ledger.services import (
    LinkedTransferFailed,
    TransferRequest,
    account_close,
    account_freeze,
    account_open,
    account_unfreeze,
    pending_transfer_post,
    pending_transfer_void,
    pending_transfers_expire,
    transfer_batch_create,
    transfer_create,
    transfer_reverse,
)
from ledger.tasks import ledger_pending_expire


def _request(debit, credit, amount, **kw):
    kw.setdefault("asset", debit.asset_id)
    return TransferRequest(
        debit_account_id=debit.pk, credit_account_id=credit.pk, amount=amount, **kw
    )


def _totals(*accounts):
    return [
        tuple(
            Account.objects.filter(pk=a.pk)
            .values_list(
                "status",
                "debits_pending",
                "debits_posted",
                "credits_pending",
                "credits_posted",
                "chain_head",
            )
            .get()
        )
        for a in accounts
    ]


def _ledger_state(*accounts):
    """Everything a refused operation must leave as it was."""
    return _totals(*accounts), Transfer.objects.count(), Entry.objects.count()


def _balance(account) -> int:
    account.refresh_from_db()
    return account.posted_balance


@contextmanager
def _clock_at(moment):
    """The services read the time from django.utils.timezone.now."""
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


@pytest.fixture
def funded(alpha_usd, beta_usd, fund):
    fund(alpha_usd, 10_000)
    return alpha_usd, beta_usd


@pytest.fixture(autouse=True)
def _ledger_stays_consistent(db):
    yield
    assert ledger_invariants_violations() == []
    assert ledger_chain_violations() == []


# --- Expiry -----------------------------------------------------------------------------------


def test_the_beat_job_expires_a_pending_transfer_after_its_timeout(funded):
    alpha, beta = funded
    pending = transfer_create(
        request=_request(alpha, beta, 4_000, pending=True, timeout_seconds=60)
    )
    assert pending.expires_at == pending.created_at + timedelta(seconds=60)

    with _clock_at(pending.created_at + timedelta(seconds=59)):
        assert ledger_pending_expire.apply().get() == 0  # not yet
    with _clock_at(pending.created_at + timedelta(seconds=60)):
        assert ledger_pending_expire.apply().get() == 1
        assert ledger_pending_expire.apply().get() == 0  # idempotent: nothing left to do

    pending.refresh_from_db()
    assert pending.status == Transfer.Status.EXPIRED
    expiry = Transfer.objects.get(pending=pending)
    assert (expiry.kind, expiry.amount) == (Transfer.Kind.EXPIRE_PENDING, 4_000)
    alpha.refresh_from_db()
    assert (alpha.debits_pending, alpha.available_balance, alpha.posted_balance) == (
        0,
        10_000,
        10_000,
    )


def test_a_pending_transfer_without_timeout_never_expires(funded):
    alpha, beta = funded
    pending = transfer_create(request=_request(alpha, beta, 100, pending=True))
    assert pending.expires_at is None
    assert pending_transfers_expire(now=timezone.now() + timedelta(days=3650)) == 0
    pending.refresh_from_db()
    assert pending.status == Transfer.Status.PENDING


def test_posting_after_expiry_is_refused_with_pending_transfer_expired(funded):
    alpha, beta = funded
    pending = transfer_create(request=_request(alpha, beta, 700, pending=True, timeout_seconds=1))
    assert pending_transfers_expire(now=timezone.now() + timedelta(seconds=5)) == 1
    before = _ledger_state(alpha, beta)

    with pytest.raises(errors.PendingTransferExpired):
        pending_transfer_post(pending_id=pending.pk)
    with pytest.raises(errors.PendingTransferExpired):
        pending_transfer_void(pending_id=pending.pk)
    assert _ledger_state(alpha, beta) == before
    assert _balance(beta) == 0


def test_a_timed_out_pending_transfer_cannot_be_posted_even_before_the_sweep(funded):
    alpha, beta = funded
    pending = transfer_create(request=_request(alpha, beta, 700, pending=True, timeout_seconds=30))
    before = _ledger_state(alpha, beta)
    with _clock_at(pending.created_at + timedelta(seconds=30)):
        with pytest.raises(errors.PendingTransferExpired):
            pending_transfer_post(pending_id=pending.pk, amount=100)
        assert _ledger_state(alpha, beta) == before
        assert pending_transfers_expire() == 1
    alpha.refresh_from_db()
    assert alpha.debits_pending == 0


def test_the_sweep_leaves_posted_and_voided_transfers_alone(funded):
    alpha, beta = funded
    posted = transfer_create(request=_request(alpha, beta, 100, pending=True, timeout_seconds=1))
    voided = transfer_create(request=_request(alpha, beta, 200, pending=True, timeout_seconds=1))
    pending_transfer_post(pending_id=posted.pk)
    pending_transfer_void(pending_id=voided.pk)
    assert pending_transfers_expire(now=timezone.now() + timedelta(seconds=5)) == 0
    assert _balance(beta) == 100


# --- Pending transfers ----------------------------------------------------------------------


def test_a_partial_post_of_zero_is_invalid_not_already_resolved(funded):
    alpha, beta = funded
    pending = transfer_create(request=_request(alpha, beta, 500, pending=True))
    before = _ledger_state(alpha, beta)
    for amount in (0, -5):
        with pytest.raises(errors.AmountNotPositive) as caught:
            pending_transfer_post(pending_id=pending.pk, amount=amount)
        assert caught.value.code == "validation_error"
    assert _ledger_state(alpha, beta) == before
    pending_transfer_post(pending_id=pending.pk, amount=500)  # still open, still postable
    assert _balance(beta) == 500


def test_posting_more_than_pending_is_refused(funded):
    alpha, beta = funded
    pending = transfer_create(request=_request(alpha, beta, 500, pending=True))
    before = _ledger_state(alpha, beta)
    with pytest.raises(errors.AmountExceedsPending):
        pending_transfer_post(pending_id=pending.pk, amount=501)
    assert _ledger_state(alpha, beta) == before


def test_void_after_post_and_post_after_void_are_conflicts(funded):
    alpha, beta = funded
    first = transfer_create(request=_request(alpha, beta, 300, pending=True))
    second = transfer_create(request=_request(alpha, beta, 300, pending=True))
    pending_transfer_post(pending_id=first.pk)
    pending_transfer_void(pending_id=second.pk)
    before = _ledger_state(alpha, beta)
    with pytest.raises(errors.PendingAlreadyResolved):
        pending_transfer_void(pending_id=first.pk)
    with pytest.raises(errors.PendingAlreadyResolved):
        pending_transfer_post(pending_id=second.pk)
    with pytest.raises(errors.NotAPendingTransfer):
        pending_transfer_post(pending_id=Transfer.objects.get(pending=first).pk)
    with pytest.raises(errors.TransferNotFound):
        pending_transfer_post(pending_id=uuid.uuid4())
    assert _ledger_state(alpha, beta) == before


def test_a_pending_transfer_is_resolved_at_most_once_by_the_database(funded):
    alpha, beta = funded
    pending = transfer_create(request=_request(alpha, beta, 300, pending=True))
    post = pending_transfer_post(pending_id=pending.pk)
    second = Transfer(
        id=uuid.uuid4(),
        kind=Transfer.Kind.VOID_PENDING,
        status=Transfer.Status.POSTED,
        debit_account=alpha,
        credit_account=beta,
        asset_id="USD",
        amount=300,
        pending=pending,
        created_at=timezone.now(),
        digest="x" * 64,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        second.save(force_insert=True)
    assert list(Transfer.objects.filter(pending=pending)) == [post]


def test_amounts_must_be_positive_in_the_database(funded):
    alpha, beta = funded
    for amount in (0, -1):
        row = Transfer(
            id=uuid.uuid4(),
            kind=Transfer.Kind.SINGLE_PHASE,
            status=Transfer.Status.POSTED,
            debit_account=alpha,
            credit_account=beta,
            asset_id="USD",
            amount=amount,
            created_at=timezone.now(),
            digest="x" * 64,
        )
        with pytest.raises(IntegrityError), transaction.atomic():
            row.save(force_insert=True)


def test_amounts_must_be_positive_in_the_services(funded):
    alpha, beta = funded
    before = _ledger_state(alpha, beta)
    for amount in (0, -100):
        with pytest.raises(errors.AmountNotPositive) as caught:
            transfer_create(request=_request(alpha, beta, amount))
        assert caught.value.code == "validation_error"
        assert caught.value.details == {"amount": ["Must be greater than zero."]}
    assert _ledger_state(alpha, beta) == before


# --- Reversal -----------------------------------------------------------------------------------


def test_a_reversal_moves_the_money_back_once(funded, staff_user):
    alpha, beta = funded
    original = transfer_create(request=_request(alpha, beta, 2_500))
    reversal = transfer_reverse(transfer=original, acting_user=staff_user)

    assert reversal.reverses_id == original.pk
    assert (reversal.debit_account_id, reversal.credit_account_id) == (beta.pk, alpha.pk)
    assert reversal.amount == 2_500
    assert (_balance(alpha), _balance(beta)) == (10_000, 0)
    original.refresh_from_db()
    assert (original.status, original.amount) == (Transfer.Status.POSTED, 2_500)  # unedited

    before = _ledger_state(alpha, beta)
    with pytest.raises(errors.AlreadyReversed):
        transfer_reverse(transfer=original, acting_user=staff_user)
    assert _ledger_state(alpha, beta) == before


def test_a_reversal_retried_with_its_id_returns_the_reversal_it_made(funded, staff_user):
    alpha, beta = funded
    original = transfer_create(request=_request(alpha, beta, 2_500))
    reversal_id = uuid.uuid4()
    first = transfer_reverse(transfer=original, acting_user=staff_user, transfer_id=reversal_id)

    again = transfer_reverse(transfer=original, acting_user=staff_user, transfer_id=reversal_id)

    assert again.pk == first.pk == reversal_id
    assert Transfer.objects.filter(reverses=original).count() == 1
    assert (_balance(alpha), _balance(beta)) == (10_000, 0)


def test_a_posted_pending_transfer_can_be_reversed_for_the_posted_amount(funded, staff_user):
    alpha, beta = funded
    pending = transfer_create(request=_request(alpha, beta, 1_000, pending=True))
    post = pending_transfer_post(pending_id=pending.pk, amount=400)
    transfer_reverse(transfer=post, acting_user=staff_user)
    assert (_balance(alpha), _balance(beta)) == (10_000, 0)


def test_reversing_a_pending_transfer_is_refused(funded, staff_user):
    alpha, beta = funded
    pending = transfer_create(request=_request(alpha, beta, 1_000, pending=True))
    before = _ledger_state(alpha, beta)
    with pytest.raises(errors.NotAPendingTransfer) as caught:
        transfer_reverse(transfer=pending, acting_user=staff_user)
    assert caught.value.details["reason"] == "not_reversible"
    void = pending_transfer_void(pending_id=pending.pk)
    with pytest.raises(errors.NotAPendingTransfer):
        transfer_reverse(transfer=void, acting_user=staff_user)
    assert Transfer.objects.filter(reverses__isnull=False).count() == 0
    assert _ledger_state(alpha, beta)[0] != before[0]  # the void did release the hold


def test_a_reversal_the_receiver_cannot_pay_is_refused(funded, staff_user):
    alpha, beta = funded
    original = transfer_create(request=_request(alpha, beta, 1_000))
    transfer_create(request=_request(beta, alpha, 600))  # beta spent most of it
    before = _ledger_state(alpha, beta)
    with pytest.raises(errors.InsufficientFunds):
        transfer_reverse(transfer=original, acting_user=staff_user)
    assert _ledger_state(alpha, beta) == before


def test_a_reversal_id_that_names_another_transfer_is_a_conflict(funded, staff_user):
    alpha, beta = funded
    original = transfer_create(request=_request(alpha, beta, 1_000))
    other = transfer_create(request=_request(alpha, beta, 5))
    before = _ledger_state(alpha, beta)
    with pytest.raises(errors.TransferExistsWithDifferentFields):
        transfer_reverse(transfer=original, acting_user=staff_user, transfer_id=other.pk)
    assert _ledger_state(alpha, beta) == before
    # Nothing was reversed: a reversal with a fresh id still goes through.
    transfer_reverse(transfer=original, acting_user=staff_user, transfer_id=uuid.uuid4())
    assert _balance(beta) == 5


# --- Freeze, unfreeze, close ---------------------------------------------------------------------


def test_a_frozen_account_refuses_debits_and_credits_until_unfrozen(funded, staff_user):
    alpha, beta = funded
    fund_beta = transfer_create(request=_request(alpha, beta, 1_000))
    account_freeze(account=beta, acting_user=staff_user, reason="investigation")
    before = _ledger_state(alpha, beta)
    with pytest.raises(errors.AccountFrozen):
        transfer_create(request=_request(alpha, beta, 1))  # credit to the frozen account
    with pytest.raises(errors.AccountFrozen):
        transfer_create(request=_request(beta, alpha, 1))  # debit from it
    with pytest.raises(errors.AccountFrozen):
        transfer_create(request=_request(beta, alpha, 1, pending=True))
    with pytest.raises(errors.AccountFrozen):
        transfer_reverse(transfer=fund_beta, acting_user=staff_user)
    assert _ledger_state(alpha, beta) == before

    account_unfreeze(account=beta, acting_user=staff_user)
    transfer_create(request=_request(beta, alpha, 1))
    assert _balance(beta) == 999


def test_a_pending_transfer_on_a_frozen_account_can_be_voided_not_posted(funded, staff_user):
    alpha, beta = funded
    pending = transfer_create(request=_request(alpha, beta, 800, pending=True))
    account_freeze(account=alpha, acting_user=staff_user)
    before = _ledger_state(alpha, beta)
    with pytest.raises(errors.AccountFrozen):
        pending_transfer_post(pending_id=pending.pk)
    assert _ledger_state(alpha, beta) == before

    pending_transfer_void(pending_id=pending.pk)
    alpha.refresh_from_db()
    assert (alpha.status, alpha.debits_pending, alpha.posted_balance) == ("frozen", 0, 10_000)


def test_a_pending_transfer_on_a_frozen_account_still_expires(funded, staff_user):
    alpha, beta = funded
    transfer_create(request=_request(alpha, beta, 800, pending=True, timeout_seconds=1))
    account_freeze(account=beta, acting_user=staff_user)
    assert pending_transfers_expire(now=timezone.now() + timedelta(seconds=5)) == 1
    alpha.refresh_from_db()
    assert alpha.debits_pending == 0


def test_status_changes_follow_the_allowed_transitions(alpha_usd, staff_user):
    with pytest.raises(errors.AccountStatusConflict):
        account_unfreeze(account=alpha_usd, acting_user=staff_user)  # open: nothing to undo
    account_freeze(account=alpha_usd, acting_user=staff_user)
    with pytest.raises(errors.AccountStatusConflict):
        account_freeze(account=alpha_usd, acting_user=staff_user)
    account_close(account=alpha_usd, acting_user=staff_user)  # frozen -> closed, empty
    for change in (account_freeze, account_unfreeze, account_close):
        with pytest.raises(errors.AccountStatusConflict):
            change(account=alpha_usd, acting_user=staff_user)


def test_close_is_refused_with_a_balance_or_a_hold_and_allowed_at_zero(funded, staff_user):
    alpha, beta = funded
    with pytest.raises(errors.AccountNotEmpty):
        account_close(account=alpha, acting_user=staff_user)
    pending = transfer_create(request=_request(alpha, beta, 10_000, pending=True))
    with pytest.raises(errors.AccountNotEmpty):  # beta: zero posted, but money incoming
        account_close(account=beta, acting_user=staff_user)
    pending_transfer_post(pending_id=pending.pk)
    account_close(account=alpha, acting_user=staff_user, reason="client left")
    alpha.refresh_from_db()
    assert alpha.status == Account.Status.CLOSED


def test_a_closed_account_refuses_transfers(alpha_usd, beta_usd, fund, staff_user):
    fund(beta_usd, 1_000)
    account_close(account=alpha_usd, acting_user=staff_user)
    before = _ledger_state(alpha_usd, beta_usd)
    with pytest.raises(errors.AccountFrozen):
        transfer_create(request=_request(beta_usd, alpha_usd, 1))
    with pytest.raises(errors.AccountFrozen):
        transfer_create(request=_request(alpha_usd, beta_usd, 1))
    assert _ledger_state(alpha_usd, beta_usd) == before


# --- Batches -------------------------------------------------------------------------------------


def test_an_atomic_batch_with_one_bad_item_writes_nothing(funded, other_partner):
    alpha, beta = funded
    beta_eur = account_open(partner=other_partner, asset="EUR")
    requests = [
        _request(alpha, beta, 1_000, id=uuid.uuid4()),
        _request(alpha, beta, 2_000, id=uuid.uuid4(), pending=True),
        _request(alpha, beta_eur, 5, asset="USD", id=uuid.uuid4()),  # wrong asset
        _request(alpha, beta, 3_000, id=uuid.uuid4()),
    ]
    before = _ledger_state(alpha, beta, beta_eur)

    with pytest.raises(errors.BatchRejected) as caught:
        transfer_batch_create(requests=requests, atomic=True)

    assert _ledger_state(alpha, beta, beta_eur) == before
    assert not Transfer.objects.filter(pk__in=[r.id for r in requests]).exists()
    results = caught.value.results
    assert [r.index for r in results] == [0, 1, 2, 3]
    assert all(r.transfer is None for r in results)
    assert isinstance(results[2].error, errors.AssetMismatch)
    for i in (0, 1, 3):
        assert isinstance(results[i].error, LinkedTransferFailed)
        assert results[i].error.code == "linked_transfer_failed"
    # The batch answers as its failing transfer would: a 400 naming that item's field.
    assert (caught.value.code, caught.value.status, caught.value.index) == (
        "validation_error",
        400,
        2,
    )
    assert list(caught.value.details) == ["transfers[2].asset"]


def test_an_atomic_batch_fails_as_a_whole_when_the_funds_run_out_midway(funded):
    alpha, beta = funded
    requests = [_request(alpha, beta, 4_000) for _ in range(3)]  # 12,000 of 10,000
    with pytest.raises(errors.BatchRejected) as caught:
        transfer_batch_create(requests=requests, atomic=True)
    assert [type(r.error) for r in caught.value.results] == [
        LinkedTransferFailed,
        LinkedTransferFailed,
        errors.InsufficientFunds,
    ]
    assert _balance(alpha) == 10_000


def test_an_atomic_batch_of_one_is_still_a_batch(funded):
    """Callers of the batch service read per-item results, whatever the batch size."""
    alpha, beta = funded
    with pytest.raises(errors.BatchRejected) as caught:
        transfer_batch_create(requests=[_request(alpha, beta, 10_001)], atomic=True)
    (result,) = caught.value.results
    assert isinstance(result.error, errors.InsufficientFunds)


def test_a_good_atomic_batch_is_linked(funded):
    alpha, beta = funded
    results = transfer_batch_create(
        requests=[_request(alpha, beta, 100), _request(alpha, beta, 200, pending=True)],
        atomic=True,
    )
    batch_ids = {r.transfer.batch_id for r in results}
    assert len(batch_ids) == 1 and None not in batch_ids
    assert Transfer.objects.filter(batch_id__in=batch_ids).count() == 2


def test_an_independent_batch_applies_the_good_items_and_reports_the_bad(funded, staff_user):
    alpha, beta = funded
    account_freeze(account=beta, acting_user=staff_user)
    carol = account_open(partner=partner_create(slug="carol", name="Carol"), asset="USD")
    requests = [
        _request(alpha, carol, 1_000),
        _request(alpha, beta, 1_000),  # frozen
        _request(alpha, carol, 0),  # not positive
        _request(alpha, carol, 9_001),  # only 9,000 left by now
        _request(alpha, carol, 2_000, pending=True),
        _request(alpha, alpha, 1),  # same account
        _request(alpha, carol, 7_000),  # 7,000 available after the hold
    ]

    results = transfer_batch_create(requests=requests, atomic=False)

    assert [r.ok for r in results] == [True, False, False, False, True, False, True]
    assert [type(r.error) for r in results if not r.ok] == [
        errors.AccountFrozen,
        errors.AmountNotPositive,
        errors.InsufficientFunds,
        errors.AccountsMustDiffer,
    ]
    assert all(r.transfer.batch_id is None for r in results if r.ok)
    alpha.refresh_from_db()
    assert (alpha.posted_balance, alpha.debits_pending, alpha.available_balance) == (
        2_000,
        2_000,
        0,
    )
    assert _balance(carol) == 8_000


def test_a_replayed_batch_applies_nothing_new(funded):
    alpha, beta = funded
    requests = [
        _request(alpha, beta, 100, id=uuid.uuid4()),
        _request(alpha, beta, 200, id=uuid.uuid4(), pending=True, timeout_seconds=60),
        _request(alpha, beta, 300, id=uuid.uuid4()),
    ]
    first = transfer_batch_create(requests=requests, atomic=True)
    state = _ledger_state(alpha, beta)

    for atomic in (True, False):
        again = transfer_batch_create(requests=requests, atomic=atomic)
        assert [r.replayed for r in again] == [True, True, True]
        assert [r.transfer.pk for r in again] == [r.transfer.pk for r in first]
        assert _ledger_state(alpha, beta) == state


def test_a_batch_reusing_an_id_with_other_fields_is_refused(funded):
    alpha, beta = funded
    used = transfer_create(request=_request(alpha, beta, 100, id=uuid.uuid4()))
    state = _ledger_state(alpha, beta)
    requests = [_request(alpha, beta, 50, id=uuid.uuid4()), _request(alpha, beta, 101, id=used.pk)]
    with pytest.raises(errors.BatchRejected) as caught:
        transfer_batch_create(requests=requests, atomic=True)
    assert isinstance(caught.value.results[1].error, errors.TransferExistsWithDifferentFields)
    assert _ledger_state(alpha, beta) == state

    results = transfer_batch_create(requests=requests, atomic=False)
    assert [r.ok for r in results] == [True, False]
    assert isinstance(results[1].error, errors.TransferExistsWithDifferentFields)


def test_the_same_id_twice_in_one_batch_is_applied_once(funded):
    alpha, beta = funded
    request = _request(alpha, beta, 100, id=uuid.uuid4())
    results = transfer_batch_create(requests=[request, request], atomic=False)
    assert [r.replayed for r in results] == [False, True]
    assert _balance(beta) == 100


def test_a_replayed_pending_transfer_with_another_timeout_is_a_conflict(funded):
    alpha, beta = funded
    request = _request(alpha, beta, 100, id=uuid.uuid4(), pending=True, timeout_seconds=60)
    transfer_create(request=request)
    state = _ledger_state(alpha, beta)
    for timeout in (None, 3600):
        changed = TransferRequest(**{**request.__dict__, "timeout_seconds": timeout})
        with pytest.raises(errors.TransferExistsWithDifferentFields):
            transfer_create(request=changed)
    assert transfer_create(request=request).pk == request.id
    assert _ledger_state(alpha, beta) == state


def test_a_replay_whose_metadata_says_1_where_the_first_said_true_is_a_conflict(funded):
    alpha, beta = funded
    request = _request(alpha, beta, 100, id=uuid.uuid4(), metadata={"approved": True})
    transfer_create(request=request)
    changed = TransferRequest(**{**request.__dict__, "metadata": {"approved": 1}})
    with pytest.raises(errors.TransferExistsWithDifferentFields):
        transfer_create(request=changed)
    assert transfer_create(request=request).pk == request.id  # the same body still replays
    assert _balance(beta) == 100


# --- The partner rule ---------------------------------------------------------------------------


def test_a_partner_may_debit_only_its_own_accounts(funded, partner, other_partner):
    alpha, beta = funded
    transfer_create(request=_request(alpha, beta, 1_000))
    before = _ledger_state(alpha, beta)
    with pytest.raises(errors.AccountNotFound):
        transfer_create(request=_request(beta, alpha, 10), partner=partner)
    results = transfer_batch_create(
        requests=[_request(beta, alpha, 10), _request(alpha, beta, 10)],
        atomic=False,
        partner=other_partner,
    )
    assert isinstance(results[1].error, errors.AccountNotFound)
    assert results[0].ok
    assert _balance(beta) == before[0][1][4] - 10


def test_a_partner_may_credit_another_partners_open_account(funded, partner, staff_user):
    alpha, beta = funded
    transfer_create(request=_request(alpha, beta, 250), partner=partner)
    assert _balance(beta) == 250
    account_freeze(account=beta, acting_user=staff_user)
    with pytest.raises(errors.AccountFrozen):
        transfer_create(request=_request(alpha, beta, 1), partner=partner)


def test_a_partner_may_post_or_void_only_its_own_debits(funded, partner, other_partner):
    from core.errors import PermissionDenied

    alpha, beta = funded
    # Placed by the partner itself: only the origin that placed a hold may release it.
    pending = transfer_create(request=_request(alpha, beta, 500, pending=True), partner=partner)
    stranger = partner_create(slug="stranger", name="Stranger")
    with pytest.raises(errors.TransferNotFound):
        pending_transfer_void(pending_id=pending.pk, partner=stranger)
    with pytest.raises(PermissionDenied):  # the receiver sees it but cannot take the money
        pending_transfer_post(pending_id=pending.pk, partner=other_partner)
    pending_transfer_post(pending_id=pending.pk, partner=partner)
    assert _balance(beta) == 500


def test_a_partner_cannot_replay_another_partners_transfer_id(funded, other_partner):
    alpha, beta = funded
    request = _request(alpha, beta, 100, id=uuid.uuid4())
    transfer_create(request=request)
    with pytest.raises(errors.TransferExistsWithDifferentFields):
        transfer_create(request=request, partner=other_partner)


# --- Adjustments (four eyes) ------------------------------------------------------------------


@pytest.fixture
def proposed(alpha_usd, house_usd, staff_user):
    return adjustment_propose(
        debit_account=house_usd["settlement_bank"],
        credit_account=alpha_usd,
        amount=12_345,
        reason="wire received 2024-05-01, ref 991",
        acting_user=staff_user,
        code="deposit",
    )


def test_the_proposer_cannot_approve_their_own_adjustment(proposed, staff_user, alpha_usd):
    with pytest.raises(errors.FourEyesViolation):
        adjustment_approve(adjustment=proposed, acting_user=staff_user)
    proposed.refresh_from_db()
    assert (proposed.state, proposed.transfer_id) == (Adjustment.State.PROPOSED, None)
    assert Transfer.objects.count() == 0
    assert _balance(alpha_usd) == 0
    with pytest.raises(errors.FourEyesViolation):
        adjustment_reject(adjustment=proposed, acting_user=staff_user)


def test_another_staff_member_approves_and_it_posts_once(
    proposed, staff_user, second_staff_user, alpha_usd
):
    approved = adjustment_approve(adjustment=proposed, acting_user=second_staff_user)
    assert approved.state == Adjustment.State.APPROVED
    assert approved.decided_by == second_staff_user
    transfer = Transfer.objects.get()
    assert approved.transfer_id == transfer.pk == proposed.pk
    assert (transfer.amount, transfer.code, transfer.created_by_id) == (
        12_345,
        "deposit",
        second_staff_user.pk,
    )
    assert _balance(alpha_usd) == 12_345

    with pytest.raises(errors.AccountStatusConflict):
        adjustment_approve(adjustment=proposed, acting_user=second_staff_user)
    with pytest.raises(errors.AccountStatusConflict):
        adjustment_reject(adjustment=proposed, acting_user=second_staff_user)
    assert Transfer.objects.count() == 1
    assert _balance(alpha_usd) == 12_345


def test_a_rejected_adjustment_never_posts(proposed, second_staff_user, alpha_usd):
    adjustment_reject(adjustment=proposed, acting_user=second_staff_user)
    with pytest.raises(errors.AccountStatusConflict):
        adjustment_approve(adjustment=proposed, acting_user=second_staff_user)
    assert Transfer.objects.count() == 0


def test_an_adjustment_that_breaks_a_limit_stays_proposed(
    alpha_usd, house_usd, staff_user, second_staff_user
):
    withdrawal = adjustment_propose(
        debit_account=alpha_usd,
        credit_account=house_usd["settlement_bank"],
        amount=1,
        reason="fee correction",
        acting_user=staff_user,
    )
    with pytest.raises(errors.InsufficientFunds):
        adjustment_approve(adjustment=withdrawal, acting_user=second_staff_user)
    withdrawal.refresh_from_db()
    assert (withdrawal.state, withdrawal.transfer_id) == (Adjustment.State.PROPOSED, None)


def test_a_reversal_is_proposed_by_one_and_posted_by_another(funded, staff_user, second_staff_user):
    alpha, beta = funded
    original = transfer_create(request=_request(alpha, beta, 2_500))
    proposal = adjustment_reversal_propose(
        transfer=original, reason="sent to the wrong partner", acting_user=staff_user
    )
    assert (proposal.debit_account_id, proposal.credit_account_id, proposal.amount) == (
        beta.pk,
        alpha.pk,
        2_500,
    )
    assert (proposal.reverses_id, proposal.code, proposal.state) == (
        original.pk,
        "reversal",
        Adjustment.State.PROPOSED,
    )
    assert not Transfer.objects.filter(reverses=original).exists()
    assert (_balance(alpha), _balance(beta)) == (7_500, 2_500)
    with pytest.raises(errors.ReversalAlreadyProposed):
        adjustment_reversal_propose(transfer=original, reason="again", acting_user=staff_user)
    with pytest.raises(errors.FourEyesViolation):
        adjustment_approve(adjustment=proposal, acting_user=staff_user)

    approved = adjustment_approve(adjustment=proposal, acting_user=second_staff_user)

    reversal = Transfer.objects.get(reverses=original)
    assert approved.transfer_id == reversal.pk == proposal.pk
    assert (reversal.debit_account_id, reversal.credit_account_id) == (beta.pk, alpha.pk)
    assert reversal.created_by_id == second_staff_user.pk
    assert (_balance(alpha), _balance(beta)) == (10_000, 0)
    with pytest.raises(errors.AlreadyReversed):
        adjustment_reversal_propose(transfer=original, reason="once more", acting_user=staff_user)


def test_a_reversal_proposal_needs_posted_money_and_a_reason(funded, staff_user):
    alpha, beta = funded
    pending = transfer_create(request=_request(alpha, beta, 1_000, pending=True))
    with pytest.raises(errors.NotAPendingTransfer):
        adjustment_reversal_propose(transfer=pending, reason="undo", acting_user=staff_user)
    posted = transfer_create(request=_request(alpha, beta, 1_000))
    with pytest.raises(errors.ValidationFailed):
        adjustment_reversal_propose(transfer=posted, reason="  ", acting_user=staff_user)
    assert not Adjustment.objects.exists()


def test_a_rejected_reversal_can_be_proposed_again(funded, staff_user, second_staff_user):
    alpha, beta = funded
    original = transfer_create(request=_request(alpha, beta, 1_000))
    first = adjustment_reversal_propose(transfer=original, reason="typo", acting_user=staff_user)
    adjustment_reject(adjustment=first, acting_user=second_staff_user)

    second = adjustment_reversal_propose(
        transfer=original, reason="confirmed with the partner", acting_user=staff_user
    )
    adjustment_approve(adjustment=second, acting_user=second_staff_user)

    assert Transfer.objects.get(reverses=original).pk == second.pk
    assert (_balance(alpha), _balance(beta)) == (10_000, 0)


def test_a_reversal_the_receiver_can_no_longer_pay_stays_proposed(
    funded, staff_user, second_staff_user
):
    alpha, beta = funded
    original = transfer_create(request=_request(alpha, beta, 1_000))
    proposal = adjustment_reversal_propose(
        transfer=original, reason="duplicate payment", acting_user=staff_user
    )
    transfer_create(request=_request(beta, alpha, 600))  # beta spent most of it meanwhile
    before = _ledger_state(alpha, beta)
    with pytest.raises(errors.InsufficientFunds):
        adjustment_approve(adjustment=proposal, acting_user=second_staff_user)
    proposal.refresh_from_db()
    assert (proposal.state, proposal.transfer_id) == (Adjustment.State.PROPOSED, None)
    assert _ledger_state(alpha, beta) == before


def test_totals_that_would_overflow_a_bigint_are_refused_not_crashed(make_partner_account):
    from ledger.posting import MAX_TOTAL
    from ledger.services import house_accounts_ensure

    bank = house_accounts_ensure(asset="USD")["settlement_bank"]
    account = make_partner_account()

    def deposit(amount):
        return transfer_create(
            request=TransferRequest(
                debit_account_id=bank.pk,
                credit_account_id=account.pk,
                amount=amount,
                asset="USD",
            )
        )

    deposit(MAX_TOTAL - 10)
    with pytest.raises(errors.TotalsOverflow):
        deposit(11)
    account.refresh_from_db()
    assert account.credits_posted == MAX_TOTAL - 10
