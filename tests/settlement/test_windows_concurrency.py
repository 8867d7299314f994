"""On PostgreSQL with real transactions: a trade committed while its batch closes lands in
exactly one batch, and the close waits for it, so the closed batch is complete."""

import threading
import time

import pytest
from django.db import connection, transaction

from settlement.models import SettlementBatch
from settlement.services.windows import batch_close, batch_open_ensure
from trading.models import Order, Trade
from trading.trade_batches import trade_batch_for_new_trades

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def orders(partner, other_partner, acme):
    def order(who, side, n):
        return Order.objects.create(
            partner=who,
            client_order_id=f"{side}{n}",
            instrument=acme,
            side=side,
            price=1000,
            quantity=10,
            status="accepted",
            sequence=n,
            booked=True,
        )

    return order(partner, "buy", 1), order(other_partner, "sell", 2)


def _trade(orders, sequence, batch_id):
    buy, sell = orders
    return Trade.objects.create(
        instrument=buy.instrument,
        buy_order=buy,
        sell_order=sell,
        price=1000,
        quantity=1,
        aggressor_side="sell",
        sequence=sequence,
        executed_at=buy.created_at,
        settlement_batch_id=batch_id,
    )


def _in_thread(target, results, key):
    def run():
        try:
            results[key] = target()
        except Exception as exc:  # surfaced by the assertions below
            results[key] = exc
        finally:
            results[f"{key}_at"] = time.monotonic()
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_a_trade_in_flight_while_its_batch_closes_lands_in_exactly_that_batch(orders):
    first = batch_open_ensure()
    stamped, commit = threading.Event(), threading.Event()
    results = {}

    def in_flight_trade():
        with transaction.atomic():
            batch_id = trade_batch_for_new_trades()
            stamped.set()
            commit.wait(10)
            _trade(orders, 1, batch_id)
            return batch_id

    def later_trade():
        with transaction.atomic():
            batch_id = trade_batch_for_new_trades()
            _trade(orders, 2, batch_id)
            return batch_id

    a = _in_thread(in_flight_trade, results, "a")
    assert stamped.wait(10)
    b = _in_thread(lambda: batch_close(batch=first, via="test"), results, "close")
    time.sleep(0.5)
    assert b.is_alive(), "the close must wait for the trade stamped with its batch"
    c = _in_thread(later_trade, results, "c")
    time.sleep(0.3)
    assert c.is_alive(), "a trade asking while the close waits queues behind the close"
    results["committed_at"] = time.monotonic()
    commit.set()
    for thread in (a, b, c):
        thread.join(15)

    assert results["a"] == first.pk
    assert results["close_at"] >= results["committed_at"]
    second = SettlementBatch.objects.get(state="open")
    assert results["c"] == second.pk != first.pk
    assert _sequences(first) == [1] and _sequences(second) == [2]
    assert not Trade.objects.filter(settlement_batch_id__isnull=True).exists()


def _sequences(batch):
    trades = Trade.objects.filter(settlement_batch_id=batch.pk)
    return list(trades.values_list("sequence", flat=True))
