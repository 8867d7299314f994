"""Order entry and cancellation.

order_place: validate against the instrument, refuse when its matcher is behind or silent
(503), ask risk, hold the funds, assign the sequence, commit; in the embedded default the
matcher then matches it before the call returns. A partner's client_order_id makes it
idempotent: the same id and order again is the same order; another order under that id is
a 409 conflict, as for a transfer id.
"""

import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from core.errors import ServiceUnavailable, ValidationFailed
from core.money import MAX_MINOR_UNITS
from ledger.errors import InsufficientFunds
from risk.services import Decision, order_decision
from trading import errors
from trading.matcher import match_inline, order_cancel_booked
from trading.models import Instrument, MatcherState, Order
from trading.services.holds import (
    NotionalNotWhole,
    order_funding_account,
    order_held_asset,
    order_hold_place,
    order_hold_release,
    order_reserve_amount,
)
from trading.services.states import ORDER_OPEN_STATUSES, order_status_set

S = Order.Status
RETRY_AFTER_SECONDS = 1
# The fields a replayed client_order_id must repeat to be the same order.
_IDENTITY_FIELDS = ("instrument_id", "side", "type", "time_in_force", "price", "quantity")


@dataclass(frozen=True)
class OrderPlaced:
    order: Order
    replayed: bool = False  # the client_order_id existed with the same order


def order_place(
    *,
    partner,
    instrument: Instrument,
    client_order_id: str,
    side: str,
    type: str,
    time_in_force: str,
    quantity: int,
    price: int | None = None,
    acting_user=None,
) -> OrderPlaced:
    """Place an order; returns it as it stands (matched, in the embedded default).

    Raises ValidationFailed (tick, lot, collar, price/type), InstrumentHalted (409),
    ServiceUnavailable (503, the matcher is behind or silent), InsufficientFunds (422:
    nothing is written), ClientOrderIdReused (409).
    """
    order = Order(
        id=uuid.uuid4(),
        partner=partner,
        client_order_id=client_order_id,
        instrument=instrument,
        side=side,
        type=type,
        time_in_force=time_in_force,
        price=price,
        quantity=quantity,
    )
    existing = _existing(order)
    if existing is not None:
        return OrderPlaced(order=existing, replayed=True)
    _validate(order)
    _backpressure_check(instrument)
    try:
        with transaction.atomic():
            _accept(order, acting_user=acting_user)
    except IntegrityError:
        # A concurrent request with the same client_order_id won; ours left nothing.
        existing = _existing(order)
        if existing is None:
            raise
        return OrderPlaced(order=existing, replayed=True)
    if order.status == S.ACCEPTED and settings.TRADING_MATCH_INLINE:
        match_inline(instrument.pk)
        order.refresh_from_db()
    return OrderPlaced(order=order)


def _existing(order: Order) -> Order | None:
    found = (
        Order.objects.select_related("instrument")
        .filter(partner=order.partner, client_order_id=order.client_order_id)
        .first()
    )
    if found is None:
        return None
    if any(getattr(found, f) != getattr(order, f) for f in _IDENTITY_FIELDS):
        raise errors.ClientOrderIdReused(
            details={"client_order_id": order.client_order_id, "order": str(found.id)}
        )
    return found


def _validate(order: Order) -> None:
    instrument = order.instrument
    if instrument.status != Instrument.Status.TRADING:
        raise errors.InstrumentHalted(
            details={"symbol": instrument.symbol, "status": instrument.status}
        )
    problems: dict[str, list[str]] = {}
    if order.quantity <= 0 or order.quantity % instrument.lot_size:
        problems["quantity"] = ["Must be a positive multiple of the lot size."]
    if order.type == Order.Type.MARKET:
        if order.price is not None:
            problems["price"] = ["A market order has no price."]
    elif order.price is None:
        problems["price"] = ["A limit order needs a price."]
    elif order.price % instrument.tick_size:
        problems["price"] = ["Must be a multiple of the tick size."]
    elif not instrument.collar_low <= order.price <= instrument.collar_high:
        problems["price"] = ["Outside the instrument's price collar."]
    if not problems:
        try:
            order.reserved = order_reserve_amount(order=order)
        except NotionalNotWhole:
            problems["quantity"] = ["Price x quantity must be whole minor units of the quote."]
        else:
            if order.reserved > MAX_MINOR_UNITS:  # a BIGINT amount in the ledger
                problems["quantity"] = ["Too large: the order's value does not fit."]
    if problems:
        raise ValidationFailed(details=problems)


def _backpressure_check(instrument: Instrument) -> None:
    """503 rather than an unbounded queue: too many accepted orders the matcher has not
    taken in, or (with a separate matcher process) a matcher that stopped beating.

    The depth is the instrument's last sequence less the last one its matcher took in:
    one row read, however deep the queue (counting the queue would cost more the deeper
    it is, just when the instrument is busiest)."""
    state = (
        MatcherState.objects.filter(instrument=instrument)
        .values_list("last_sequence", "heartbeat_at")
        .first()
    )
    taken_in, heartbeat_at = state or (0, None)
    if instrument.last_sequence - taken_in >= instrument.max_unmatched:
        raise ServiceUnavailable(
            "The instrument's matcher is behind; retry shortly.",
            retry_after=RETRY_AFTER_SECONDS,
            details={"symbol": instrument.symbol, "reason": "queue_full"},
        )
    if settings.TRADING_MATCH_INLINE:
        return
    silent_since = timezone.now() - timedelta(seconds=settings.TRADING_MATCHER_SILENT_SECONDS)
    if heartbeat_at is None or heartbeat_at < silent_since:
        raise ServiceUnavailable(
            "The instrument's matcher is not running; retry shortly.",
            retry_after=RETRY_AFTER_SECONDS,
            details={"symbol": instrument.symbol, "reason": "matcher_silent"},
        )


def _accept(order: Order, *, acting_user) -> None:
    decision = order_decision(order=order, partner=order.partner)
    order.risk_decision = decision.as_json()
    if decision.outcome == Decision.REJECT:
        order_status_set(order=order, status=S.REJECTED, reason=",".join(decision.reasons))
        order.reserved = 0
        order.save(force_insert=True)
        return
    asset = order_held_asset(order=order)
    account = order_funding_account(partner=order.partner, asset=asset)
    if account is None:
        raise InsufficientFunds(
            f"No {asset} account to hold the order's funds from.",
            details={"asset": asset, "reason": "no_account"},
        )
    order.account = account
    order.hold_id = uuid.uuid4()
    order_hold_place(order=order, account=account, acting_user=acting_user)
    if decision.outcome == Decision.REVIEW:
        # Funds stay held while risk reviews; it takes a sequence when released.
        order_status_set(order=order, status=S.HELD, reason=",".join(decision.reasons))
        order.save(force_insert=True)
        return
    order_status_set(order=order, status=S.ACCEPTED)
    order.accepted_at = timezone.now()
    order.sequence = _sequence_next(order.instrument)
    order.save(force_insert=True)  # the last statement after the sequence: the lock is brief


def _sequence_next(instrument: Instrument) -> int:
    """Take the instrument's next sequence number. Its row stays locked until commit, so
    orders of one instrument commit in sequence order (TRADING.md, "Sequencing")."""
    table = Instrument._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET last_sequence = last_sequence + 1 "
            "WHERE id = %s RETURNING last_sequence",
            [instrument.pk],
        )
        (sequence,) = cursor.fetchone()
    instrument.last_sequence = sequence
    return sequence


order_sequence_next = _sequence_next  # also for releasing a held order (services.review)


def order_cancel(*, order: Order, acting_user=None, reason: str = "cancelled") -> Order:
    """Cancel an open order: what its fills did not consume is released at once.

    Raises OrderNotCancellable (409) when it is filled, cancelled, rejected or expired. A
    cancelled order goes back on the matcher's queue, which takes it off its book
    (trading.matcher.order_cancel_booked).
    """
    with transaction.atomic():
        locked = Order.objects.select_for_update().select_related("instrument").get(pk=order.pk)
        if locked.status not in ORDER_OPEN_STATUSES:
            raise errors.OrderNotCancellable(
                f"The order is {locked.status}.",
                details={"order": str(locked.pk), "status": locked.status},
            )
        order_status_set(order=locked, status=S.CANCELLED, reason=reason)
        order_hold_release(order=locked, acting_user=acting_user)
        locked.save(update_fields=["status", "cancel_reason", "hold_id", "updated_at"])
        order_cancel_booked(order=locked)  # booked or not: the matcher's queue sees it
    return locked
