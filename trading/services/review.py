"""Risk's review of a held order, as trading carries it out (registered with risk.hooks in
TradingConfig.ready): approval gives it its sequence and the matcher takes it in; rejection
releases its hold."""

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from trading.matcher import match_inline
from trading.models import Order, Trade
from trading.services.holds import order_hold_release
from trading.services.sequencing import order_sequence_next
from trading.services.states import order_status_set

S = Order.Status


def order_held_approve(order_id, acting_user) -> Order:
    with transaction.atomic():
        order = Order.objects.select_for_update().select_related("instrument").get(pk=order_id)
        order_status_set(order=order, status=S.ACCEPTED)
        order.accepted_at = timezone.now()
        order.sequence = order_sequence_next(order.instrument)
        order.save(update_fields=["status", "accepted_at", "sequence", "updated_at"])
        if settings.TRADING_MATCH_INLINE:
            instrument_id = order.instrument_id
            transaction.on_commit(lambda: match_inline(instrument_id))
    return order


def order_held_reject(order_id, acting_user, reason: str) -> Order:
    with transaction.atomic():
        order = Order.objects.select_for_update().select_related("instrument").get(pk=order_id)
        order_status_set(order=order, status=S.REJECTED, reason=f"risk review: {reason}")
        order_hold_release(order=order, acting_user=acting_user)
        order.save(update_fields=["status", "reject_reason", "hold_id", "updated_at"])
    return order


def last_trade_price(symbol: str) -> int | None:
    """The instrument's last trade price: the price collar's reference."""
    return (
        Trade.objects.filter(instrument__symbol=symbol)
        .order_by("-sequence")
        .values_list("price", flat=True)
        .first()
    )
