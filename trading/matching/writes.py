"""Writing one batch: order rows (each guarded by what the matcher read: fills, status,
booked, and release_pending for the orders that ended with funds to release) and the
trades, in the caller's transaction. No ledger account is locked here.

The guard is how a cancel can never be lost nor a cancelled order filled: order_cancel
locks the order row and changes its status (and sets booked=False) in its own transaction.
If it committed first, the guarded update finds fewer rows than it wrote for and the whole
batch rolls back (BatchConflict), the matcher rebuilds its book from the database, where
the cancel now shows, and runs the batch again. If the batch updated the row first, the
cancel waits for the row lock and then sees the fills.
"""

import hashlib
import uuid

from django.db import connection

from risk.services import trades_committed
from trading.matching import pg_arrays
from trading.matching.book import BatchOutcome, OrderProgress
from trading.models import Order, Trade
from trading.trade_batches import trade_batch_for_new_trades


class BatchConflict(Exception):
    """An order row changed under the batch (a cancel committed first): roll back, rebuild."""


def outcome_write(outcome: BatchOutcome, *, instrument_id: int, now) -> None:
    orders = list(outcome.orders.values())
    if orders:
        write = _orders_update_postgres if connection.vendor == "postgresql" else _orders_update
        updated = write(orders, now=now)
        if updated != len(orders):
            raise BatchConflict(f"{len(orders) - updated} order rows changed under the batch")
    if outcome.trades:
        insert = _trades_insert_postgres if connection.vendor == "postgresql" else _trades_insert
        batch_id = trade_batch_for_new_trades()  # in this transaction: see trading.trade_batches
        insert(outcome.trades, instrument_id=instrument_id, now=now, batch_id=batch_id)
        trades_committed()  # post-trade scoring, once this commits


def _trades_insert(trades, *, instrument_id: int, now, batch_id) -> None:
    Trade.objects.bulk_create(
        [
            Trade(
                id=trade_id(instrument_id, trade.sequence),
                instrument_id=instrument_id,
                buy_order_id=trade.buy_order_id,
                sell_order_id=trade.sell_order_id,
                price=trade.price,
                quantity=trade.quantity,
                aggressor_side=trade.aggressor_side,
                sequence=trade.sequence,
                executed_at=now,
                settlement_batch_id=batch_id,
            )
            for trade in trades
        ]
    )


_INSERT_SQL = f"""
INSERT INTO {Trade._meta.db_table} (id, instrument_id, buy_order_id, sell_order_id, price,
    quantity, aggressor_side, sequence, executed_at, settlement_batch_id)
SELECT t.id, %s, t.buy, t.sell, t.price, t.quantity, t.side, t.sequence, %s, %s::uuid
FROM unnest(%s::uuid[], %s::uuid[], %s::uuid[], %s::bigint[], %s::bigint[], %s::varchar[],
            %s::bigint[]) AS t(id, buy, sell, price, quantity, side, sequence)
"""


def _trades_insert_postgres(trades, *, instrument_id: int, now, batch_id) -> None:
    """One statement, an array per column as one literal each (pg_arrays says why)."""
    columns = [
        pg_arrays.uuids([trade_id_text(instrument_id, trade.sequence) for trade in trades]),
        pg_arrays.uuids([trade.buy_order_id for trade in trades]),
        pg_arrays.uuids([trade.sell_order_id for trade in trades]),
        pg_arrays.ints([trade.price for trade in trades]),
        pg_arrays.ints([trade.quantity for trade in trades]),
        pg_arrays.texts([trade.aggressor_side for trade in trades]),
        pg_arrays.ints([trade.sequence for trade in trades]),
    ]
    with connection.cursor() as cursor:
        cursor.execute(_INSERT_SQL, [instrument_id, now, batch_id, *columns])


TRADE_ID_NAMESPACE = uuid.UUID("0c6b1f5e-3d4a-4a8e-9f61-2b7d8c5e9a10")


def trade_id(instrument_id: int, sequence: int) -> uuid.UUID:
    """A trade's id follows from its instrument and sequence: a replay could not mint a new one."""
    return uuid.uuid5(TRADE_ID_NAMESPACE, f"{instrument_id}:{sequence}")


_TRADE_ID_HASH = hashlib.sha1(TRADE_ID_NAMESPACE.bytes, usedforsecurity=False)
# The RFC 4122 variant in the fourth group's first hex digit: its top two bits are 10.
_VARIANT_DIGIT = {f"{n:x}": f"{(n & 0x3) | 0x8:x}" for n in range(16)}


def trade_id_text(instrument_id: int, sequence: int) -> str:
    """str(trade_id(...)) without building the UUID: uuid5 is the SHA-1 of namespace and
    name, with the version (5) and the variant set; a quarter of the cost, per trade."""
    digest = _TRADE_ID_HASH.copy()
    digest.update(f"{instrument_id}:{sequence}".encode())
    h = digest.hexdigest()
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT_DIGIT[h[16]]}{h[17:20]}-{h[20:32]}"


def _orders_update(orders: list[OrderProgress], *, now) -> int:
    """One guarded UPDATE per row (SQLite: one writer, small inline batches)."""
    updated = 0
    for order in orders:
        changes = {
            "status": order.status,
            "filled_quantity": order.filled_quantity,
            "filled_notional": order.filled_notional,
            "booked": order.booked,
            "release_pending": order.release_pending,
            "updated_at": now,
        }
        if order.cancel_reason:
            changes["cancel_reason"] = order.cancel_reason
        updated += Order.objects.filter(
            pk=order.id,
            status=order.was_status,
            booked=order.was_booked,
            filled_quantity=order.was_filled_quantity,
        ).update(**changes)
    return updated


_UPDATE_SQL = f"""
UPDATE {Order._meta.db_table} AS o SET
    status = v.status, filled_quantity = v.filled_quantity,
    filled_notional = v.filled_notional, booked = v.booked,
    release_pending = v.release_pending, updated_at = %s,
    cancel_reason = CASE WHEN v.cancel_reason = '' THEN o.cancel_reason
                         ELSE v.cancel_reason END
FROM unnest(%s::uuid[], %s::varchar[], %s::bool[], %s::bigint[], %s::varchar[], %s::bigint[],
            %s::bigint[], %s::bool[], %s::bool[], %s::varchar[])
    AS v(id, was_status, was_booked, was_filled_quantity, status, filled_quantity,
         filled_notional, booked, release_pending, cancel_reason)
WHERE o.id = v.id AND o.status = v.was_status AND o.booked = v.was_booked
    AND o.filled_quantity = v.was_filled_quantity
"""


def _orders_update_postgres(orders: list[OrderProgress], *, now) -> int:
    """Every row in one statement (arrays in, one round trip), each with its guard."""
    arrays = [
        pg_arrays.uuids([order.id for order in orders]),
        pg_arrays.texts([order.was_status for order in orders]),
        pg_arrays.bools([order.was_booked for order in orders]),
        pg_arrays.ints([order.was_filled_quantity for order in orders]),
        pg_arrays.texts([order.status for order in orders]),
        pg_arrays.ints([order.filled_quantity for order in orders]),
        pg_arrays.ints([order.filled_notional for order in orders]),
        pg_arrays.bools([order.booked for order in orders]),
        pg_arrays.bools([order.release_pending for order in orders]),
        pg_arrays.texts([order.cancel_reason for order in orders]),
    ]
    with connection.cursor() as cursor:
        cursor.execute(_UPDATE_SQL, [now, *arrays])
        return cursor.rowcount
