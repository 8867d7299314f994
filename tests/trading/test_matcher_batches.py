"""The durable matcher's batches, in process (SQLite and PostgreSQL): what it commits is
what the engine does in memory, across batches and rebuilds; cancels come off the book;
a row changed under a batch rolls it back."""

import pytest

from trading.matcher import InstrumentMatcher, match_inline
from trading.matching.releases import order_holds_release_pending
from trading.matching.writes import BatchConflict
from trading.models import MatcherState, Order, Trade
from trading.services.orders import order_cancel

from .matcher_support import (
    committed,
    engine_replay,
    money_problems,
    order_stream,
    place,
    stream_place,
    trading_partners,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _separate_matcher(settings, matcher_alive):
    settings.TRADING_MATCH_INLINE = False  # orders stay accepted until a batch takes them


def drain(matcher: InstrumentMatcher, *, rebuild_every: int | None = None) -> int:
    batches = 0
    while matcher.step():
        batches += 1
        if rebuild_every and batches % rebuild_every == 0:
            matcher.kept = None  # as a restart would: the next step restores from the rows
    return batches


def test_the_matcher_commits_what_the_engine_does_in_memory_across_batches_and_rebuilds(acme):
    partners = trading_partners()
    stream = order_stream(300, seed=7)
    stream_place(stream, partners=partners, instrument=acme)
    matcher = InstrumentMatcher(acme, batch_size=23, fenced=False)

    batches = drain(matcher, rebuild_every=3)
    order_holds_release_pending()

    expected = engine_replay(stream, collar_high=acme.collar_high)
    assert batches == 14  # 300 orders, 23 a batch
    assert len(expected.trades) > 50  # the stream does cross
    got = committed(acme)
    assert got.trades == expected.trades
    assert got.filled == expected.filled
    assert got.status == expected.status
    assert not Order.objects.filter(instrument=acme, booked=False).exists()
    assert money_problems(acme) == []
    state = MatcherState.objects.get(instrument=acme)
    assert (state.last_sequence, state.last_trade_sequence) == (300, len(expected.trades))
    assert state.lag == 0 and state.heartbeat_at is not None


def test_a_batch_fills_shrinks_and_counts_in_one_go(acme, partner, other_partner, fund):
    fund(partner, "USD", 1_000_000)
    fund(other_partner, "ACME", 1_000)
    sell_high = place(other_partner, acme, "s1", "sell", 60, 1010)
    sell_low = place(other_partner, acme, "s2", "sell", 50, 1000)
    buy = place(partner, acme, "b1", "buy", 80, 1010)  # takes 50 @ 10.00, 30 @ 10.10

    assert InstrumentMatcher(acme, fenced=False).step() == 3

    buy.refresh_from_db(), sell_low.refresh_from_db(), sell_high.refresh_from_db()
    assert (buy.status, buy.filled_quantity, buy.filled_notional) == ("filled", 80, 80_300)
    assert (sell_low.status, sell_high.status) == ("filled", "partially_filled")
    trades = list(Trade.objects.order_by("sequence").values_list("sequence", "price", "quantity"))
    assert trades == [(1, 1000, 50), (2, 1010, 30)]
    assert buy.release_pending  # it held 80_800: 500 to release, after the batch
    assert len(money_problems(acme)) == 1

    assert order_holds_release_pending() == 1

    buy.refresh_from_db()
    assert not buy.release_pending
    assert money_problems(acme) == []  # it holds 80_300, what its fills cost


def test_a_cancelled_resting_order_comes_off_the_book_before_the_next_batch(
    acme, partner, other_partner, fund
):
    fund(partner, "USD", 1_000_000)
    fund(other_partner, "ACME", 1_000)
    matcher = InstrumentMatcher(acme, fenced=False)
    resting = place(other_partner, acme, "s1", "sell", 100, 1000)
    matcher.step()
    order_cancel(order=resting)
    buy = place(partner, acme, "b1", "buy", 100, 1000)

    assert matcher.step() == 2  # the cancel's acknowledgement and the buy

    resting.refresh_from_db(), buy.refresh_from_db()
    assert (resting.status, resting.filled_quantity, resting.booked) == ("cancelled", 0, True)
    assert (buy.status, buy.booked) == ("accepted", True)  # resting now, nothing to meet
    assert not Trade.objects.exists()
    assert money_problems(acme) == []


def test_an_order_changed_under_the_book_rolls_the_batch_back_and_is_never_filled(
    acme, partner, other_partner, fund
):
    fund(partner, "USD", 1_000_000)
    fund(other_partner, "ACME", 1_000)
    matcher = InstrumentMatcher(acme, fenced=False)
    resting = place(other_partner, acme, "s1", "sell", 100, 1000)
    matcher.step()
    # Ended behind the matcher's back without going through its queue (as if a cancel had
    # committed between the batch's read and its write): the book still has it.
    Order.objects.filter(pk=resting.pk).update(status="cancelled")
    place(partner, acme, "b1", "buy", 100, 1000)

    with pytest.raises(BatchConflict):
        matcher.step()
    assert not Trade.objects.exists()  # all of the batch rolled back
    assert matcher.step() == 1  # rebuilt from the rows: the cancelled order is not on it

    resting.refresh_from_db()
    assert (resting.status, resting.filled_quantity) == ("cancelled", 0)
    assert Order.objects.get(client_order_id="b1").status == "accepted"
    assert not Trade.objects.exists()


def test_ioc_fok_and_market_remainders_end_and_release_what_they_did_not_use(
    acme, partner, other_partner, fund
):
    fund(partner, "USD", 100_000_000)
    fund(other_partner, "ACME", 1_000)
    place(other_partner, acme, "s1", "sell", 30, 1000)
    ioc = place(partner, acme, "b1", "buy", 50, 1000, time_in_force="ioc")
    fok = place(partner, acme, "b2", "buy", 50, 1000, time_in_force="fok")
    market = place(partner, acme, "b3", "buy", 10, None, type="market", time_in_force="ioc")

    match_inline(acme.pk)

    ioc.refresh_from_db(), fok.refresh_from_db(), market.refresh_from_db()
    assert (ioc.status, ioc.filled_quantity, ioc.cancel_reason) == (
        "cancelled",
        30,
        "unfilled_remainder",
    )
    assert (fok.status, fok.filled_quantity, fok.cancel_reason) == (
        "cancelled",
        0,
        "fok_unfillable",
    )
    assert (market.status, market.filled_quantity) == ("cancelled", 0)
    assert money_problems(acme) == []  # each holds exactly what it bought: 30_000, 0, 0


def test_self_trade_cancels_the_incoming_remainder_and_leaves_the_resting_order(
    acme, partner, fund
):
    fund(partner, "USD", 1_000_000)
    fund(partner, "ACME", 1_000)
    resting = place(partner, acme, "s1", "sell", 10, 1000)
    incoming = place(partner, acme, "b1", "buy", 10, 1000)

    match_inline(acme.pk)

    resting.refresh_from_db(), incoming.refresh_from_db()
    assert (incoming.status, incoming.cancel_reason) == ("cancelled", "self_trade")
    assert (resting.status, resting.booked) == ("accepted", True)
    assert money_problems(acme) == []


def test_the_scheduled_sweep_releases_what_an_ended_order_still_holds(
    acme, partner, other_partner, fund
):
    from trading.tasks import trading_holds_release

    fund(partner, "USD", 1_000_000)
    fund(other_partner, "ACME", 1_000)
    place(other_partner, acme, "s1", "sell", 10, 990)
    buy = place(partner, acme, "b1", "buy", 10, 1000)
    InstrumentMatcher(acme, fenced=False).step()  # as if the process died before releasing
    assert Order.objects.get(pk=buy.pk).release_pending

    assert trading_holds_release.delay().get() == 1

    assert not Order.objects.get(pk=buy.pk).release_pending
    assert money_problems(acme) == []  # 9_900 held for what it bought at 9.90, 100 released


def test_an_order_whose_hold_staff_released_comes_off_the_book_too(
    acme, partner, fund, django_capture_on_commit_callbacks
):
    from ledger.services import pending_transfer_void

    fund(partner, "USD", 1_000_000)
    fund(partner, "ACME", 1_000)
    matcher = InstrumentMatcher(acme, fenced=False)
    resting = place(partner, acme, "s1", "sell", 10, 1000)
    matcher.step()
    with django_capture_on_commit_callbacks(execute=True):
        pending_transfer_void(pending_id=resting.hold_id, origin="staff")
    buy = place(partner, acme, "b1", "buy", 10, 1000)  # the same partner

    assert matcher.step() == 2

    resting.refresh_from_db(), buy.refresh_from_db()
    assert (resting.status, resting.cancel_reason, resting.booked) == (
        "cancelled",
        "hold_released",
        True,
    )
    assert (buy.status, buy.cancel_reason) == ("accepted", "")  # no self-trade with a ghost


@pytest.fixture
def loads(monkeypatch):
    """How many times a book was rebuilt from the rows."""
    from trading import matcher as matcher_module

    monkeypatch.setattr(matcher_module, "_inline_books", {})
    counted = []
    load = InstrumentMatcher.load

    def counting_load(self):
        counted.append(self.instrument.pk)
        return load(self)

    monkeypatch.setattr(InstrumentMatcher, "load", counting_load)
    return counted


def test_inline_batches_reuse_their_book_until_someone_else_matches_it(
    acme, partner, other_partner, fund, loads, django_capture_on_commit_callbacks
):
    fund(partner, "USD", 10_000_000)
    fund(other_partner, "ACME", 1_000)

    def inline():
        with django_capture_on_commit_callbacks(execute=True):
            return match_inline(acme.pk)

    place(other_partner, acme, "s1", "sell", 10, 1000)
    assert inline() == 1 and loads == [acme.pk]
    place(other_partner, acme, "s2", "sell", 10, 1010)
    assert inline() == 1 and loads == [acme.pk]  # the same book, kept
    InstrumentMatcher(acme, fenced=False).step()  # another process's batch (nothing queued)
    place(partner, acme, "b1", "buy", 15, 1010)
    InstrumentMatcher(acme, fenced=False).step()  # ... this one matched: the state moved
    assert len(loads) == 3
    place(partner, acme, "b2", "buy", 5, 1010)
    assert inline() == 1
    assert len(loads) == 4  # rebuilt from the rows, not the stale book

    assert committed_trades(acme) == [(1, 1000, 10), (2, 1010, 5), (3, 1010, 5)]


def test_an_inline_batch_rolled_back_with_its_request_leaves_no_book_behind(
    acme, partner, other_partner, fund, loads, django_capture_on_commit_callbacks
):
    from django.db import transaction

    fund(partner, "USD", 10_000_000)
    fund(other_partner, "ACME", 1_000)
    place(other_partner, acme, "s1", "sell", 10, 1000)
    place(partner, acme, "b1", "buy", 10, 1000)
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        assert match_inline(acme.pk) == 2
        raise RuntimeError("the request failed after matching")
    assert not Trade.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        assert match_inline(acme.pk) == 2  # on a book rebuilt from the rows
    assert len(loads) == 2
    assert committed_trades(acme) == [(1, 1000, 10)]


def committed_trades(instrument):
    return list(
        Trade.objects.filter(instrument=instrument)
        .order_by("sequence")
        .values_list("sequence", "price", "quantity")
    )


def test_the_lag_is_the_depth_left_behind_each_batch(acme, partner, other_partner, fund):
    fund(partner, "USD", 1_000_000)
    for n in range(5):
        place(partner, acme, f"b{n}", "buy", 1, 900 + n)  # none crosses: all rest
    matcher = InstrumentMatcher(acme, batch_size=2, fenced=False)

    lags = []
    while matcher.step():
        lags.append(MatcherState.objects.get(instrument=acme).lag)

    assert lags == [3, 1, 0]  # what backpressure reads: sequences given out, not taken in
