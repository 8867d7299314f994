"""Order status transitions: one table, one function (django-oscar's set_status).

Both order entry and the matcher move an order's status only through order_status_set.
"""

from trading.errors import OrderStatusConflict
from trading.models import Order

S = Order.Status

ORDER_STATUS_TRANSITIONS: dict[str, frozenset[str]] = {
    S.NEW: frozenset({S.ACCEPTED, S.HELD, S.REJECTED}),
    # `held` is risk's review queue: released into the book, rejected, or withdrawn.
    S.HELD: frozenset({S.ACCEPTED, S.REJECTED, S.CANCELLED}),
    S.ACCEPTED: frozenset({S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.EXPIRED}),
    S.PARTIALLY_FILLED: frozenset({S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.EXPIRED}),
    S.REJECTED: frozenset(),
    S.FILLED: frozenset(),
    S.CANCELLED: frozenset(),
    S.EXPIRED: frozenset(),
}

# Statuses in which an order is still live (may fill, holds funds, can be cancelled).
ORDER_OPEN_STATUSES = frozenset({S.ACCEPTED, S.PARTIALLY_FILLED, S.HELD})
ORDER_FINAL_STATUSES = frozenset(s for s, nxt in ORDER_STATUS_TRANSITIONS.items() if not nxt)


def order_status_can_change(*, current: str, status: str) -> bool:
    return status in ORDER_STATUS_TRANSITIONS.get(current, frozenset())


def order_status_set(*, order: Order, status: str, reason: str = "") -> Order:
    """Move `order` to `status` in memory (the caller saves it in its transaction).

    Raises OrderStatusConflict for a move the table does not allow. `reason` goes to
    reject_reason for rejected, cancel_reason for cancelled/expired.
    """
    if not order_status_can_change(current=order.status, status=status):
        raise OrderStatusConflict(
            f"An order cannot go from {order.status} to {status}.",
            details={"order": str(order.id), "status": order.status},
        )
    order.status = status
    if reason and status == S.REJECTED:
        order.reject_reason = reason[:255]
    elif reason and status in (S.CANCELLED, S.EXPIRED):
        order.cancel_reason = reason[:255]
    return order
