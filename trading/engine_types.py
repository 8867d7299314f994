"""The matching engine's value types: what goes into trading.engine.Book and what comes
out. Immutable tuples of ints and strings; no Django."""

from __future__ import annotations

from collections.abc import Hashable
from typing import NamedTuple

BUY, SELL = "buy", "sell"
LIMIT, MARKET = "limit", "market"
GTC, IOC, FOK = "gtc", "ioc", "fok"

# Cancelled.reason
CANCEL_REQUESTED = "cancel_requested"
SELF_TRADE = "self_trade"
FOK_UNFILLABLE = "fok_unfillable"
UNFILLED_REMAINDER = "unfilled_remainder"  # IOC or market: no more liquidity at its price
BUDGET_EXHAUSTED = "budget_exhausted"  # market buy: max_notional cannot pay for the next lot

SIDES = frozenset((BUY, SELL))
TIMES_IN_FORCE = frozenset((GTC, IOC, FOK))


class EngineError(ValueError):
    """An order the engine cannot take (malformed, or an id already resting). Order entry
    validates first, so this is a caller's bug, not a partner's mistake."""


class NewOrder(NamedTuple):
    """An order to match. `price_ticks` is None for a market order. Pass ints (or strings)
    as `order_id` and `owner`, e.g. the order's sequence number and the partner's pk: the
    book keeps them in dicts that the garbage collector ignores only while they hold no
    tracked objects (a UUID or a model instance is tracked)."""

    order_id: Hashable
    owner: Hashable
    side: str
    quantity: int
    price_ticks: int | None = None
    order_type: str = LIMIT
    time_in_force: str = GTC
    max_notional: int | None = None  # market buys only, quote asset minor units

    @classmethod
    def limit(cls, order_id, owner, side, quantity, price_ticks, time_in_force=GTC) -> NewOrder:
        return cls(order_id, owner, side, quantity, price_ticks, LIMIT, time_in_force)

    @classmethod
    def market(
        cls, order_id, owner, side, quantity, time_in_force=IOC, max_notional=None
    ) -> NewOrder:
        return cls(order_id, owner, side, quantity, None, MARKET, time_in_force, max_notional)


class RestingOrder(NamedTuple):
    """An open order on the book: what `Book.restore` takes and `Book.resting` answers."""

    order_id: Hashable
    owner: Hashable
    side: str
    price_ticks: int
    remaining: int


# --- Events (immutable; the hot path builds them with tuple.__new__, see _new) ------------


class Trade(NamedTuple):
    seq: int  # the book's trade counter: 1, 2, 3... (continued by Book.restore)
    buy_order_id: Hashable
    sell_order_id: Hashable
    price_ticks: int
    quantity: int
    aggressor_side: str


class Fill(NamedTuple):
    """One order's side of a trade; `remaining` is its open quantity after it."""

    order_id: Hashable
    trade_seq: int
    price_ticks: int
    quantity: int
    remaining: int
    aggressor: bool


class Rested(NamedTuple):
    order_id: Hashable
    side: str
    price_ticks: int
    remaining: int


class Cancelled(NamedTuple):
    order_id: Hashable
    remaining: int  # the quantity cancelled
    reason: str


Event = Trade | Fill | Rested | Cancelled


class Depth(NamedTuple):
    """Quantity per price, best first: bids descending, asks ascending."""

    bids: list[tuple[int, int]]
    asks: list[tuple[int, int]]
