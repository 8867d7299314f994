"""Hold events delivered in sets: a batch callback takes every event of one delivery in one
call, in event order, each exactly once; one bad event keeps only itself back."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ledger.hooks import hold_changed, hold_events_deliver
from ledger.models import HoldEvent, Transfer
from ledger.services import HoldOperation, TransferRequest, ledger_apply
from ledger.tasks import ledger_hold_events_deliver

ORDER = Transfer.Origin.ORDER
pytestmark = pytest.mark.django_db(transaction=True)


def _holds(alpha, beta, refs):
    applied = ledger_apply(
        origin=ORDER,
        transfers=[
            TransferRequest(
                debit_account_id=alpha.pk,
                credit_account_id=beta.pk,
                amount=100,
                asset="USD",
                pending=True,
                origin_ref=ref,
            )
            for ref in refs
        ],
    )
    return [item.transfer for item in applied.transfers]


def _void_all(holds):
    ledger_apply(
        origin=ORDER,
        hold_operations=[HoldOperation(pending_id=h.pk, action=HoldOperation.VOID) for h in holds],
    )


@pytest.fixture
def registered():
    added = []

    def register(callback, batch):
        hold_changed.register(origin=ORDER, callback=callback, batch=batch)
        added.append(callback)

    yield register
    for callback in added:
        hold_changed.unregister(origin=ORDER, callback=callback)


def test_one_commit_is_one_call_with_every_event_in_order(alpha_usd, beta_usd, fund, registered):
    fund(alpha_usd, 10_000)
    holds = _holds(alpha_usd, beta_usd, [f"o{i}" for i in range(5)])
    calls, single = [], []
    registered(calls.append, batch=True)
    registered(single.append, batch=False)  # one-by-one callbacks still work beside it
    _void_all(holds)
    assert [[c.origin_ref for c in call] for call in calls] == [[f"o{i}" for i in range(5)]]
    assert [c.hold_id for c in calls[0]] == [h.pk for h in holds]
    assert [c.origin_ref for c in single] == [f"o{i}" for i in range(5)]
    assert not HoldEvent.objects.filter(delivered_at__isnull=True).exists()
    assert ledger_hold_events_deliver() == 0  # delivered exactly once: nothing again
    assert len(calls) == 1 and len(single) == 5


def test_delivery_marks_a_set_in_one_statement(alpha_usd, beta_usd, fund, registered):
    fund(alpha_usd, 10_000)
    holds = _holds(alpha_usd, beta_usd, [f"o{i}" for i in range(20)])
    registered(lambda changes: None, batch=True)
    with CaptureQueriesContext(connection) as captured:
        _void_all(holds)
    marks = [q for q in captured.captured_queries if 'UPDATE "ledger_holdevent"' in q["sql"]]
    assert len(marks) == 1
    assert HoldEvent.objects.filter(delivered_at__isnull=False).count() == 20


def test_a_failing_event_keeps_only_itself_back_until_the_sweep(
    alpha_usd, beta_usd, fund, registered
):
    fund(alpha_usd, 10_000)
    holds = _holds(alpha_usd, beta_usd, ["a", "bad", "c"])
    taken, broken = [], [True]

    def batch(changes):
        if broken[0] and any(c.origin_ref == "bad" for c in changes):
            raise RuntimeError("trading was down")
        taken.extend(c.origin_ref for c in changes)

    registered(batch, batch=True)
    _void_all(holds)
    assert taken == ["a", "c"]  # the set failed, then each was tried alone
    undelivered = HoldEvent.objects.filter(delivered_at__isnull=True)
    assert list(undelivered.values_list("origin_ref", flat=True)) == ["bad"]
    broken[0] = False
    assert hold_events_deliver(older_than=0) == 1
    assert taken == ["a", "c", "bad"]
    assert hold_events_deliver(older_than=0) == 0
