"""What staff do to orders from the console: cancel one, cancel all of a partner's. Each
calls order_cancel (which releases what the order holds) and records an audit event in
the same transaction."""

from django.db import transaction

from core.services import audit_record
from trading.errors import OrderNotCancellable
from trading.models import Order
from trading.services.orders import order_cancel
from trading.services.states import ORDER_OPEN_STATUSES


def order_cancel_by_staff(*, order: Order, acting_user, reason: str = "") -> Order:
    """Cancel an open order for the partner (409 OrderNotCancellable when it is not)."""
    with transaction.atomic():
        before = {"status": order.status, "filled_quantity": order.filled_quantity}
        cancelled = order_cancel(order=order, acting_user=acting_user, reason="staff")
        audit_record(
            actor=acting_user,
            action="order.cancelled",
            target=cancelled,
            before=before,
            after={"status": cancelled.status, "reason": reason, "by": "staff"},
        )
    return cancelled


def partner_orders_cancel(*, partner, acting_user, reason: str = "") -> list[Order]:
    """Cancel every open order of `partner`, each in its own transaction with its audit
    event (an order that fills meanwhile is skipped, not an error). Returns those cancelled."""
    cancelled = []
    open_orders = Order.objects.filter(partner=partner, status__in=ORDER_OPEN_STATUSES)
    for order in open_orders.order_by("created_at", "id"):
        try:
            cancelled.append(
                order_cancel_by_staff(order=order, acting_user=acting_user, reason=reason)
            )
        except OrderNotCancellable:
            continue
    return cancelled
