"""What trading does when the ledger says one of its orders' holds changed.

Delivery is at least once (ledger.hooks), so this is idempotent: it only ever moves an
order's hold_id from the hold that changed to its successor, and cancels an order that is
still open when its hold was released by someone else (settlement, staff) with nothing
kept, since an order must not stay live without its funds.
"""

import uuid

import structlog
from django.db import transaction

from ledger.hooks import HoldChanged
from trading.matcher import order_cancel_booked
from trading.models import Order
from trading.services.states import ORDER_OPEN_STATUSES, order_status_set

logger = structlog.get_logger(__name__)


def order_holds_changed(changes: list[HoldChanged]) -> None:
    """A delivery's events at once: one query finds the orders still pointing at a hold
    that changed (most were followed already, in the transaction that changed them: the
    matcher's releases, settlement); only those are handled one by one."""
    wanted = {}
    for change in changes:
        try:
            wanted[(uuid.UUID(change.origin_ref), change.hold_id)] = change
        except ValueError:  # not an order's id: nothing of ours
            continue
    pointing = {
        (pk, hold_id): status
        for pk, hold_id, status in Order.objects.filter(
            pk__in={order_id for order_id, _ in wanted}
        ).values_list("pk", "hold_id", "status")
    }
    for key, change in wanted.items():
        status = pointing.get(key)
        # A released hold of an order that has ended asks nothing of us.
        if status is not None and (change.successor_id or status in ORDER_OPEN_STATUSES):
            order_hold_changed(change)


def order_hold_changed(change: HoldChanged) -> None:
    try:
        order_id = uuid.UUID(change.origin_ref)
    except ValueError:  # not an order's id: nothing of ours
        return
    with transaction.atomic():
        order = (
            Order.objects.select_for_update().filter(pk=order_id, hold_id=change.hold_id).first()
        )
        if order is None:  # already followed (our own shrink, or a redelivery)
            return
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
