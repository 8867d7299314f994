"""Trading takes the hold events of one delivery together (order_holds_changed, batch=True):
in event order, each once, with one locked read for the set."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ledger.hooks import hold_events_deliver
from ledger.models import HoldEvent, Transfer
from ledger.services import HoldOperation, ledger_apply, pending_transfer_void
from tests.trading.matcher_support import place
from trading.matching.releases import order_holds_release_pending
from trading.models import Order

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _separate_matcher(settings, matcher_alive):
    settings.TRADING_MATCH_INLINE = False


def test_a_shrink_and_then_its_successor_released_in_one_delivery_cancel_the_order(
    partner, acme, fund
):
    """Without on-commit delivery (a crash after commit), the sweep hands both events over
    at once: the order must follow the shrink before it can see its successor released."""
    fund(partner, "USD", 500_000)
    order = place(partner, acme, "c1", "buy", 10)
    shrunk = ledger_apply(
        origin=Transfer.Origin.SETTLEMENT,
        hold_operations=[HoldOperation(pending_id=order.hold_id, action="void", keep=4_000)],
    ).holds[0]
    pending_transfer_void(pending_id=shrunk.successor.pk, origin=Transfer.Origin.STAFF)
    assert HoldEvent.objects.filter(delivered_at__isnull=True).count() == 2
    assert hold_events_deliver(older_than=0) == 2
    order.refresh_from_db()
    assert order.hold_id == shrunk.successor.pk
    assert (order.status, order.cancel_reason) == ("cancelled", "hold_released")
    assert hold_events_deliver(older_than=0) == 0


def test_releases_of_many_ended_orders_are_taken_with_one_read(partner, acme, fund):
    fund(partner, "USD", 5_000_000)
    orders = [place(partner, acme, f"c{i}", "buy", 10) for i in range(30)]
    # The matcher ended them unfilled (IOC remainders): their whole holds are released.
    Order.objects.filter(pk__in=[o.pk for o in orders]).update(
        status=Order.Status.CANCELLED, release_pending=True, booked=True
    )
    assert order_holds_release_pending(instrument_id=acme.pk) == 30
    with CaptureQueriesContext(connection) as captured:
        assert hold_events_deliver(older_than=0) == 30
    order_reads = [q for q in captured.captured_queries if 'FROM "trading_order"' in q["sql"]]
    assert len(order_reads) == 1  # one locked read for the 30 events, not one each
    assert len(captured.captured_queries) <= 6
    for order in Order.objects.filter(pk__in=[o.pk for o in orders]):
        assert (order.status, order.release_pending) == ("cancelled", False)
        assert Transfer.objects.get(pk=order.hold_id).status == "voided"
