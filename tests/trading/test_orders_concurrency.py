"""Order entry racing itself on PostgreSQL, with real threads and row locks: sequences stay
unique and gap-free, the same client_order_id gives one order and one hold, and funds are
never held twice over."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from ledger.errors import InsufficientFunds
from ledger.models import Account
from ledger.selectors import holds_by_origin
from trading.models import Order
from trading.services.orders import order_place

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _separate_matcher(settings, matcher_alive):
    settings.TRADING_MATCH_INLINE = False


def _race(count: int, work):
    start = threading.Barrier(count)

    def run(i):
        try:
            start.wait()
            return work(i)
        except Exception as exc:  # the outcome under test
            return exc
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def _place(partner, instrument, cid, quantity=10):
    return order_place(
        partner=partner,
        instrument=instrument,
        client_order_id=cid,
        side="buy",
        type="limit",
        time_in_force="gtc",
        price=1000,
        quantity=quantity,
    )


def test_concurrent_orders_take_unique_gap_free_sequences(partner, acme, fund):
    fund(partner, "USD", 10_000_000)
    outcomes = _race(8, lambda i: _place(partner, acme, f"c{i}"))
    assert all(not isinstance(o, Exception) for o in outcomes), outcomes
    sequences = sorted(Order.objects.values_list("sequence", flat=True))
    assert sequences == list(range(1, 9))
    acme.refresh_from_db()
    assert acme.last_sequence == 8


def test_the_same_client_order_id_racing_gives_one_order_and_one_hold(partner, acme, fund):
    usd = fund(partner, "USD", 10_000_000)
    outcomes = _race(4, lambda i: _place(partner, acme, "same"))
    assert all(not isinstance(o, Exception) for o in outcomes), outcomes
    assert len({o.order.pk for o in outcomes}) == 1
    assert sum(not o.replayed for o in outcomes) == 1
    assert Order.objects.count() == 1 and holds_by_origin(origin="order").count() == 1
    assert Account.objects.get(pk=usd.pk).available_balance == 10_000_000 - 10_000


def test_orders_racing_for_the_last_funds_never_hold_more_than_there_is(partner, acme, fund):
    usd = fund(partner, "USD", 35_000)  # room for three orders of 100.00
    outcomes = _race(6, lambda i: _place(partner, acme, f"c{i}"))
    placed = [o for o in outcomes if not isinstance(o, Exception)]
    refused = [o for o in outcomes if isinstance(o, InsufficientFunds)]
    assert (len(placed), len(refused)) == (3, 3)
    assert Order.objects.count() == 3
    assert sorted(Order.objects.values_list("sequence", flat=True)) == [1, 2, 3]
    assert Account.objects.get(pk=usd.pk).available_balance == 5_000
