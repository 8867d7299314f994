"""Races on PostgreSQL, with real threads and real row locks (committed data: transaction=True)."""

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from ledger import errors
from ledger.integrity import ledger_chain_violations, ledger_invariants_violations
from ledger.models import Account, Transfer
from ledger.services import (
    TransferRequest,
    pending_transfer_post,
    pending_transfer_void,
    transfer_create,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _race(count: int, work):
    """Run work(i) in `count` threads released at the same instant; return outcomes."""
    start = threading.Barrier(count)

    def run(i):
        try:
            start.wait()
            return work(i)
        except Exception as exc:  # the outcome under test, kept for assertions
            return exc
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def _request(debit, credit, amount, **kw):
    return TransferRequest(
        debit_account_id=debit.pk, credit_account_id=credit.pk, amount=amount, asset="USD", **kw
    )


def test_racing_withdrawals_never_overdraw_the_account(alpha_usd, beta_usd, fund):
    fund(alpha_usd, 1_000)  # 10.00

    outcomes = _race(50, lambda i: transfer_create(request=_request(alpha_usd, beta_usd, 100)))

    posted = [o for o in outcomes if isinstance(o, Transfer)]
    refused = [o for o in outcomes if isinstance(o, errors.InsufficientFunds)]
    assert (len(posted), len(refused)) == (10, 40), outcomes
    alpha_usd.refresh_from_db()
    beta_usd.refresh_from_db()
    assert alpha_usd.posted_balance == 0
    assert beta_usd.posted_balance == 1_000
    assert ledger_invariants_violations() == []


def test_transfers_in_opposite_directions_never_deadlock(alpha_usd, beta_usd, fund):
    fund(alpha_usd, 100_000)
    fund(beta_usd, 100_000)

    def ping_pong(i):
        debit, credit = (alpha_usd, beta_usd) if i % 2 else (beta_usd, alpha_usd)
        return [transfer_create(request=_request(debit, credit, 10 + i)) for _ in range(5)]

    outcomes = _race(16, ping_pong)

    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    alpha_usd.refresh_from_db()
    beta_usd.refresh_from_db()
    # alpha received from the even threads and paid the odd ones, 5 times each.
    alpha_net = sum(5 * (10 + i) * (-1 if i % 2 else 1) for i in range(16))
    assert alpha_usd.posted_balance == 100_000 + alpha_net
    assert beta_usd.posted_balance == 100_000 - alpha_net
    assert ledger_invariants_violations() == []
    assert ledger_chain_violations() == []


def test_the_same_transfer_id_sent_twenty_times_at_once_is_applied_once(alpha_usd, beta_usd, fund):
    fund(alpha_usd, 10_000)
    request = _request(alpha_usd, beta_usd, 2_500, id=uuid.uuid4())

    outcomes = _race(20, lambda i: transfer_create(request=request))

    assert all(isinstance(o, Transfer) and o.pk == request.id for o in outcomes), outcomes
    assert Transfer.objects.filter(pk=request.id).count() == 1
    alpha_usd.refresh_from_db()
    assert alpha_usd.posted_balance == 7_500


def test_racing_post_and_void_of_one_pending_transfer_resolve_it_once(alpha_usd, beta_usd, fund):
    fund(alpha_usd, 10_000)
    pending = transfer_create(request=_request(alpha_usd, beta_usd, 4_000, pending=True))

    def resolve(i):
        if i % 2:
            return pending_transfer_post(pending_id=pending.pk)
        return pending_transfer_void(pending_id=pending.pk)

    outcomes = _race(10, resolve)

    resolutions = [o for o in outcomes if isinstance(o, Transfer)]
    assert len(resolutions) == 1, outcomes
    assert all(
        isinstance(o, errors.PendingAlreadyResolved) for o in outcomes if o not in resolutions
    )
    alpha_usd.refresh_from_db()
    assert alpha_usd.debits_pending == 0
    expected = 6_000 if resolutions[0].kind == Transfer.Kind.POST_PENDING else 10_000
    assert alpha_usd.posted_balance == expected
    assert ledger_invariants_violations() == []


def test_a_hot_account_under_concurrent_batches_stays_consistent(
    alpha_usd, fund, make_partner_account
):
    from ledger.services import transfer_batch_create

    fund(alpha_usd, 5_000)
    receivers = [make_partner_account() for _ in range(5)]

    def batch(i):
        requests = [_request(alpha_usd, receivers[j], 100) for j in range(5)]
        return transfer_batch_create(requests=requests, atomic=True)

    outcomes = _race(12, batch)  # 12 batches of 5.00 against 50.00: exactly 10 fit

    applied = [o for o in outcomes if isinstance(o, list)]
    assert len(applied) == 10
    assert all(isinstance(o, errors.BatchRejected) for o in outcomes if o not in applied)
    assert Account.objects.get(pk=alpha_usd.pk).posted_balance == 0
    assert ledger_invariants_violations() == []


def test_the_checks_read_one_instant_while_transfers_commit(alpha_usd, beta_usd, fund, monkeypatch):
    """A transfer committed midway through a check (between its queries) is not half seen:
    no false alarm about totals or chain heads, and the next run sees it whole."""
    from ledger import integrity

    fund(alpha_usd, 10_000)

    def commit_a_transfer_elsewhere():
        def work():
            try:
                transfer_create(request=_request(alpha_usd, beta_usd, 100))
            finally:
                connection.close()

        thread = threading.Thread(target=work)
        thread.start()
        thread.join(timeout=10)

    real_sums_by, sums = integrity._sums_by, []

    def sums_then_commit(*args, **kwargs):
        result = real_sums_by(*args, **kwargs)
        if not sums:
            sums.append(result)
            commit_a_transfer_elsewhere()  # after the first sum, before the account scan
        return result

    monkeypatch.setattr(integrity, "_sums_by", sums_then_commit)
    assert ledger_invariants_violations() == []
    monkeypatch.undo()

    def progress(message):
        if "digests checked" in message:  # before the chain heads and entries are read
            commit_a_transfer_elsewhere()

    assert ledger_chain_violations(progress=progress) == []
    assert Transfer.objects.filter(debit_account=alpha_usd).count() == 2
    assert ledger_invariants_violations() == [] and ledger_chain_violations() == []


def test_batches_sharing_client_ids_in_opposite_orders_never_deadlock(fund, make_partner_account):
    """A client retrying with its list reshuffled, on other accounts: one batch applies,
    the other is refused for reusing the ids, and neither dies in a deadlock."""
    from ledger.services import transfer_batch_create

    for _round in range(3):
        payers = [make_partner_account(), make_partner_account()]
        payees = [make_partner_account(), make_partner_account()]
        for payer in payers:
            fund(payer, 1_000_000)
        ids = [uuid.uuid4() for _ in range(400)]

        def batch(i, ids=ids, payers=payers, payees=payees):
            order = ids if i == 0 else ids[::-1]
            requests = [_request(payers[i], payees[i], 1, id=id_) for id_ in order]
            return transfer_batch_create(requests=requests, atomic=True)

        outcomes = _race(2, batch)

        applied = [o for o in outcomes if isinstance(o, list)]
        refused = [o for o in outcomes if isinstance(o, errors.BatchRejected)]
        assert (len(applied), len(refused)) == (1, 1), outcomes
        assert refused[0].code == "conflict"
        assert Transfer.objects.filter(pk__in=ids).count() == 400
    assert ledger_invariants_violations() == []


def test_two_first_uses_of_an_asset_open_its_house_accounts_once(db):
    from ledger.services import house_accounts_ensure

    outcomes = _race(2, lambda i: house_accounts_ensure(asset="CHF"))

    assert all(isinstance(o, dict) for o in outcomes), outcomes
    assert {a.pk for a in outcomes[0].values()} == {a.pk for a in outcomes[1].values()}
    assert Account.objects.filter(partner=None, asset_id="CHF").count() == len(outcomes[0])


def test_racing_shrinks_cancels_and_settlements_of_one_hold_resolve_it_once(
    alpha_usd, beta_usd, fund
):
    """An order's cancel (shrink), its settlement (post part, keep the rest) and a staff
    void race for one hold: one wins, the others are told it was resolved."""
    from ledger.models import HoldEvent
    from ledger.services import HoldOperation, ledger_apply, pending_transfer_shrink

    fund(alpha_usd, 10_000)
    hold = (
        ledger_apply(
            origin=Transfer.Origin.ORDER,
            transfers=[_request(alpha_usd, beta_usd, 4_000, pending=True, origin_ref="ord-1")],
        )
        .transfers[0]
        .transfer
    )

    def change(i):
        if i % 3 == 0:
            return pending_transfer_shrink(pending_id=hold.pk, keep=1_000, origin="order")
        if i % 3 == 1:
            op = HoldOperation(pending_id=hold.pk, action="post", amount=1_000, keep=2_000)
            return ledger_apply(origin="settlement", hold_operations=[op]).holds[0]
        return pending_transfer_void(pending_id=hold.pk, origin="staff")

    outcomes = _race(9, change)

    won = [o for o in outcomes if not isinstance(o, Exception)]
    assert len(won) == 1, outcomes
    assert all(isinstance(o, errors.PendingAlreadyResolved) for o in outcomes if o not in won)
    assert Transfer.objects.filter(replaces=hold).count() <= 1
    assert HoldEvent.objects.filter(hold=hold).count() == 1
    alpha_usd.refresh_from_db()
    held = Transfer.objects.filter(replaces=hold).values_list("amount", flat=True).first() or 0
    assert alpha_usd.debits_pending == held
    assert ledger_invariants_violations() == [] and ledger_chain_violations() == []
