"""Holds as other apps use them (issue 10): who placed a hold and who may release it,
shrinking a hold and posting part of it while the rest stays held, the hold's origin told of
every change, and ledger_apply (hold operations and new transfers in one transaction)."""

import uuid
from unittest import mock

import pytest
from django.db import transaction

from ledger import errors, locking
from ledger.hooks import hold_changed, hold_events_deliver
from ledger.integrity import ledger_chain_violations, ledger_invariants_violations
from ledger.models import Account, Entry, HoldEvent, Transfer
from ledger.selectors import hold_current, holds_by_origin, transfer_by_id
from ledger.services import (
    HoldOperation,
    TransferRequest,
    ledger_apply,
    pending_transfer_post,
    pending_transfer_shrink,
    pending_transfer_void,
    transfer_create,
)
from ledger.tasks import ledger_hold_events_deliver
from tests.ledger.conftest import origin_hold

ORDER, SETTLEMENT, RISK, STAFF = (
    Transfer.Origin.ORDER,
    Transfer.Origin.SETTLEMENT,
    Transfer.Origin.RISK,
    Transfer.Origin.STAFF,
)


@pytest.fixture
def funded(alpha_usd, beta_usd, fund):
    fund(alpha_usd, 10_000)
    return alpha_usd, beta_usd


def _totals(account) -> tuple[int, int, int, int]:
    account = Account.objects.get(pk=account.pk)
    return (
        account.debits_pending,
        account.debits_posted,
        account.credits_pending,
        account.credits_posted,
    )


def _clean():
    return ledger_invariants_violations() == [] and ledger_chain_violations() == []


# --- Who placed a hold -------------------------------------------------------------------


def test_a_hold_records_the_origin_that_placed_it(funded):
    alpha, beta = funded
    hold = origin_hold(alpha, beta, 1_000, ref="ord-42")
    hold.refresh_from_db()
    assert (hold.origin, hold.origin_ref, hold.status) == ("order", "ord-42", "pending")
    assert list(holds_by_origin(origin=ORDER, origin_ref="ord-42")) == [hold]
    assert transfer_by_id(transfer_id=hold.pk) == hold


def test_an_orders_hold_never_expires_by_itself(funded):
    alpha, beta = funded
    before = Transfer.objects.count()
    with pytest.raises(errors.OrderHoldTimeout) as refused:
        origin_hold(alpha, beta, 1_000, timeout_seconds=60)
    assert "timeout_seconds" in refused.value.details
    assert Transfer.objects.count() == before
    assert origin_hold(alpha, beta, 1_000).expires_at is None


def test_the_partner_cannot_post_or_void_a_hold_it_did_not_place(funded, partner):
    alpha, beta = funded
    hold = origin_hold(alpha, beta, 1_000, ref="ord-7")
    for release in (pending_transfer_void, pending_transfer_post):
        with pytest.raises(errors.HoldOwnedElsewhere) as refused:
            release(pending_id=hold.pk, partner=partner)
        assert refused.value.details["holder"] == {"origin": "order", "ref": "ord-7"}
    with pytest.raises(errors.HoldOwnedElsewhere):  # another app is no more entitled
        pending_transfer_void(pending_id=hold.pk, origin=RISK)
    assert _totals(alpha) == (1_000, 0, 0, 10_000)
    hold.refresh_from_db()
    assert hold.status == "pending"


def test_settlement_and_staff_may_release_any_hold(funded):
    alpha, beta = funded
    settled = pending_transfer_post(pending_id=origin_hold(alpha, beta, 300).pk, origin=SETTLEMENT)
    voided = pending_transfer_void(pending_id=origin_hold(alpha, beta, 200).pk, origin=STAFF)
    assert (settled.origin, voided.origin) == ("settlement", "staff")
    assert _totals(alpha) == (0, 300, 0, 10_000)
    assert _clean()


def test_a_partners_own_hold_is_still_its_own_to_release(funded, partner):
    alpha, beta = funded
    request = TransferRequest(
        debit_account_id=alpha.pk,
        credit_account_id=beta.pk,
        amount=500,
        asset="USD",
        pending=True,
    )
    hold = transfer_create(request=request, partner=partner)
    assert hold.origin == "partner_api"
    with pytest.raises(errors.HoldOwnedElsewhere):  # an order cannot release it either
        pending_transfer_void(pending_id=hold.pk, origin=ORDER)
    pending_transfer_void(pending_id=hold.pk, partner=partner)
    assert _totals(alpha) == (0, 0, 0, 10_000)


def test_a_replay_from_another_origin_is_a_conflict(funded, partner):
    alpha, beta = funded
    hold = origin_hold(alpha, beta, 100)
    same = TransferRequest(
        id=hold.pk,
        debit_account_id=alpha.pk,
        credit_account_id=beta.pk,
        amount=100,
        asset="USD",
        pending=True,
        origin_ref="order-1",
    )
    assert ledger_apply(origin=ORDER, transfers=[same]).transfers[0].replayed
    with pytest.raises(errors.TransferExistsWithDifferentFields):
        transfer_create(request=same, partner=partner)


# --- Shrinking a hold --------------------------------------------------------------------


def test_shrinking_a_hold_releases_only_what_it_no_longer_needs(funded):
    alpha, beta = funded
    hold = origin_hold(alpha, beta, 1_000, ref="ord-9")
    change = pending_transfer_shrink(pending_id=hold.pk, keep=400, origin=ORDER)
    hold.refresh_from_db()
    successor = change.successor
    assert hold.status == "voided" and change.resolution.kind == "void_pending"
    assert change.resolution.pending_id == hold.pk and change.resolution.amount == 1_000
    assert (successor.kind, successor.status, successor.amount) == ("pending", "pending", 400)
    assert successor.replaces_id == hold.pk
    assert (successor.debit_account_id, successor.credit_account_id) == (alpha.pk, beta.pk)
    assert (successor.origin, successor.origin_ref, successor.code) == ("order", "ord-9", hold.code)
    assert _totals(alpha) == (400, 0, 0, 10_000)
    assert _totals(beta) == (0, 0, 400, 0)
    assert hold_current(hold_id=hold.pk) == successor
    assert list(holds_by_origin(origin=ORDER, origin_ref="ord-9")) == [successor]
    assert _clean()


def test_filled_in_part_then_cancelled_keeps_only_what_fills_consumed(funded):
    """The order holds 1,000, fills consume 400, the rest is cancelled: 600 comes back at
    once, and settlement later posts exactly the 400 still held."""
    alpha, beta = funded
    hold = origin_hold(alpha, beta, 1_000)
    kept = pending_transfer_shrink(pending_id=hold.pk, keep=400, origin=ORDER).successor
    alpha.refresh_from_db()
    assert alpha.available_balance == 9_600
    ledger_apply(
        origin=SETTLEMENT,
        hold_operations=[HoldOperation(pending_id=kept.pk, action=HoldOperation.POST)],
    )
    assert _totals(alpha) == (0, 400, 0, 10_000)
    assert _totals(beta) == (0, 0, 0, 400)
    assert _clean()


def test_a_partial_post_may_keep_the_rest_held(funded):
    """Settlement posts what a fill consumed while the order stays open."""
    alpha, beta = funded
    hold = origin_hold(alpha, beta, 1_000)
    applied = ledger_apply(
        origin=SETTLEMENT,
        hold_operations=[
            HoldOperation(pending_id=hold.pk, action=HoldOperation.POST, amount=300, keep=700)
        ],
    )
    (change,) = applied.holds
    assert (change.resolution.kind, change.resolution.amount) == ("post_pending", 300)
    assert (change.successor.amount, change.successor.replaces_id) == (700, hold.pk)
    assert change.successor.origin == "order"  # still the order's to shrink or cancel
    assert _totals(alpha) == (700, 300, 0, 10_000)
    pending_transfer_void(pending_id=change.successor.pk, origin=ORDER)
    assert _totals(alpha) == (0, 300, 0, 10_000)
    assert _clean()


@pytest.mark.parametrize("keep", [0, -1, 1_000, 1_001])
def test_a_shrink_must_release_something_and_keep_something(funded, keep):
    alpha, beta = funded
    hold = origin_hold(alpha, beta, 1_000)
    before = Transfer.objects.count(), _totals(alpha)
    with pytest.raises(errors.KeepNotLessThanHeld):
        pending_transfer_shrink(pending_id=hold.pk, keep=keep, origin=ORDER)
    assert (Transfer.objects.count(), _totals(alpha)) == before


def test_a_post_cannot_keep_more_than_it_leaves(funded):
    alpha, beta = funded
    hold = origin_hold(alpha, beta, 1_000)
    op = HoldOperation(pending_id=hold.pk, action=HoldOperation.POST, amount=600, keep=401)
    with pytest.raises(errors.KeepNotLessThanHeld):
        ledger_apply(origin=SETTLEMENT, hold_operations=[op])
    assert _totals(alpha) == (1_000, 0, 0, 10_000)


def test_a_hold_shrinks_once_and_a_replay_returns_the_same_change(funded):
    alpha, beta = funded
    hold = origin_hold(alpha, beta, 1_000)
    ids = {"transfer_id": uuid.uuid4(), "successor_id": uuid.uuid4()}
    first = pending_transfer_shrink(pending_id=hold.pk, keep=250, origin=ORDER, **ids)
    rows = Transfer.objects.count(), Entry.objects.count(), HoldEvent.objects.count()
    again = pending_transfer_shrink(pending_id=hold.pk, keep=250, origin=ORDER, **ids)
    assert again.replayed and not first.replayed
    assert (again.resolution.pk, again.successor.pk) == (ids["transfer_id"], ids["successor_id"])
    assert (Transfer.objects.count(), Entry.objects.count(), HoldEvent.objects.count()) == rows
    with pytest.raises(errors.TransferExistsWithDifferentFields):  # same ids, other keep
        pending_transfer_shrink(pending_id=hold.pk, keep=300, origin=ORDER, **ids)
    with pytest.raises(errors.PendingAlreadyResolved):  # no ids: a second shrink
        pending_transfer_shrink(pending_id=hold.pk, keep=100, origin=ORDER)
    assert _totals(alpha) == (250, 0, 0, 10_000)
    assert _clean()


def test_a_hold_on_a_frozen_account_can_still_shrink(funded, staff_user):
    from ledger.services import account_freeze

    alpha, beta = funded
    hold = origin_hold(alpha, beta, 1_000)
    account_freeze(account=alpha, acting_user=staff_user)
    pending_transfer_shrink(pending_id=hold.pk, keep=100, origin=ORDER)
    assert _totals(alpha) == (100, 0, 0, 10_000)


def test_the_checker_finds_a_successor_that_keeps_more_than_its_hold(funded):
    alpha, beta = funded
    hold = origin_hold(alpha, beta, 1_000)
    successor = pending_transfer_shrink(pending_id=hold.pk, keep=400, origin=ORDER).successor
    Transfer.objects.filter(pk=successor.pk).update(amount=1_000)  # tampered
    found = {v["check"] for v in ledger_invariants_violations()}
    assert "hold_successor" in found


# --- ledger_apply ------------------------------------------------------------------------


def test_ledger_apply_releases_then_spends_in_one_transaction_locking_once(funded):
    alpha, beta = funded
    hold = origin_hold(alpha, beta, 10_000)
    spend = TransferRequest(
        debit_account_id=alpha.pk, credit_account_id=beta.pk, amount=10_000, asset="USD"
    )
    with mock.patch(
        "ledger.services._apply.accounts_lock", side_effect=locking.accounts_lock
    ) as lock:
        applied = ledger_apply(
            origin=SETTLEMENT,
            hold_operations=[HoldOperation(pending_id=hold.pk, action=HoldOperation.VOID)],
            transfers=[spend],
        )
    ((args, _),) = lock.call_args_list  # once, for the hold's and the transfer's accounts
    assert set(args[0]) == {alpha.pk, beta.pk}
    assert applied.transfers[0].transfer.origin == "settlement"
    assert _totals(alpha) == (0, 10_000, 0, 10_000)
    assert _clean()


def test_ledger_apply_is_all_or_nothing(funded):
    alpha, beta = funded
    hold = origin_hold(alpha, beta, 1_000)
    too_much = TransferRequest(
        debit_account_id=alpha.pk, credit_account_id=beta.pk, amount=10_001, asset="USD"
    )
    before = Transfer.objects.count(), HoldEvent.objects.count(), _totals(alpha)
    with pytest.raises(errors.InsufficientFunds):
        ledger_apply(
            origin=SETTLEMENT,
            hold_operations=[HoldOperation(pending_id=hold.pk, action=HoldOperation.VOID)],
            transfers=[too_much],
        )
    assert (Transfer.objects.count(), HoldEvent.objects.count(), _totals(alpha)) == before
    hold.refresh_from_db()
    assert hold.status == "pending"


def test_ledger_apply_refuses_the_same_hold_twice(funded):
    alpha, beta = funded
    hold = origin_hold(alpha, beta, 1_000)
    void = HoldOperation(pending_id=hold.pk, action=HoldOperation.VOID)
    with pytest.raises(errors.PendingAlreadyResolved):
        ledger_apply(origin=ORDER, hold_operations=[void, void])
    assert _totals(alpha) == (1_000, 0, 0, 10_000)


# --- The origin is told of every change --------------------------------------------------


@pytest.fixture
def order_events():
    seen = []
    hold_changed.register(origin=ORDER, callback=seen.append)
    yield seen
    hold_changed.unregister(origin=ORDER, callback=seen.append)


@pytest.mark.django_db(transaction=True)
def test_the_origin_is_told_once_of_each_change_after_commit(
    alpha_usd, beta_usd, fund, order_events
):
    fund(alpha_usd, 10_000)
    other = []
    hold_changed.register(origin=RISK, callback=other.append)
    try:
        hold = origin_hold(alpha_usd, beta_usd, 1_000, ref="ord-5")
        assert order_events == []  # placing a hold is not a change of it
        with transaction.atomic():
            kept = pending_transfer_shrink(pending_id=hold.pk, keep=400, origin=ORDER).successor
            assert order_events == []  # not before the commit
        ledger_apply(
            origin=SETTLEMENT,
            hold_operations=[HoldOperation(pending_id=kept.pk, action=HoldOperation.POST)],
        )
    finally:
        hold_changed.unregister(origin=RISK, callback=other.append)
    assert [(e.change, e.hold_id, e.successor_id) for e in order_events] == [
        ("shrunk", hold.pk, kept.pk),
        ("posted", kept.pk, None),
    ]
    assert {e.origin_ref for e in order_events} == {"ord-5"}
    assert order_events[0].resolution_id == Transfer.objects.get(pending=hold).pk
    assert other == []
    assert not HoldEvent.objects.filter(delivered_at__isnull=True).exists()
    assert ledger_hold_events_deliver() == 0  # nothing left to deliver again
    assert len(order_events) == 2


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_change_tells_nobody(alpha_usd, beta_usd, fund, order_events):
    fund(alpha_usd, 10_000)
    hold = origin_hold(alpha_usd, beta_usd, 1_000)

    class Undo(Exception):
        pass

    with pytest.raises(Undo), transaction.atomic():
        pending_transfer_void(pending_id=hold.pk, origin=ORDER)
        raise Undo
    assert order_events == []
    assert not HoldEvent.objects.exists()
    hold.refresh_from_db()
    assert hold.status == "pending"


@pytest.mark.django_db(transaction=True)
def test_an_event_a_callback_failed_on_is_delivered_again(alpha_usd, beta_usd, fund):
    fund(alpha_usd, 10_000)
    seen, fail = [], [True]

    def flaky(change):
        if fail[0]:
            raise RuntimeError("trading was down")
        seen.append(change)

    hold_changed.register(origin=ORDER, callback=flaky)
    try:
        hold = origin_hold(alpha_usd, beta_usd, 1_000)
        pending_transfer_void(pending_id=hold.pk, origin=ORDER)
        (event,) = HoldEvent.objects.all()
        assert event.delivered_at is None and seen == []
        fail[0] = False
        assert hold_events_deliver(older_than=0) == 1
        assert hold_events_deliver(older_than=0) == 0
    finally:
        hold_changed.unregister(origin=ORDER, callback=flaky)
    assert [(c.event_id, c.change, c.hold_id) for c in seen] == [(event.pk, "voided", hold.pk)]


# --- Through the partner API -------------------------------------------------------------


def test_the_api_refuses_to_release_an_orders_hold_and_names_its_holder(partner_api, funded):
    alpha, beta = funded
    hold = origin_hold(alpha, beta, 1_000, ref="ord-77")
    for action in ("void", "post"):
        response = partner_api.post(
            f"/api/v1/ledger/transfers/{hold.pk}/{action}/", {}, format="json"
        )
        assert response.status_code == 409, response.content
        body = response.json()
        assert body["code"] == "conflict"
        assert body["details"]["holder"] == {"origin": "order", "ref": "ord-77"}
    assert _totals(alpha) == (1_000, 0, 0, 10_000)
    detail = partner_api.get(f"/api/v1/ledger/transfers/{hold.pk}/").json()
    assert (detail["origin"], detail["origin_ref"], detail["status"]) == (
        "order",
        "ord-77",
        "pending",
    )


def test_a_hold_placed_through_the_api_is_released_through_it(partner_api, funded):
    alpha, beta = funded
    body = {
        "debit_account": str(alpha.pk),
        "credit_account": str(beta.pk),
        "amount": "10.00",
        "asset": "USD",
        "pending": True,
    }
    created = partner_api.post("/api/v1/ledger/transfers/", body, format="json").json()
    assert created["origin"] == "partner_api"
    response = partner_api.post(
        f"/api/v1/ledger/transfers/{created['id']}/void/", {}, format="json"
    )
    assert response.status_code == 200, response.content
    assert (response.json()["pending_status"], response.json()["origin"]) == (
        "voided",
        "partner_api",
    )


def test_the_checker_finds_an_event_that_names_the_wrong_change(funded):
    alpha, beta = funded
    hold = origin_hold(alpha, beta, 1_000)
    other = origin_hold(alpha, beta, 500, ref="ord-2")
    pending_transfer_shrink(pending_id=hold.pk, keep=400, origin=ORDER)
    assert _clean()
    HoldEvent.objects.filter(hold=hold).update(hold=other)  # tampered
    assert "hold_event" in {v["check"] for v in ledger_invariants_violations()}


@pytest.mark.django_db(transaction=True)
def test_a_many_callback_gets_a_deliverys_events_at_once_and_a_failure_keeps_them_all(
    alpha_usd, beta_usd, fund
):
    from ledger.hooks import hold_events_deliver
    from ledger.models import HoldEvent

    fund(alpha_usd, 10_000)
    batches, broken = [], [True]

    def many(changes):
        if broken[0]:
            raise RuntimeError("down")
        batches.append([c.hold_id for c in changes])

    hold_changed.register(origin=ORDER, callback=many, batch=True)
    try:
        holds = [origin_hold(alpha_usd, beta_usd, 100, ref=f"ord-m{n}") for n in range(3)]
        voids = [HoldOperation(pending_id=h.pk, action=HoldOperation.VOID) for h in holds]
        ledger_apply(origin=ORDER, hold_operations=voids)
        assert batches == [] and HoldEvent.objects.filter(delivered_at__isnull=True).count() == 3
        broken[0] = False
        assert hold_events_deliver() == 3
        assert batches == [[h.pk for h in holds]]  # one call, in order
    finally:
        hold_changed.unregister(origin=ORDER, callback=many)
