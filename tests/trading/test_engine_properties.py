"""Invariants of the matching engine for any order stream (Hypothesis)."""

from collections import defaultdict

from hypothesis import given, settings
from hypothesis import strategies as st

from trading.engine import (
    BUY,
    FOK,
    GTC,
    IOC,
    LIMIT,
    MARKET,
    SELL,
    Book,
    Cancelled,
    Fill,
    NewOrder,
    Rested,
    Trade,
)

OWNERS = ("alpha", "beta", "gamma")  # few owners: self-trade prevention fires often


@st.composite
def order_streams(draw):
    """A list of ("submit", NewOrder) and ("cancel", id) over a narrow price band, so
    orders cross, queue at one price and meet their own owner's orders."""
    operations = []
    for order_id in range(1, draw(st.integers(1, 60)) + 1):
        if operations and draw(st.integers(0, 5)) == 0:
            operations.append(("cancel", draw(st.integers(1, order_id))))
        side = draw(st.sampled_from((BUY, SELL)))
        owner = draw(st.sampled_from(OWNERS))
        quantity = draw(st.integers(1, 20))
        time_in_force = draw(st.sampled_from((GTC, GTC, IOC, FOK)))
        if draw(st.integers(0, 4)) == 0:
            budget = draw(st.none() | st.integers(0, 2_000)) if side == BUY else None
            order = NewOrder.market(order_id, owner, side, quantity, time_in_force, budget)
        else:
            price = draw(st.integers(95, 105))
            order = NewOrder.limit(order_id, owner, side, quantity, price, time_in_force)
        operations.append(("submit", order))
    return operations


def run(operations, book=None):
    book = Book() if book is None else book  # an empty Book is falsy (__len__)
    return book, [
        book.submit(arg) if action == "submit" else book.cancel(arg) for action, arg in operations
    ]


def check_invariants(book, orders, filled, spent, step_events):
    bid, ask = book.best_bid(), book.best_ask()
    assert bid is None or ask is None or bid < ask, "the book stays crossed"
    trades = [event for event in step_events if type(event) is Trade]
    fills = [event for event in step_events if type(event) is Fill]
    for trade in trades:
        buy, sell = orders[trade.buy_order_id], orders[trade.sell_order_id]
        assert buy.owner != sell.owner, "a self-trade happened"
        if buy.order_type == LIMIT:
            assert trade.price_ticks <= buy.price_ticks, "a buy paid above its limit"
        if sell.order_type == LIMIT:
            assert trade.price_ticks >= sell.price_ticks, "a sell got less than its limit"
        spent[trade.buy_order_id] += trade.price_ticks * trade.quantity
    buy_side = sum(f.quantity for f in fills if orders[f.order_id].side == BUY)
    sell_side = sum(f.quantity for f in fills if orders[f.order_id].side == SELL)
    assert buy_side == sell_side == sum(t.quantity for t in trades)
    for fill in fills:
        filled[fill.order_id] += fill.quantity
        order = orders[fill.order_id]
        assert filled[fill.order_id] <= order.quantity, "filled beyond the quantity"
        assert fill.remaining == order.quantity - filled[fill.order_id]
    for order_id, order in orders.items():
        if order.max_notional is not None:
            assert spent[order_id] <= order.max_notional, "a market buy overspent its budget"
        remaining = book.remaining_quantity(order_id)
        if remaining is not None:
            assert order.order_type == LIMIT and order.time_in_force == GTC
            assert remaining == order.quantity - filled[order_id]


@settings(max_examples=300, deadline=None)
@given(order_streams())
def test_any_stream_keeps_prices_quantities_and_the_book_consistent(operations):
    book = Book()
    orders, filled, spent = {}, defaultdict(int), defaultdict(int)
    for action, arg in operations:
        if action == "submit":
            orders[arg.order_id] = arg
            events = book.submit(arg)
            # every incoming order ends filled, rested or cancelled, and says which
            last = events[-1]
            if type(last) is Fill:
                assert last.order_id == arg.order_id and last.remaining == 0
            else:
                assert type(last) in (Rested, Cancelled) and last.order_id == arg.order_id
            if arg.time_in_force == FOK:
                assert sum(e.quantity for e in events if type(e) is Trade) in (0, arg.quantity)
            if arg.order_type == MARKET:
                assert arg.order_id not in book
        else:
            events = book.cancel(arg)
            assert arg not in book
        check_invariants(book, orders, filled, spent, events)
    resting = sum(book.remaining_quantity(o.order_id) or 0 for o in book.open_orders())
    assert resting == sum(q for _, q in book.depth().bids + book.depth().asks)


@settings(max_examples=150, deadline=None)
@given(order_streams(), st.data())
def test_a_replay_and_a_restored_book_give_identical_events(operations, data):
    _, first = run(operations)
    _, second = run(operations)
    assert first == second

    split = data.draw(st.integers(0, len(operations)))
    book, _ = run(operations[:split])
    restored = Book.restore(book.open_orders(), last_trade_seq=book.last_trade_seq)
    _, after_restore = run(operations[split:], restored)
    assert after_restore == first[split:]
