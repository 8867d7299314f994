"""Price-time priority matching engine: one in-memory order book per instrument.

Pure Python, no Django: the durable matcher feeds it accepted orders in sequence order and
persists the events it returns. Inside, prices are integer ticks and quantities integer
lots; the caller converts from the instrument's tick and lot sizes.

Semantics (docs/architecture.md, "Matching engine"):
- An incoming order trades against the best opposite price first, and within a price
  against the order that rested first. The trade price is the resting order's price.
- limit GTC: what does not fill rests at its price. limit IOC: what does not fill at once is
  cancelled. FOK (limit or market): fills completely at once, or is cancelled with no trade
  and the book untouched (checked before anything moves).
- market: never rests; what does not fill is cancelled (GTC and IOC behave alike). A market
  buy may carry `max_notional`, a budget in the quote asset's minor units that its fills
  never exceed.
- Self-trade prevention, cancel newest: when the incoming order reaches a resting order of
  the same owner, the incoming order's remaining quantity is cancelled (reason
  `self_trade`); trades it made before that stand and the resting order is untouched.
- Deterministic: no clock, no randomness, no iteration over unordered containers; the same
  calls give the same events.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque
from collections.abc import Hashable, Iterable
from fractions import Fraction

from trading.engine_types import (
    BUDGET_EXHAUSTED,
    BUY,
    CANCEL_REQUESTED,
    FOK,
    FOK_UNFILLABLE,
    GTC,
    IOC,
    LIMIT,
    MARKET,
    SELF_TRADE,
    SELL,
    SIDES,
    TIMES_IN_FORCE,
    UNFILLED_REMAINDER,
    Cancelled,
    Depth,
    EngineError,
    Event,
    Fill,
    NewOrder,
    Rested,
    RestingOrder,
    Trade,
)

__all__ = [  # the engine's whole public surface, types included
    "BUDGET_EXHAUSTED",
    "BUY",
    "CANCEL_REQUESTED",
    "FOK",
    "FOK_UNFILLABLE",
    "GTC",
    "IOC",
    "LIMIT",
    "MARKET",
    "SELF_TRADE",
    "SELL",
    "UNFILLED_REMAINDER",
    "Book",
    "Cancelled",
    "Depth",
    "EngineError",
    "Event",
    "Fill",
    "NewOrder",
    "Rested",
    "RestingOrder",
    "Trade",
]

_NO_LIMIT = float("-inf")  # a market order's limit key: every opposite level crosses it

# NamedTuple's own constructor goes through a Python-level __new__; building the tuple
# directly halves the cost of an event, which is most of the cost of a match.
_new = tuple.__new__


class Book:
    """The order book of one instrument.

    A level key is a bid's price or minus an ask's price, so the best level of either side
    is the largest key (`keys[-1]`, and emptying it is `keys.pop()`), "does it cross" is one
    comparison, and the key's sign tells the side. Each side is a dict of key -> deque of
    order ids in time priority, and a sorted list of its keys. A resting order's state lives
    in three dicts by id (its level key, open quantity, owner): ints and owners only, which
    the garbage collector does not track, so a deep book costs it nothing (objects per
    resting order cost 25% of the throughput in collections). `_keys`' insertion order is
    the order in which orders rested.
    """

    __slots__ = (
        "_ask_keys",
        "_ask_levels",
        "_bid_keys",
        "_bid_levels",
        "_keys",
        "_notional_denominator",
        "_notional_numerator",
        "_owners",
        "_remaining",
        "_trade_seq",
    )

    def __init__(self, *, minor_units_per_tick_lot: int | Fraction = 1, last_trade_seq: int = 0):
        """`minor_units_per_tick_lot`: what one lot costs at a price of one tick, in the
        quote asset's minor units (tick 0.01 USD, lot 1 -> 1; tick 0.0001 USD -> 1/100).
        Only budgeted market buys use it."""
        scale = Fraction(minor_units_per_tick_lot)
        if scale <= 0:
            raise EngineError("minor_units_per_tick_lot must be positive")
        self._notional_numerator = scale.numerator
        self._notional_denominator = scale.denominator
        self._bid_levels: dict[int, deque] = {}
        self._bid_keys: list[int] = []
        self._ask_levels: dict[int, deque] = {}
        self._ask_keys: list[int] = []
        self._keys: dict[Hashable, int] = {}
        self._remaining: dict[Hashable, int] = {}
        self._owners: dict[Hashable, Hashable] = {}
        self._trade_seq = last_trade_seq

    # --- Order flow -----------------------------------------------------------------------

    def submit(self, order: NewOrder) -> list[Event]:
        """Match one order; the events in the order they happened: for each match a Trade,
        the resting order's Fill, the incoming order's Fill; then Rested or Cancelled for
        what is left of the incoming order (nothing when it filled completely)."""
        order_id, owner, side, quantity, price, order_type, time_in_force, budget = order
        if (
            type(quantity) is not int
            or quantity <= 0
            or time_in_force not in TIMES_IN_FORCE
            or order_id in self._keys
        ):
            raise EngineError(f"order {order_id!r}: bad quantity or time in force, or resting")
        if order_type == LIMIT:
            if type(price) is not int or price <= 0 or budget is not None:
                raise EngineError(f"order {order_id!r}: a limit order needs a positive price")
        elif order_type != MARKET or price is not None:
            raise EngineError(f"order {order_id!r}: a market order has no price")
        elif budget is not None and (side != BUY or type(budget) is not int or budget < 0):
            raise EngineError(f"order {order_id!r}: max_notional is for market buys only")
        if side == BUY:
            keys, levels = self._ask_keys, self._ask_levels
            limit_key = _NO_LIMIT if price is None else -price
        elif side == SELL:
            keys, levels = self._bid_keys, self._bid_levels
            limit_key = _NO_LIMIT if price is None else price
        else:
            raise EngineError(f"order {order_id!r}: side must be buy or sell")

        if not keys or keys[-1] < limit_key:  # nothing crosses: the common case, kept short
            if price is not None and time_in_force == GTC:  # _rest, inlined
                if side == BUY:
                    own_keys, own_levels, key = self._bid_keys, self._bid_levels, price
                else:
                    own_keys, own_levels, key = self._ask_keys, self._ask_levels, -price
                self._keys[order_id] = key
                self._remaining[order_id] = quantity
                self._owners[order_id] = owner
                level = own_levels.get(key)
                if level is None:
                    own_levels[key] = deque((order_id,))
                    insort(own_keys, key)
                else:
                    level.append(order_id)
                return [_new(Rested, (order_id, side, price, quantity))]
            reason = FOK_UNFILLABLE if time_in_force == FOK else UNFILLED_REMAINDER
            return [_new(Cancelled, (order_id, quantity, reason))]

        if budget is not None:
            budget *= self._notional_denominator  # compare in exact scaled integers
        if time_in_force == FOK and (
            self._fillable(keys, levels, limit_key, owner, quantity, budget) < quantity
        ):
            return [_new(Cancelled, (order_id, quantity, FOK_UNFILLABLE))]

        events: list[Event] = []
        remaining, stopped_by = self._match(
            events, keys, levels, limit_key, order_id, owner, side, quantity, budget
        )
        if remaining:
            if stopped_by is None and price is not None and time_in_force == GTC:
                self._rest(order_id, owner, side, price, remaining)
                events.append(_new(Rested, (order_id, side, price, remaining)))
            else:
                reason = stopped_by or UNFILLED_REMAINDER
                events.append(_new(Cancelled, (order_id, remaining, reason)))
        return events

    def cancel(self, order_id: Hashable) -> list[Event]:
        """Take a resting order off the book: [Cancelled], or [] when the id is not resting
        (filled, cancelled, or never seen)."""
        key = self._keys.pop(order_id, None)
        if key is None:
            return []
        remaining = self._remaining.pop(order_id)
        del self._owners[order_id]
        if key > 0:
            keys, levels = self._bid_keys, self._bid_levels
        else:
            keys, levels = self._ask_keys, self._ask_levels
        level = levels[key]
        level.remove(order_id)  # ids are unique on the book
        if not level:
            del levels[key]
            del keys[bisect_left(keys, key)]
        return [_new(Cancelled, (order_id, remaining, CANCEL_REQUESTED))]

    def _match(self, events, keys, levels, limit_key, order_id, owner, side, remaining, budget):
        """Trade `remaining` against the opposite side while it crosses; returns (what is
        left, the cancel reason that stopped it or None)."""
        open_quantity, owners, order_keys = self._remaining, self._owners, self._keys
        buying = side == BUY
        numerator = self._notional_numerator
        seq = self._trade_seq
        stopped_by = None
        while keys:
            key = keys[-1]
            if key < limit_key:
                break
            level = levels[key]
            price = -key if buying else key
            while level:
                resting_id = level[0]
                if owners[resting_id] == owner:
                    stopped_by = SELF_TRADE
                    break
                available = open_quantity[resting_id]
                traded = remaining if remaining < available else available
                if budget is not None:
                    affordable = budget // (price * numerator)
                    if affordable < traded:
                        stopped_by = BUDGET_EXHAUSTED
                        if not affordable:
                            break
                        traded = affordable
                    budget -= traded * price * numerator
                seq += 1
                remaining -= traded
                available -= traded
                events += (
                    _new(Trade, (seq, order_id, resting_id, price, traded, side))
                    if buying
                    else _new(Trade, (seq, resting_id, order_id, price, traded, side)),
                    _new(Fill, (resting_id, seq, price, traded, available, False)),
                    _new(Fill, (order_id, seq, price, traded, remaining, True)),
                )
                if available:
                    open_quantity[resting_id] = available
                else:
                    level.popleft()
                    del open_quantity[resting_id], owners[resting_id], order_keys[resting_id]
                if not remaining or stopped_by is not None:
                    break
            if not level:
                keys.pop()
                del levels[key]
            if not remaining or stopped_by is not None:
                break
        self._trade_seq = seq
        return remaining, stopped_by

    def _fillable(self, keys, levels, limit_key, owner, quantity, budget) -> int:
        """How much of `quantity` _match would fill, without moving anything (for FOK)."""
        open_quantity, owners = self._remaining, self._owners
        numerator = self._notional_numerator
        filled = 0
        for key in reversed(keys):
            if key < limit_key:
                break
            price = abs(key)
            for resting_id in levels[key]:
                if owners[resting_id] == owner:
                    return filled
                take = min(quantity - filled, open_quantity[resting_id])
                if budget is not None:
                    take = min(take, budget // (price * numerator))
                    budget -= take * price * numerator
                    if not take:
                        return filled
                filled += take
                if filled == quantity:
                    return filled
        return filled

    def _rest(self, order_id, owner, side, price, remaining):
        if side == BUY:
            keys, levels, key = self._bid_keys, self._bid_levels, price
        else:
            keys, levels, key = self._ask_keys, self._ask_levels, -price
        self._keys[order_id] = key
        self._remaining[order_id] = remaining
        self._owners[order_id] = owner
        level = levels.get(key)
        if level is None:
            levels[key] = deque((order_id,))
            insort(keys, key)
        else:
            level.append(order_id)

    # --- Recovery and reading -------------------------------------------------------------

    @classmethod
    def restore(cls, orders: Iterable[RestingOrder], **book_options) -> Book:
        """A book holding these open orders, resting in the order given: pass them in
        sequence order (ORDER BY sequence), so time priority is what it was. Nothing
        matches; a set that would cross, a repeated id or a malformed order is refused.
        `book_options` are Book's (`last_trade_seq` continues the trade counter)."""
        book = cls(**book_options)
        for order in orders:
            order_id, owner, side, price, remaining = order
            if side not in SIDES or type(price) is not int or price <= 0:
                raise EngineError(f"order {order_id!r}: bad side or price_ticks")
            if type(remaining) is not int or remaining <= 0:
                raise EngineError(f"order {order_id!r}: remaining must be a positive integer")
            if order_id in book._keys:
                raise EngineError(f"order {order_id!r} appears twice")
            best_opposite = book.best_ask() if side == BUY else book.best_bid()
            if best_opposite is not None and (
                price >= best_opposite if side == BUY else price <= best_opposite
            ):
                raise EngineError(f"order {order_id!r} would cross the book")
            book._rest(order_id, owner, side, price, remaining)
        return book

    def best_bid(self) -> int | None:
        return self._bid_keys[-1] if self._bid_keys else None

    def best_ask(self) -> int | None:
        return -self._ask_keys[-1] if self._ask_keys else None

    @property
    def last_trade_seq(self) -> int:
        return self._trade_seq

    def __len__(self) -> int:
        """How many orders rest on the book."""
        return len(self._keys)

    def __contains__(self, order_id: Hashable) -> bool:
        return order_id in self._keys

    def remaining_quantity(self, order_id: Hashable) -> int | None:
        """The open quantity of a resting order; None when it is not on the book."""
        return self._remaining.get(order_id)

    def resting(self, order_id: Hashable) -> RestingOrder | None:
        return self._snapshot(order_id) if order_id in self._keys else None

    def open_orders(self) -> list[RestingOrder]:
        """Every resting order, in the order they rested (what `restore` takes back)."""
        return [self._snapshot(order_id) for order_id in self._keys]

    def depth(self, levels: int | None = None) -> Depth:
        """Aggregated quantity per price, best first; `levels` caps each side."""
        remaining = self._remaining
        bid_levels, ask_levels = self._bid_levels, self._ask_levels
        bids = [
            (key, sum(map(remaining.__getitem__, bid_levels[key])))
            for key in _best(self._bid_keys, levels)
        ]
        asks = [
            (-key, sum(map(remaining.__getitem__, ask_levels[key])))
            for key in _best(self._ask_keys, levels)
        ]
        return Depth(bids, asks)

    def _snapshot(self, order_id: Hashable) -> RestingOrder:
        key = self._keys[order_id]
        side = BUY if key > 0 else SELL
        return RestingOrder(
            order_id, self._owners[order_id], side, abs(key), self._remaining[order_id]
        )


def _best(keys: list[int], levels: int | None) -> list[int]:
    """The best `levels` keys (all when None), best first."""
    start = 0 if levels is None else max(len(keys) - levels, 0)
    return keys[start:][::-1]
