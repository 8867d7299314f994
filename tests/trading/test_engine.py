"""The matching engine's order semantics, one rule per test (trading/engine.py)."""

import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

from trading.engine import (
    BUDGET_EXHAUSTED,
    BUY,
    CANCEL_REQUESTED,
    FOK,
    FOK_UNFILLABLE,
    IOC,
    SELF_TRADE,
    SELL,
    UNFILLED_REMAINDER,
    Book,
    Cancelled,
    Depth,
    EngineError,
    Fill,
    NewOrder,
    Rested,
    RestingOrder,
    Trade,
)

ROOT = Path(__file__).resolve().parents[2]


def trades(events):
    return [event for event in events if type(event) is Trade]


def book_with(*orders):
    book = Book()
    for order in orders:
        book.submit(order)
    return book


def test_importing_the_engine_does_not_import_django():
    code = "import sys, trading.engine; sys.exit('django' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True)
    assert result.returncode == 0, result.stderr.decode()


def test_a_limit_order_that_crosses_nothing_rests():
    book = Book()
    assert book.submit(NewOrder.limit(1, "alpha", BUY, 10, 1000)) == [Rested(1, BUY, 1000, 10)]
    assert book.best_bid() == 1000 and book.best_ask() is None
    assert book.remaining_quantity(1) == 10


def test_a_crossing_order_trades_at_the_resting_price_and_both_get_a_fill():
    book = book_with(NewOrder.limit(1, "alpha", SELL, 10, 1000))
    events = book.submit(NewOrder.limit(2, "beta", BUY, 10, 1005))
    assert events == [
        Trade(1, 2, 1, 1000, 10, BUY),
        Fill(1, 1, 1000, 10, 0, False),
        Fill(2, 1, 1000, 10, 0, True),
    ]
    assert len(book) == 0 and book.depth() == Depth([], [])


def test_better_price_first_then_earlier_order_first():
    book = book_with(
        NewOrder.limit(1, "a", SELL, 5, 1002),
        NewOrder.limit(2, "b", SELL, 5, 1001),
        NewOrder.limit(3, "c", SELL, 5, 1001),
        NewOrder.limit(4, "d", SELL, 5, 1000),
    )
    events = book.submit(NewOrder.limit(9, "z", BUY, 20, 1002))
    assert [(t.sell_order_id, t.price_ticks) for t in trades(events)] == [
        (4, 1000),
        (2, 1001),
        (3, 1001),
        (1, 1002),
    ]
    assert [t.seq for t in trades(events)] == [1, 2, 3, 4]


def test_a_sell_takes_the_highest_bid_first():
    book = book_with(NewOrder.limit(1, "a", BUY, 5, 990), NewOrder.limit(2, "b", BUY, 5, 995))
    events = book.submit(NewOrder.limit(3, "c", SELL, 5, 980))
    assert trades(events) == [Trade(1, 2, 3, 995, 5, SELL)]
    assert book.best_bid() == 990


def test_a_partial_fill_leaves_the_resting_order_at_the_front_of_its_level():
    book = book_with(NewOrder.limit(1, "a", SELL, 10, 1000), NewOrder.limit(2, "b", SELL, 10, 1000))
    events = book.submit(NewOrder.limit(3, "c", BUY, 4, 1000))
    assert events[1] == Fill(1, 1, 1000, 4, 6, False)
    assert book.remaining_quantity(1) == 6
    next_events = book.submit(NewOrder.limit(4, "d", BUY, 8, 1000))
    assert [(t.sell_order_id, t.quantity) for t in trades(next_events)] == [(1, 6), (2, 2)]
    assert book.depth() == Depth([], [(1000, 8)])


def test_a_gtc_remainder_rests_at_its_own_price():
    book = book_with(NewOrder.limit(1, "a", SELL, 3, 1000))
    events = book.submit(NewOrder.limit(2, "b", BUY, 10, 1001))
    assert events[-1] == Rested(2, BUY, 1001, 7)
    assert book.depth() == Depth([(1001, 7)], [])


def test_ioc_fills_what_it_can_and_cancels_the_rest():
    book = book_with(NewOrder.limit(1, "a", SELL, 3, 1000), NewOrder.limit(2, "a", SELL, 3, 1010))
    events = book.submit(NewOrder.limit(3, "b", BUY, 10, 1005, IOC))
    assert [t.quantity for t in trades(events)] == [3]
    assert events[-1] == Cancelled(3, 7, UNFILLED_REMAINDER)
    assert 3 not in book and book.depth() == Depth([], [(1010, 3)])


def test_ioc_with_nothing_to_cross_is_cancelled_whole():
    book = Book()
    assert book.submit(NewOrder.limit(1, "a", BUY, 5, 1000, IOC)) == [
        Cancelled(1, 5, UNFILLED_REMAINDER)
    ]
    assert len(book) == 0


def test_fok_that_cannot_fill_completely_touches_nothing():
    book = book_with(NewOrder.limit(1, "a", SELL, 3, 1000), NewOrder.limit(2, "a", SELL, 3, 1010))
    before = book.open_orders()
    events = book.submit(NewOrder.limit(3, "b", BUY, 5, 1005, FOK))
    assert events == [Cancelled(3, 5, FOK_UNFILLABLE)]
    assert book.open_orders() == before and book.last_trade_seq == 0


def test_fok_that_can_fill_fills_across_levels():
    book = book_with(NewOrder.limit(1, "a", SELL, 3, 1000), NewOrder.limit(2, "a", SELL, 3, 1010))
    events = book.submit(NewOrder.limit(3, "b", BUY, 5, 1010, FOK))
    assert [(t.sell_order_id, t.quantity) for t in trades(events)] == [(1, 3), (2, 2)]
    assert book.remaining_quantity(2) == 1


def test_fok_counts_only_what_self_trade_prevention_would_let_it_reach():
    book = book_with(NewOrder.limit(1, "a", SELL, 3, 1000), NewOrder.limit(2, "b", SELL, 9, 1001))
    events = book.submit(NewOrder.limit(3, "b", BUY, 5, 1001, FOK))
    assert events == [Cancelled(3, 5, FOK_UNFILLABLE)]
    assert book.remaining_quantity(1) == 3


def test_a_market_order_never_rests():
    book = book_with(NewOrder.limit(1, "a", BUY, 4, 990), NewOrder.limit(2, "a", BUY, 4, 900))
    events = book.submit(NewOrder.market(3, "b", SELL, 10))
    assert [(t.price_ticks, t.quantity) for t in trades(events)] == [(990, 4), (900, 4)]
    assert events[-1] == Cancelled(3, 2, UNFILLED_REMAINDER)
    assert 3 not in book and len(book) == 0


def test_a_market_order_on_an_empty_side_is_cancelled():
    assert Book().submit(NewOrder.market(1, "a", BUY, 5)) == [Cancelled(1, 5, UNFILLED_REMAINDER)]


def test_a_market_fok_fills_all_or_nothing():
    book = book_with(NewOrder.limit(1, "a", SELL, 4, 1000))
    assert book.submit(NewOrder.market(2, "b", BUY, 5, FOK)) == [Cancelled(2, 5, FOK_UNFILLABLE)]
    assert [t.quantity for t in trades(book.submit(NewOrder.market(3, "b", BUY, 4, FOK)))] == [4]


def test_a_market_buy_never_spends_beyond_its_budget():
    book = book_with(NewOrder.limit(1, "a", SELL, 5, 1000), NewOrder.limit(2, "a", SELL, 5, 1200))
    # 5 x 1000 = 5,000 then 2 x 1200 = 2,400: 7,400 of 8,000; a third lot at 1,200 would not fit
    events = book.submit(NewOrder.market(3, "b", BUY, 10, max_notional=8_000))
    assert [(t.price_ticks, t.quantity) for t in trades(events)] == [(1000, 5), (1200, 2)]
    assert events[-1] == Cancelled(3, 3, BUDGET_EXHAUSTED)
    assert book.remaining_quantity(2) == 3


def test_the_budget_is_in_minor_units_through_the_tick_lot_scale():
    # tick 0.0001 USD, lot 1: one lot at 1,000 ticks costs 10 cents
    book = Book(minor_units_per_tick_lot=Fraction(1, 100))
    book.submit(NewOrder.limit(1, "a", SELL, 10, 1000))
    events = book.submit(NewOrder.market(2, "b", BUY, 10, max_notional=35))
    assert [t.quantity for t in trades(events)] == [3]
    assert events[-1] == Cancelled(2, 7, BUDGET_EXHAUSTED)


def test_a_budget_that_pays_for_nothing_trades_nothing():
    book = book_with(NewOrder.limit(1, "a", SELL, 5, 1000))
    events = book.submit(NewOrder.market(2, "b", BUY, 5, max_notional=999))
    assert events == [Cancelled(2, 5, BUDGET_EXHAUSTED)]


def test_a_budgeted_fok_is_refused_when_the_budget_cannot_pay_for_all():
    book = book_with(NewOrder.limit(1, "a", SELL, 5, 1000))
    events = book.submit(NewOrder.market(2, "b", BUY, 5, FOK, max_notional=4_999))
    assert events == [Cancelled(2, 5, FOK_UNFILLABLE)]
    assert book.remaining_quantity(1) == 5


def test_self_trade_cancels_the_incoming_remainder_and_keeps_the_resting_order():
    book = book_with(
        NewOrder.limit(1, "b", SELL, 3, 1000),
        NewOrder.limit(2, "a", SELL, 3, 1001),
        NewOrder.limit(3, "b", SELL, 3, 1002),
    )
    events = book.submit(NewOrder.limit(4, "a", BUY, 9, 1002))
    assert trades(events) == [Trade(1, 4, 1, 1000, 3, BUY)]
    assert events[-1] == Cancelled(4, 6, SELF_TRADE)
    assert book.remaining_quantity(2) == 3 and 4 not in book
    assert book.best_bid() is None  # the crossing remainder did not rest


def test_self_trade_stops_at_the_own_order_even_with_others_behind_it():
    book = book_with(NewOrder.limit(1, "a", SELL, 3, 1000), NewOrder.limit(2, "b", SELL, 3, 1000))
    assert book.submit(NewOrder.limit(3, "a", BUY, 3, 1000)) == [Cancelled(3, 3, SELF_TRADE)]


def test_cancel_takes_a_resting_order_off_and_frees_its_level():
    book = book_with(NewOrder.limit(1, "a", BUY, 5, 1000), NewOrder.limit(2, "b", BUY, 5, 999))
    assert book.cancel(1) == [Cancelled(1, 5, CANCEL_REQUESTED)]
    assert book.best_bid() == 999 and 1 not in book
    assert book.cancel(1) == []
    assert book.cancel("never-seen") == []


def test_cancel_from_the_middle_of_a_level_keeps_the_others_in_order():
    book = book_with(*(NewOrder.limit(i, f"o{i}", SELL, 1, 1000) for i in (1, 2, 3)))
    book.cancel(2)
    events = book.submit(NewOrder.limit(9, "z", BUY, 2, 1000))
    assert [t.sell_order_id for t in trades(events)] == [1, 3]


def test_a_partly_filled_order_cancels_its_remainder():
    book = book_with(NewOrder.limit(1, "a", SELL, 10, 1000), NewOrder.limit(2, "b", BUY, 4, 1000))
    assert book.cancel(1) == [Cancelled(1, 6, CANCEL_REQUESTED)]


def test_depth_aggregates_by_price_best_first_and_caps_levels():
    book = book_with(
        NewOrder.limit(1, "a", BUY, 2, 990),
        NewOrder.limit(2, "b", BUY, 3, 990),
        NewOrder.limit(3, "a", BUY, 1, 995),
        NewOrder.limit(4, "a", SELL, 4, 1005),
        NewOrder.limit(5, "b", SELL, 6, 1001),
    )
    assert book.depth() == Depth([(995, 1), (990, 5)], [(1001, 6), (1005, 4)])
    assert book.depth(1) == Depth([(995, 1)], [(1001, 6)])
    assert book.depth(0) == Depth([], [])


def test_restore_rebuilds_priority_and_continues_the_trade_counter():
    book = book_with(
        NewOrder.limit(1, "a", SELL, 5, 1000),
        NewOrder.limit(2, "b", SELL, 5, 1000),
        NewOrder.limit(3, "c", BUY, 2, 1000),
        NewOrder.limit(4, "c", BUY, 7, 990),
    )
    restored = Book.restore(book.open_orders(), last_trade_seq=book.last_trade_seq)
    assert restored.open_orders() == [
        RestingOrder(1, "a", SELL, 1000, 3),
        RestingOrder(2, "b", SELL, 1000, 5),
        RestingOrder(4, "c", BUY, 990, 7),
    ]
    incoming = NewOrder.limit(5, "d", BUY, 6, 1000)
    assert restored.submit(incoming) == book.submit(incoming)
    assert restored.depth() == book.depth()


@pytest.mark.parametrize(
    "orders",
    [
        [RestingOrder(1, "a", BUY, 1000, 5), RestingOrder(2, "b", SELL, 1000, 5)],
        [RestingOrder(1, "a", BUY, 1000, 5), RestingOrder(1, "a", BUY, 999, 5)],
        [RestingOrder(1, "a", BUY, 1000, 0)],
        [RestingOrder(1, "a", "hold", 1000, 5)],
    ],
    ids=["crossing", "repeated-id", "nothing-left", "bad-side"],
)
def test_restore_refuses_a_book_that_cannot_have_been(orders):
    with pytest.raises(EngineError):
        Book.restore(orders)


@pytest.mark.parametrize(
    "order",
    [
        NewOrder.limit(1, "a", BUY, 0, 1000),
        NewOrder.limit(1, "a", BUY, 5, 0),
        NewOrder.limit(1, "a", BUY, 5, 10.5),
        NewOrder.limit(1, "a", "hold", 5, 1000),
        NewOrder.limit(1, "a", BUY, 5, 1000, "day"),
        NewOrder.market(1, "a", SELL, 5, max_notional=100),
        NewOrder(1, "a", BUY, 5, 1000, "market"),
        NewOrder(1, "a", BUY, 5, 1000, "stop"),
        NewOrder(1, "a", BUY, 5, 1000, max_notional=10),
    ],
)
def test_malformed_orders_are_refused_and_change_nothing(order):
    book = book_with(NewOrder.limit(7, "b", SELL, 5, 1000))
    with pytest.raises(EngineError):
        book.submit(order)
    assert book.open_orders() == [RestingOrder(7, "b", SELL, 1000, 5)]


def test_an_id_already_resting_is_refused():
    book = book_with(NewOrder.limit(1, "a", BUY, 5, 1000))
    with pytest.raises(EngineError):
        book.submit(NewOrder.limit(1, "a", BUY, 5, 999))
    assert book.depth() == Depth([(1000, 5)], [])
