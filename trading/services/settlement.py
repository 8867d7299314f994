"""What settlement asks of trading: whether a batch has trades to settle; trades written
before settlement stamped them adopted into a batch; when it releases what a batch's fills
held, the orders locked (orders before ledger accounts, the order every trading write
keeps) with their open holds, and each order's `hold_id` moved to the hold that keeps the
rest."""

import uuid
from typing import NamedTuple

from django.db import connection
from django.db.models import Q

from core.postgresql.deferred import write_deferred
from ledger.models import Transfer
from ledger.selectors import open_holds_of
from trading.models import Order, Trade


def trades_unbatched_adopt(*, batch_id) -> int:
    """Stamp every trade that has no settlement batch (written before settlement was
    installed) with `batch_id`; returns how many."""
    return Trade.objects.filter(settlement_batch_id__isnull=True).update(
        settlement_batch_id=batch_id
    )


def trades_to_settle_exist(*, batch_id) -> bool:
    """Does a close of `batch_id` have any trade to take: its own, or one with no batch
    (trades_unbatched_adopt would take it)?"""
    return Trade.objects.filter(
        Q(settlement_batch_id=batch_id) | Q(settlement_batch_id__isnull=True)
    ).exists()


class OrderHold(NamedTuple):
    """An order's open hold: what settlement needs to release part of it."""

    pk: uuid.UUID
    amount: int


def orders_lock_with_holds(*, order_ids) -> dict[uuid.UUID, OrderHold | None]:
    """Lock the orders (id order) and return each one's open hold (None: nothing held)."""
    if connection.vendor == "postgresql":
        # The same lock as the queryset below, its ids one binary array: for a settlement
        # chunk's 500 orders the queryset's compile and text array cost more than the read.
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id FROM {connection.ops.quote_name(Order._meta.db_table)}"
                " WHERE id = ANY(%b::uuid[])"
                " ORDER BY id FOR UPDATE",
                [list(order_ids)],
            )
            locked = [row[0] for row in cursor.fetchall()]
    else:
        locked = list(
            Order.objects.select_for_update()
            .filter(pk__in=list(order_ids))
            .order_by("pk")
            .values_list("pk", flat=True)
        )
    holds = open_holds_of(
        origin=Transfer.Origin.ORDER, origin_refs=[str(order_id) for order_id in locked]
    )
    return {
        order_id: OrderHold(*holds[str(order_id)]) if str(order_id) in holds else None
        for order_id in locked
    }


def order_holds_moved(*, moved: dict[uuid.UUID, uuid.UUID]) -> None:
    """Point each order's hold_id at its current hold (the successor after a shrink)."""
    if not moved:
        return
    if connection.vendor != "postgresql":
        for order_id, hold_id in moved.items():
            Order.objects.filter(pk=order_id).update(hold_id=hold_id)
        return
    write_deferred(  # sent with the transaction's COMMIT: nothing here reads it back
        f"UPDATE {Order._meta.db_table} AS o SET hold_id = v.hold_id"
        " FROM unnest(%(ids)b::uuid[], %(holds)b::uuid[]) AS v(id, hold_id) WHERE o.id = v.id"
        # The ids said twice: joined to the unnest alone, the planner hashed every order
        # (a seq scan) for each settlement chunk's 500; by the array, the primary key.
        " AND o.id = ANY(%(ids)b::uuid[])"
        # An order already naming its hold (a void: nothing kept) needs no new row.
        " AND o.hold_id IS DISTINCT FROM v.hold_id",
        {"ids": list(moved), "holds": list(moved.values())},
    )
