"""One instrument's book as the matcher keeps it: the engine's Book plus, per order it has
touched, what the database row must become. No queries here: rows in, a BatchOutcome out.

Engine ids are order sequence numbers and owners are partner ids as strings (ints and
strings keep the engine's dicts out of the garbage collector's way); prices are ticks and
quantities lots, converted with the instrument's tick and lot sizes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from fractions import Fraction

from trading.engine import (
    BUY,
    LIMIT,
    MARKET,
    Book,
    Cancelled,
    EngineError,
    Fill,
    NewOrder,
    Rested,
    RestingOrder,
    Trade,
)
from trading.models import Order
from trading.services.states import order_status_set

S = Order.Status
_tuple_new = tuple.__new__
OPEN_STATUSES = (S.ACCEPTED, S.PARTIALLY_FILLED)  # a booked order in these rests on the book
ENDED_OUTSIDE = (S.CANCELLED, S.EXPIRED)  # ended by order_cancel / expiry: take it off
MATCHER_REFUSED = "matcher_refused"  # the engine refused it (order entry should have)

# The columns the matcher reads of an order (queue and restore), in this order.
ORDER_COLUMNS = (
    "id",
    "sequence",
    "partner_id",
    "side",
    "type",
    "time_in_force",
    "price",
    "quantity",
    "filled_quantity",
    "filled_notional",
    "status",
    "booked",
    "hold_id",
    "reserved",
)


class OrderProgress:
    """What the matcher knows of one order: the row as read (`was_*`, the guard of its
    update) and what it has become. Has the status fields order_status_set moves."""

    __slots__ = (
        "booked",
        "cancel_reason",
        "filled_notional",
        "filled_quantity",
        "hold_id",
        "id",
        "partner_id",
        "price",
        "quantity",
        "reject_reason",
        "release_pending",
        "reserved",
        "sequence",
        "side",
        "status",
        "time_in_force",
        "type",
        "was_booked",
        "was_filled_quantity",
        "was_status",
    )

    def __init__(self, row: tuple):
        (
            self.id,
            self.sequence,
            self.partner_id,
            self.side,
            self.type,
            self.time_in_force,
            self.price,
            self.quantity,
            self.filled_quantity,
            self.filled_notional,
            self.status,
            self.booked,
            self.hold_id,
            self.reserved,
        ) = row
        self.cancel_reason = self.reject_reason = ""
        self.release_pending = False
        self.was_status, self.was_booked = self.status, self.booked  # mark_written, inlined
        self.was_filled_quantity = self.filled_quantity

    def mark_written(self) -> None:
        """The row now says what this says (after a commit): the next guard."""
        self.was_status = self.status
        self.was_booked = self.booked
        self.was_filled_quantity = self.filled_quantity

    @property
    def consumed(self) -> int:
        """What fills used of the hold: quote notional for a buy, base quantity for a sell."""
        return self.filled_notional if self.side == BUY else self.filled_quantity


@dataclass
class TradeRow:
    sequence: int
    buy_order_id: uuid.UUID
    sell_order_id: uuid.UUID
    price: int
    quantity: int
    aggressor_side: str


@dataclass
class BatchOutcome:
    """What one batch changes: every order row it touched (guarded by what it read), the
    trades, and the counters."""

    orders: dict[uuid.UUID, OrderProgress] = field(default_factory=dict)
    trades: list[TradeRow] = field(default_factory=list)
    last_sequence: int = 0
    last_trade_sequence: int = 0
    taken: int = 0  # queue entries taken in (orders and ended-elsewhere acknowledgements)


class MatcherBook:
    """The engine's book of one instrument and the progress of its resting orders."""

    def __init__(self, *, tick_size: int, lot_size: int, base_scale: int):
        self.tick_size, self.lot_size = tick_size, lot_size
        self.base_divisor = 10**base_scale
        self.minor_units_per_tick_lot = Fraction(tick_size * lot_size, self.base_divisor)
        self.book = Book(minor_units_per_tick_lot=self.minor_units_per_tick_lot)
        self.resting: dict[int, OrderProgress] = {}

    @classmethod
    def restore(cls, rows, *, last_trade_sequence: int, **sizes) -> MatcherBook:
        """From the open booked orders' rows, in sequence order (their time priority)."""
        kept = cls(**sizes)
        progress = [OrderProgress(row) for row in rows]
        kept.book = Book.restore(
            (
                RestingOrder(
                    p.sequence,
                    str(p.partner_id),
                    p.side,
                    p.price // kept.tick_size,
                    (p.quantity - p.filled_quantity) // kept.lot_size,
                )
                for p in progress
            ),
            minor_units_per_tick_lot=kept.minor_units_per_tick_lot,
            last_trade_seq=last_trade_sequence,
        )
        kept.resting = {p.sequence: p for p in progress}
        return kept

    def take(self, rows) -> BatchOutcome:
        """Feed the queue's rows (in the order given) to the engine."""
        outcome = BatchOutcome(last_trade_sequence=self.book.last_trade_seq)
        orders = [OrderProgress(row) for row in rows]
        # Cancels and expiries first: they committed before this batch read the queue, so
        # they happened before anything it matches (and nothing here may fill them).
        for order in orders:
            if order.status in ENDED_OUTSIDE:
                # Their service released the hold: off the book (a no-op for an order that
                # never rested), and acknowledged.
                self.book.cancel(order.sequence)
                self.resting.pop(order.sequence, None)
                order.booked = True
                outcome.orders[order.id] = order
        for order in orders:
            if order.status == S.ACCEPTED:
                self._submit(order, outcome)
            # Any other status has no business in the queue (order entry sequences accepted
            # orders only): left as it is, never matched.
        outcome.taken = len(orders)
        outcome.last_sequence = max((order.sequence for order in orders), default=0)
        outcome.last_trade_sequence = self.book.last_trade_seq
        return outcome

    def _submit(self, order: OrderProgress, outcome: BatchOutcome) -> None:
        order.booked = True
        outcome.orders[order.id] = order
        try:
            events = self.book.submit(self._new_order(order))
        except EngineError:
            self._end(order, S.CANCELLED, MATCHER_REFUSED)
            return
        tick, lot, divisor, resting = self.tick_size, self.lot_size, self.base_divisor, self.resting
        for event in events:
            kind = type(event)
            if kind is Trade:
                buy = order if event.buy_order_id == order.sequence else resting[event.buy_order_id]
                sell = (
                    order if event.sell_order_id == order.sequence else resting[event.sell_order_id]
                )
                outcome.trades.append(
                    TradeRow(
                        event.seq,
                        buy.id,
                        sell.id,
                        event.price_ticks * tick,
                        event.quantity * lot,
                        event.aggressor_side,
                    )
                )
            elif kind is Fill:
                filled = order if event.aggressor else resting[event.order_id]
                quantity = event.quantity * lot
                filled.filled_quantity += quantity
                filled.filled_notional += event.price_ticks * tick * quantity // divisor
                if not event.aggressor:
                    outcome.orders[filled.id] = filled
                    if event.remaining:
                        _status_move(filled, S.PARTIALLY_FILLED)
                    else:
                        del resting[event.order_id]
                        self._end(filled, S.FILLED, "")
            elif kind is Rested:
                resting[order.sequence] = order
                if order.filled_quantity:
                    _status_move(order, S.PARTIALLY_FILLED)
            elif kind is Cancelled:
                self._end(order, S.CANCELLED, event.reason)
        if order.filled_quantity == order.quantity:
            self._end(order, S.FILLED, "")

    def _new_order(self, order: OrderProgress) -> NewOrder:
        lots = order.quantity // self.lot_size
        owner = str(order.partner_id)  # already text on PostgreSQL: trading.matching.queue
        if order.type == MARKET:
            # A market buy never fills beyond what it holds (the collar's upper bound).
            budget = order.reserved if order.side == BUY else None
            return NewOrder.market(
                order.sequence, owner, order.side, lots, order.time_in_force, budget
            )
        # NewOrder.limit without its two calls (the engine builds its events the same way)
        return _tuple_new(
            NewOrder,
            (
                order.sequence,
                owner,
                order.side,
                lots,
                order.price // self.tick_size,
                LIMIT,
                order.time_in_force,
                None,
            ),
        )

    def _end(self, order: OrderProgress, status: str, reason: str):
        """The order is done: its status, and (when fills did not use all it holds) its
        hold queued to shrink to what they consumed (trading.matching.releases)."""
        if order.status == status:
            return
        _status_move(order, status, reason)
        order.release_pending = order.hold_id is not None and order.consumed < order.reserved


def _status_move(order: OrderProgress, status: str, reason: str = "") -> None:
    if order.status != status:
        order_status_set(order=order, status=status, reason=reason)
