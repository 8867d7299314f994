"""Settlement windows: one open batch (the database says so), one transitions table with an
event per change, and every trade stamped with the open batch as it is written."""

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from settlement.errors import BatchStateConflict
from settlement.models import SettlementBatch
from settlement.services.windows import batch_close, batch_for_date_close, batch_open_ensure
from settlement.states import batch_state_set
from tests.settlement.conftest import place
from trading.models import Trade

pytestmark = pytest.mark.django_db


def test_the_database_refuses_a_second_open_batch():
    first = batch_open_ensure()
    with pytest.raises(IntegrityError), transaction.atomic():
        SettlementBatch.objects.create(
            business_date=first.business_date,
            cycle=2,
            cutoff=first.cutoff,
            opened_at=first.opened_at,
        )
    assert batch_open_ensure() == first


def test_closing_opens_the_next_batch_and_writes_the_event():
    first = batch_open_ensure()
    closed = batch_close(batch=first, via="test")
    assert closed.state == "closed" and closed.closed_at is not None
    (event,) = closed.events.all()
    assert (event.from_state, event.to_state, event.via) == ("open", "closed", "test")
    following = batch_open_ensure()
    assert following.pk != first.pk and following.state == "open"
    assert (following.business_date, following.cycle) in {
        (first.business_date, 2),
        (first.business_date + timezone.timedelta(days=1), 1),
    }
    assert batch_close(batch=closed, via="test again") == closed  # twice: nothing more
    assert closed.events.count() == 1


def test_a_transition_outside_the_table_is_refused_and_leaves_no_event():
    batch = batch_open_ensure()
    with pytest.raises(BatchStateConflict):
        batch_state_set(batch, to="settled", via="test")
    batch.refresh_from_db()
    assert batch.state == "open" and batch.events.count() == 0


def test_every_trade_is_stamped_with_the_batch_open_when_it_was_written(
    partner, other_partner, acme, fund
):
    fund(partner, "USD", 1_000_000)
    fund(other_partner, "ACME", 100)
    place(partner, acme, cid="b1", side="buy", price=1000, quantity=10)
    place(other_partner, acme, cid="s1", side="sell", price=1000, quantity=4)
    first = batch_open_ensure()
    batch_close(batch=first, via="test")
    place(other_partner, acme, cid="s2", side="sell", price=1000, quantity=6)

    early, late = Trade.objects.order_by("sequence")
    assert early.settlement_batch_id == first.pk
    assert late.settlement_batch_id == batch_open_ensure().pk != first.pk


@pytest.mark.postgres
def test_the_database_refuses_to_change_or_delete_a_batch_event():
    from django.db import DatabaseError

    batch = batch_close(batch=batch_open_ensure(), via="test")
    event = batch.events.get()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        type(event).objects.filter(pk=event.pk).update(reason="rewritten")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        type(event).objects.filter(pk=event.pk).delete()
    assert batch.events.get().reason == ""


def test_a_trade_written_before_settlement_existed_is_taken_into_the_next_close(
    partner, other_partner, acme, fund
):
    fund(partner, "USD", 1_000_000)
    fund(other_partner, "ACME", 100)
    place(partner, acme, cid="b1", side="buy", price=1000, quantity=2)
    place(other_partner, acme, cid="s1", side="sell", price=1000, quantity=2)
    Trade.objects.update(settlement_batch_id=None)  # as a database from before this app

    closed = batch_close(batch=batch_open_ensure(), via="test")

    assert Trade.objects.get().settlement_batch_id == closed.pk
    assert closed.events.get().details == {"adopted_unbatched_trades": 1}


def test_settling_a_date_early_leaves_an_empty_batch_open_and_closes_one_with_trades(
    partner, other_partner, acme, fund
):
    empty = batch_open_ensure()
    assert batch_for_date_close(day=empty.business_date, via="test") is None
    empty.refresh_from_db()
    assert empty.state == "open" and empty.events.count() == 0
    assert SettlementBatch.objects.count() == 1

    fund(partner, "USD", 1_000_000)
    fund(other_partner, "ACME", 100)
    place(partner, acme, cid="b1", side="buy", price=1000, quantity=2)
    place(other_partner, acme, cid="s1", side="sell", price=1000, quantity=2)
    closed = batch_for_date_close(day=empty.business_date, via="test")
    assert closed.pk == empty.pk and closed.state == "closed"
    assert SettlementBatch.objects.filter(state="open").count() == 1


def test_an_empty_batch_past_its_cutoff_still_closes_when_its_date_is_settled():
    empty = batch_open_ensure()
    SettlementBatch.objects.filter(pk=empty.pk).update(
        cutoff=timezone.now() - timezone.timedelta(minutes=1)
    )
    closed = batch_for_date_close(day=empty.business_date, via="test")
    assert closed.pk == empty.pk and closed.state == "closed"
    assert batch_open_ensure().pk != empty.pk
