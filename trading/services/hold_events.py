"""What trading does when the ledger says some of its orders' holds changed.

Delivery is at least once (ledger.hooks), so this is idempotent: it only ever moves an
order's hold_id from the hold that changed to its successor, and cancels an order that is
still open when its hold was released by someone else (settlement, staff) with nothing
kept, since an order must not stay live without its funds.

The events of one delivery come together (registered with batch=True): the matcher's hold
releases end hundreds of orders a second, and for nearly all of them there is nothing to
do (trading's own release already moved hold_id; the order has ended). One locked read
finds the orders an event still concerns, and locks only those: an order whose hold_id is
the changed hold, and which either has a successor to follow or is still open.
"""

import uuid
from collections.abc import Sequence

import structlog
from django.db import connection, transaction
from django.db.models import Q

from ledger.hooks import HoldChanged
from trading.matcher import order_cancel_booked
from trading.models import Order
from trading.services.states import ORDER_OPEN_STATUSES, order_status_set

logger = structlog.get_logger(__name__)


def order_holds_changed(changes: Sequence[HoldChanged]) -> None:
    """Follow every change of `changes` (in event order), in one transaction."""
    ours = []
    for change in changes:
        try:
            ours.append((uuid.UUID(change.origin_ref), change))
        except ValueError:  # not an order's id: nothing of ours
            continue
    if not ours:
        return
    # One array per column rather than an OR of one (order, hold) term per event. This is a
    # superset of the concerned orders (an order and another order's hold could pair up),
    # and _follow checks each event against its order under the lock.
    order_ids = [order_id for order_id, _ in ours]
    hold_ids = [change.hold_id for _, change in ours]
    followed = [c.hold_id for _, c in ours if c.successor_id is not None]
    with transaction.atomic():
        orders = {order.pk: order for order in _concerned_locked(order_ids, hold_ids, followed)}
        for order_id, change in ours:  # in order: a shrink, then its successor released
            order = orders.get(order_id)
            if order is not None and order.hold_id == change.hold_id:
                _follow(order, change)


def _concerned_locked(order_ids, hold_ids, followed) -> list[Order]:
    """The orders of `order_ids` whose hold is one of `hold_ids` and which either have a
    successor to follow (their hold is in `followed`) or are still open; locked, id order."""
    if connection.vendor == "postgresql":
        # The queryset below as one statement with binary arrays: for a settlement chunk's
        # 500 events its compile and three text arrays cost more than the read (it finds
        # nothing: settlement moved the orders' holds itself).
        return list(
            Order.objects.raw(
                f"SELECT * FROM {connection.ops.quote_name(Order._meta.db_table)}"
                " WHERE id = ANY(%b::uuid[])"
                " AND hold_id = ANY(%b::uuid[])"
                " AND (hold_id = ANY(%b::uuid[]) OR status = ANY(%b::text[]))"
                " ORDER BY id FOR UPDATE",
                [order_ids, hold_ids, followed, sorted(ORDER_OPEN_STATUSES)],
            )
        )
    concerned = Q(pk__in=order_ids, hold_id__in=hold_ids) & (
        Q(hold_id__in=followed) | Q(status__in=ORDER_OPEN_STATUSES)
    )
    return list(Order.objects.select_for_update().filter(concerned).order_by("pk"))


def _follow(order: Order, change: HoldChanged) -> None:
    if change.successor_id is not None:
        order.hold_id = change.successor_id
        order.save(update_fields=["hold_id", "updated_at"])
        return
    if order.status in ORDER_OPEN_STATUSES:
        order_status_set(order=order, status=Order.Status.CANCELLED, reason="hold_released")
        order.save(update_fields=["status", "cancel_reason", "updated_at"])
        order_cancel_booked(order=order)  # off the matcher's book, as every cancel
        logger.warning(
            "order_cancelled_hold_released", order=str(order.pk), hold_event=change.event_id
        )
