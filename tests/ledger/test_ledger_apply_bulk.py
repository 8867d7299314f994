"""ledger_apply_bulk: ledger_apply for large sets of hold releases (a settlement chunk),
answering with ids. It must write exactly the rows ledger_apply writes (transfers, entries,
totals, the hash chain, hold statuses and events), refuse exactly what it refuses with
nothing applied, and deliver the hold events on commit."""

import itertools
import uuid
from datetime import UTC, datetime
from unittest import mock

import pytest
from django.db import transaction

from ledger import errors
from ledger.hooks import hold_changed
from ledger.integrity import ledger_chain_violations, ledger_invariants_violations
from ledger.models import Account, Entry, HoldEvent, Transfer
from ledger.services import (
    HoldChangeIds,
    HoldOperation,
    TransferRequest,
    ledger_apply,
    ledger_apply_bulk,
    pending_transfer_void,
)
from tests.ledger.conftest import origin_hold

ORDER, SETTLEMENT, RISK = Transfer.Origin.ORDER, Transfer.Origin.SETTLEMENT, Transfer.Origin.RISK
VOID = HoldOperation.VOID


@pytest.fixture
def holds(alpha_usd, beta_usd, fund):
    fund(alpha_usd, 10_000)
    return [
        origin_hold(
            alpha_usd, beta_usd, amount, ref=f"o{amount}", metadata={"placed": f"o{amount}"}
        )
        for amount in (1_000, 500, 300)
    ]


def _snapshot():
    """Every row a call can write, ids and all, but the database's own (entry and event ids,
    from sequences that a rollback does not rewind)."""
    return {
        "transfers": [
            {f.attname: getattr(t, f.attname) for f in Transfer._meta.concrete_fields}
            for t in Transfer.objects.order_by("id")
        ],
        "entries": sorted(
            (e.transfer_id, e.side, e.account_id, e.hash, e.debits_pending, e.credits_pending)
            for e in Entry.objects.all()
        ),
        "accounts": sorted(
            (
                a.pk,
                a.debits_pending,
                a.debits_posted,
                a.credits_pending,
                a.credits_posted,
                a.chain_head,
            )
            for a in Account.objects.order_by("pk")
        ),
        "events": sorted(
            (e.hold_id, e.change, e.resolution_id, e.successor_id, e.origin, e.origin_ref)
            for e in HoldEvent.objects.all()
        ),
    }


class _Undo(Exception):
    pass


def _applied_and_undone(call):
    """What `call` writes and returns with the same ids and clock as any other call made
    this way, then undone."""
    ids = (uuid.UUID(int=n) for n in itertools.count(1))
    clock = datetime(2026, 12, 1, 12, tzinfo=UTC)
    with (
        mock.patch("uuid.uuid4", side_effect=lambda: next(ids)),
        mock.patch("django.utils.timezone.now", return_value=clock),
    ):
        try:
            with transaction.atomic():
                answer = call()
                written = _snapshot()
                raise _Undo
        except _Undo:
            return answer, written


def test_it_writes_the_very_rows_ledger_apply_writes(holds, alpha_usd, beta_usd):
    shrink, void, shrink_to_one = holds
    operations = [
        HoldOperation(pending_id=shrink.pk, action=VOID, keep=400),
        HoldOperation(pending_id=void.pk, action=VOID),
        HoldOperation(pending_id=shrink_to_one.pk, action=VOID, keep=1),
    ]
    spend = TransferRequest(
        id=uuid.uuid5(uuid.NAMESPACE_URL, "spend"),
        debit_account_id=alpha_usd.pk,
        credit_account_id=beta_usd.pk,
        amount=9_000,  # only there once the holds released what they no longer need
        asset="USD",
        code="settlement",
    )
    batch_id = uuid.uuid5(uuid.NAMESPACE_URL, "batch")

    def arguments():
        return dict(
            origin=SETTLEMENT,
            transfers=[spend],
            hold_operations=operations,
            batch_id=batch_id,
        )

    full, by_models = _applied_and_undone(lambda: ledger_apply(**arguments()))
    ids, by_rows = _applied_and_undone(lambda: ledger_apply_bulk(**arguments()))

    assert by_rows == by_models
    # The deposit and the 3 holds; then 3 voids, 2 holds keeping the rest and the spend.
    assert len(by_models["transfers"]) == 4 + 6
    assert ids.transfer_ids == [spend.id]
    assert ids.holds == [
        HoldChangeIds(
            hold_id=change.hold.pk,
            resolution_id=change.resolution.pk,
            successor_id=change.successor.pk if change.successor else None,
        )
        for change in full.holds
    ]
    assert [change.successor_id is not None for change in ids.holds] == [True, False, True]
    assert Transfer.objects.filter(status="pending").count() == 3  # undone: as before


def test_what_it_writes_keeps_every_invariant_and_the_chain(holds, alpha_usd):
    applied = ledger_apply_bulk(
        origin=SETTLEMENT,
        hold_operations=[HoldOperation(pending_id=h.pk, action=VOID, keep=100) for h in holds],
    )
    assert ledger_invariants_violations() == [] and ledger_chain_violations() == []
    successors = Transfer.objects.in_bulk([c.successor_id for c in applied.holds])
    for hold, change in zip(holds, applied.holds, strict=True):
        hold.refresh_from_db()
        successor = successors[change.successor_id]
        assert (hold.status, successor.amount, successor.replaces_id) == ("voided", 100, hold.pk)
        assert (successor.origin, successor.origin_ref) == (ORDER, hold.origin_ref)
        assert successor.metadata == hold.metadata
    alpha_usd.refresh_from_db()
    assert alpha_usd.debits_pending == 300


@pytest.mark.parametrize(
    "make_operation, error",
    [
        (lambda h: HoldOperation(pending_id=h.pk, action=VOID, keep=h.amount), "keep"),
        (lambda h: HoldOperation(pending_id=uuid.uuid4(), action=VOID), "missing"),
        (lambda h: "resolved", "resolved"),
    ],
)
def test_a_refusal_applies_nothing(holds, alpha_usd, make_operation, error):
    first, second, _ = holds
    if error == "resolved":
        pending_transfer_void(pending_id=second.pk, origin=ORDER)
        bad = HoldOperation(pending_id=second.pk, action=VOID)
    else:
        bad = make_operation(second)
    before = _snapshot()
    expected = {
        "keep": errors.KeepNotLessThanHeld,
        "missing": errors.TransferNotFound,
        "resolved": errors.PendingAlreadyResolved,
    }[error]
    with pytest.raises(expected):
        ledger_apply_bulk(
            origin=SETTLEMENT,
            hold_operations=[HoldOperation(pending_id=first.pk, action=VOID, keep=1), bad],
        )
    assert _snapshot() == before


def test_a_transfer_refused_for_funds_undoes_the_releases_before_it(holds, alpha_usd, beta_usd):
    before = _snapshot()
    too_much = TransferRequest(
        debit_account_id=alpha_usd.pk, credit_account_id=beta_usd.pk, amount=10_001, asset="USD"
    )
    with pytest.raises(errors.InsufficientFunds):
        ledger_apply_bulk(
            origin=SETTLEMENT,
            transfers=[too_much],
            hold_operations=[HoldOperation(pending_id=h.pk, action=VOID) for h in holds],
        )
    assert _snapshot() == before


def test_an_origin_releases_only_its_own_holds(alpha_usd, beta_usd, fund):
    fund(alpha_usd, 1_000)
    risks = origin_hold(alpha_usd, beta_usd, 100, ref="r1", origin=RISK)
    with pytest.raises(errors.HoldOwnedElsewhere):
        ledger_apply_bulk(
            origin=ORDER, hold_operations=[HoldOperation(pending_id=risks.pk, action=VOID)]
        )
    risks.refresh_from_db()
    assert risks.status == "pending"


def test_hold_operations_carry_no_client_ids(holds):
    with pytest.raises(ValueError):
        ledger_apply_bulk(
            origin=SETTLEMENT,
            hold_operations=[
                HoldOperation(pending_id=holds[0].pk, action=VOID, transfer_id=uuid.uuid4())
            ],
        )
    assert not Transfer.objects.filter(pending_id=holds[0].pk).exists()


def test_a_transfer_id_given_again_is_a_replay(alpha_usd, beta_usd, fund):
    fund(alpha_usd, 1_000)
    request = TransferRequest(
        id=uuid.uuid4(),
        debit_account_id=alpha_usd.pk,
        credit_account_id=beta_usd.pk,
        amount=250,
        asset="USD",
    )
    first = ledger_apply_bulk(origin=SETTLEMENT, transfers=[request])
    again = ledger_apply_bulk(origin=SETTLEMENT, transfers=[request])
    assert first.transfer_ids == again.transfer_ids == [request.id]
    assert Transfer.objects.filter(pk=request.id).count() == 1
    alpha_usd.refresh_from_db()
    assert alpha_usd.debits_posted == 250


@pytest.mark.django_db(transaction=True)
def test_the_hold_events_are_delivered_on_commit_as_one_set(alpha_usd, beta_usd, fund):
    fund(alpha_usd, 10_000)
    placed = [origin_hold(alpha_usd, beta_usd, 100, ref=f"o{n}") for n in range(4)]
    calls = []
    hold_changed.register(origin=ORDER, callback=calls.append, batch=True)
    try:
        applied = ledger_apply_bulk(
            origin=SETTLEMENT,
            hold_operations=[
                HoldOperation(pending_id=h.pk, action=VOID, keep=n % 2 * 10)
                for n, h in enumerate(placed)
            ],
        )
    finally:
        hold_changed.unregister(origin=ORDER, callback=calls.append)
    (delivered,) = calls
    events = {e.pk: e for e in HoldEvent.objects.all()}
    assert [c.hold_id for c in delivered] == [h.pk for h in placed]
    assert [(c.resolution_id, c.successor_id) for c in delivered] == [
        (change.resolution_id, change.successor_id) for change in applied.holds
    ]
    assert [c.change for c in delivered] == ["voided", "shrunk", "voided", "shrunk"]
    for change in delivered:  # each names its own outbox row, marked delivered
        event = events[change.event_id]
        assert (event.hold_id, event.origin_ref) == (change.hold_id, change.origin_ref)
        assert event.delivered_at is not None
