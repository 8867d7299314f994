"""Writing one batch: order rows (each guarded by what the matcher read), the hold
operations of orders that ended, and the trades, in the caller's transaction.

The guard is how a cancel can never be lost nor a cancelled order filled: order_cancel
locks the order row and changes its status (and sets booked=False) in its own transaction.
If it committed first, the guarded update finds fewer rows than it wrote for and the whole
batch rolls back (BatchConflict), the matcher rebuilds its book from the database, where
the cancel now shows, and runs the batch again. If the batch updated the row first, the
cancel waits for the row lock and then sees the fills.
"""

import uuid

from django.db import connection

from ledger.selectors import holds_by_origin
from ledger.services import HoldOperation, ledger_apply
from trading.matching.book import BatchOutcome, OrderProgress
from trading.models import Order, Trade

HOLD_ORIGIN = "order"  # ledger Transfer.Origin.ORDER: the holds the orders placed


class BatchConflict(Exception):
    """An order row changed under the batch (a cancel committed first): roll back, rebuild."""


def outcome_write(outcome: BatchOutcome, *, instrument_id: int, now) -> None:
    releases = hold_releases(outcome.ended)
    orders = list(outcome.orders.values())
    if orders:
        write = _orders_update_postgres if connection.vendor == "postgresql" else _orders_update
        updated = write(orders, now=now)
        if updated != len(orders):
            raise BatchConflict(f"{len(orders) - updated} order rows changed under the batch")
    if releases:
        # Locks the two accounts of each ending hold (once, in id order); fills lock none.
        ledger_apply(origin=HOLD_ORIGIN, hold_operations=releases)
    if outcome.trades:
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
                )
                for trade in outcome.trades
            ]
        )


TRADE_ID_NAMESPACE = uuid.UUID("0c6b1f5e-3d4a-4a8e-9f61-2b7d8c5e9a10")


def trade_id(instrument_id: int, sequence: int) -> uuid.UUID:
    """A trade's id follows from its instrument and sequence: a replay could not mint a new one."""
    return uuid.uuid5(TRADE_ID_NAMESPACE, f"{instrument_id}:{sequence}")


# Client ids of a release: follow from the hold released, so the same release is a replay.
RELEASE_NAMESPACE = uuid.UUID("5b0d8f0e-6a57-4c1b-9d0e-6f1f3f0a7c21")


def hold_releases(ended: list[OrderProgress]) -> list[HoldOperation]:
    """For orders that ended: shrink each one's open hold to what its fills consumed (void
    when nothing), and point `new_hold_id` at the hold that keeps it. The open holds are
    read from the ledger in one query, not from Order.hold_id (settlement may have moved
    a hold along since the order rested). As trading.services.holds computes it: what
    left the hold before (settlement posting fills) was consumption already."""
    if not ended:
        return []
    holds = {
        hold.origin_ref: hold
        for hold in holds_by_origin(origin=HOLD_ORIGIN).filter(
            origin_ref__in=[str(order.id) for order in ended]
        )
    }
    operations = []
    for order in ended:
        hold = holds.get(str(order.id))
        if hold is None:
            continue  # no open hold (released by staff, or never placed)
        keep = max(order.consumed - (order.reserved - hold.amount), 0)
        if keep >= hold.amount:
            continue  # all of it consumed: a sell filled, a buy filled at its limit
        successor_id = uuid.uuid5(RELEASE_NAMESPACE, f"{hold.pk}:keep") if keep else None
        operations.append(
            HoldOperation(
                pending_id=hold.pk,
                action=HoldOperation.VOID,
                keep=keep,
                transfer_id=uuid.uuid5(RELEASE_NAMESPACE, f"{hold.pk}:release"),
                successor_id=successor_id,
                origin_ref=str(order.id),
            )
        )
        order.new_hold_id = successor_id or hold.pk
    return operations


def _orders_update(orders: list[OrderProgress], *, now) -> int:
    """One guarded UPDATE per row (SQLite: one writer, small inline batches)."""
    updated = 0
    for order in orders:
        changes = {
            "status": order.status,
            "filled_quantity": order.filled_quantity,
            "filled_notional": order.filled_notional,
            "booked": order.booked,
            "updated_at": now,
        }
        if order.new_hold_id is not None:
            changes["hold_id"] = order.new_hold_id
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
    hold_id = COALESCE(v.hold_id, o.hold_id), updated_at = %s,
    cancel_reason = CASE WHEN v.cancel_reason = '' THEN o.cancel_reason
                         ELSE v.cancel_reason END
FROM unnest(%s::uuid[], %s::varchar[], %s::bool[], %s::bigint[], %s::varchar[], %s::bigint[],
            %s::bigint[], %s::bool[], %s::uuid[], %s::varchar[])
    AS v(id, was_status, was_booked, was_filled_quantity, status, filled_quantity,
         filled_notional, booked, hold_id, cancel_reason)
WHERE o.id = v.id AND o.status = v.was_status AND o.booked = v.was_booked
    AND o.filled_quantity = v.was_filled_quantity
"""


def _orders_update_postgres(orders: list[OrderProgress], *, now) -> int:
    """Every row in one statement (arrays in, one round trip), each with its guard."""
    columns = (
        "id",
        "was_status",
        "was_booked",
        "was_filled_quantity",
        "status",
        "filled_quantity",
        "filled_notional",
        "booked",
        "new_hold_id",
        "cancel_reason",
    )
    arrays = [[getattr(order, column) for order in orders] for column in columns]
    with connection.cursor() as cursor:
        cursor.execute(_UPDATE_SQL, [now, *arrays])
        return cursor.rowcount
