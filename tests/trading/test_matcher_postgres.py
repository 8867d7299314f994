"""The matcher where commit behaviour matters, on PostgreSQL: a matcher process killed in
the middle of a batch and restarted; two matcher processes for one book; an order whose
transaction took a lower sequence but committed after a higher one; cancels racing a batch.

`run_matcher` runs as a real subprocess against the test database."""

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection, transaction

from trading import errors
from trading.matcher import InstrumentMatcher
from trading.matching import locks
from trading.matching.book import MatcherBook
from trading.matching.releases import order_holds_release_pending
from trading.matching.writes import BatchConflict
from trading.models import Instrument, MatcherState, Order, Trade
from trading.services.holds import (
    order_funding_account_id,
    order_held_asset,
    order_hold_place,
    order_reserve_amount,
)
from trading.services.orders import order_cancel
from trading.services.states import order_status_set

from .matcher_support import (
    committed,
    engine_replay,
    money_problems,
    order_stream,
    place,
    stream_place,
    trading_partners,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _separate_matcher(settings, matcher_alive):
    settings.TRADING_MATCH_INLINE = False


def eventually(probe, *, timeout=30.0, every=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(every)
    raise AssertionError(f"{probe.__name__} never held within {timeout}s")


def matcher_process(log: Path, *args: str) -> subprocess.Popen:
    """`manage.py run_matcher` on the test database."""
    db = connection.settings_dict
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    url = f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {**os.environ, "DATABASE_URL": url, "DEBUG": "false", "CONN_MAX_AGE": "0"}
    env.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-use")
    command = [sys.executable, "manage.py", "run_matcher", "--symbols", "ACME/USD", *args]
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT
    )


def in_transaction_holding_lock(instrument) -> int | None:
    """The backend of the matcher that holds the book's lock, while it sits inside an
    uncommitted batch (its writes done, waiting to commit)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.pid FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid"
            " WHERE l.locktype = 'advisory' AND l.classid::bigint = %s"
            " AND l.objid::bigint = %s AND a.state = 'idle in transaction'",
            [locks.LOCK_CLASS, instrument.pk],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def booked(instrument) -> int:
    return Order.objects.filter(instrument=instrument, booked=True).count()


def releases_done() -> bool:
    return not Order.objects.filter(release_pending=True).exists()


def test_a_matcher_killed_mid_batch_and_restarted_loses_and_duplicates_nothing(acme, tmp_path):
    stream = order_stream(400, seed=11)
    stream_place(stream, partners=trading_partners(), instrument=acme)
    first = matcher_process(tmp_path / "first.log", "--batch-size", "40", "--commit-delay", "0.3")
    try:
        eventually(lambda: booked(acme) >= 120)  # three batches committed or more
        eventually(lambda: in_transaction_holding_lock(acme))  # and one written, not committed
    finally:
        first.kill()
        first.wait(timeout=10)
    at_kill = booked(acme)
    assert 120 <= at_kill < 400
    assert at_kill % 40 == 0  # whole batches only: the open one left nothing behind

    second = matcher_process(tmp_path / "second.log", "--batch-size", "40")
    try:
        eventually(lambda: booked(acme) == 400, timeout=60)
        eventually(lambda: MatcherState.objects.get(instrument=acme).lag == 0)
        eventually(releases_done)
    finally:
        second.terminate()
        assert second.wait(timeout=20) == 0  # SIGTERM: the batch finishes, the process exits

    expected = engine_replay(stream, collar_high=acme.collar_high)
    got = committed(acme)
    assert got.trades == expected.trades  # none lost, none twice, the same prices
    assert (got.filled, got.status) == (expected.filled, expected.status)
    assert list(Trade.objects.values_list("sequence", flat=True).order_by("sequence")) == list(
        range(1, len(expected.trades) + 1)
    )
    assert money_problems(acme) == []


def test_two_matchers_for_one_instrument_never_both_match(acme, tmp_path):
    partners = trading_partners()
    first = matcher_process(tmp_path / "first.log")
    second = None
    try:
        eventually(lambda: locks.holder_pids(acme.pk))
        second = matcher_process(tmp_path / "second.log")
        time.sleep(2.5)  # the stand-by tries the lock every second
        assert len(locks.holder_pids(acme.pk)) == 1
        stream = order_stream(150, seed=3)
        stream_place(stream, partners=partners, instrument=acme, prefix="a")
        eventually(lambda: booked(acme) == 150)
        state = MatcherState.objects.get(instrument=acme)
        assert state.owner == f"{socket.gethostname()}:{first.pid}"

        first.terminate()
        assert first.wait(timeout=20) == 0
        more = order_stream(150, seed=4)
        stream_place(more, partners=partners, instrument=acme, prefix="b")
        eventually(lambda: booked(acme) == 300)  # the stand-by took over, from the rows
        eventually(releases_done)
        state.refresh_from_db()
        assert state.owner == f"{socket.gethostname()}:{second.pid}"
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(timeout=20)

    expected = engine_replay(stream + more, collar_high=acme.collar_high)
    got = committed(acme)
    assert got.trades == expected.trades
    assert (got.filled, got.status) == (expected.filled, expected.status)
    assert money_problems(acme) == []


# --- Out of sequence order ----------------------------------------------------------------


def late_order(instrument_id, partner, *, taken: threading.Event, release: threading.Event):
    """An accepted order whose sequence is taken (and committed) first and whose own
    transaction commits only when told: a lower sequence committing after higher ones."""
    try:
        instrument = Instrument.objects.select_related("base_asset").get(pk=instrument_id)
        with transaction.atomic():
            sequence = Instrument.objects.filter(pk=instrument_id).values_list(
                "last_sequence", flat=True
            )[0]
            Instrument.objects.filter(pk=instrument_id).update(last_sequence=sequence + 1)
        with transaction.atomic():
            order = Order(
                partner=partner,
                client_order_id="late",
                instrument=instrument,
                side="buy",
                price=1000,
                quantity=100,
                sequence=sequence + 1,
                hold_id=uuid.uuid4(),
            )
            order.reserved = order_reserve_amount(order=order)
            order.account_id = order_funding_account_id(
                partner=partner, asset=order_held_asset(order=order)
            )
            order_hold_place(order=order, account_id=order.account_id)
            order_status_set(order=order, status=Order.Status.ACCEPTED)
            order.save(force_insert=True)
            taken.set()
            release.wait(20)
    finally:
        taken.set()
        connection.close()


@pytest.fixture
def out_of_order(acme, partner, other_partner, fund):
    """A resting sell of 100 @ 10.00 (sequence 1); sequence 2, a buy of 100 @ 10.00, taken
    but its transaction still open; sequence 3, a sell of 100 @ 9.90, committed. (2 holds
    USD and 3 holds ACME: each hold locks its asset's clearing account until commit, so
    two holds of one asset could not commit out of order in the first place.)"""
    fund(partner, "USD", 10_000_000)
    fund(other_partner, "ACME", 1_000)
    third = trading_partners(1)[0]
    matcher = InstrumentMatcher(acme, gap_grace=0.3)
    assert matcher.lock_try()
    place(third, acme, "s", "sell", 100)
    assert matcher.step() == 1
    taken, release = threading.Event(), threading.Event()
    thread = threading.Thread(
        target=late_order, args=(acme.pk, partner), kwargs={"taken": taken, "release": release}
    )
    thread.start()
    taken.wait(20)
    place(other_partner, acme, "next", "sell", 100, price=990)
    yield matcher, release, thread
    release.set()
    thread.join(20)
    locks.session_unlock_all()


def test_a_lower_sequence_committing_late_is_still_matched(acme, out_of_order):
    matcher, release, thread = out_of_order
    assert matcher.step() == 0  # sequence 2 is missing: 3 waits for it a moment
    time.sleep(0.35)
    assert matcher.step() == 1  # then no longer: 3 rests below 1
    release.set()
    thread.join(20)
    assert matcher.step() == 1  # 2 commits late: taken all the same, buys the best ask
    order_holds_release_pending()  # 2 bought at 9.90 what it held 10.00 for

    rows = dict(Order.objects.values_list("sequence", "status"))
    assert rows == {1: "accepted", 2: "filled", 3: "filled"}
    assert not Order.objects.filter(booked=False).exists()
    assert committed(acme).trades == [(1, 2, 3, 990, 100)]
    assert money_problems(acme) == []


def test_a_lower_sequence_committing_within_the_grace_keeps_sequence_order(acme, out_of_order):
    matcher, release, thread = out_of_order
    assert matcher.step() == 0
    release.set()
    thread.join(20)
    assert matcher.step() == 2  # 2 then 3, as sequenced: 2 meets 1, 3 rests

    assert committed(acme).trades == [(1, 2, 1, 1000, 100)]
    rows = dict(Order.objects.values_list("sequence", "status"))
    assert rows == {1: "filled", 2: "filled", 3: "accepted"}
    assert money_problems(acme) == []


# --- Cancels racing a batch ---------------------------------------------------------------


def in_thread(work):
    outcome = {}

    def run():
        try:
            outcome["value"] = work()
        except Exception as exc:
            outcome["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def test_a_cancel_committing_before_the_batch_writes_is_never_filled(
    acme, partner, other_partner, fund, monkeypatch
):
    fund(partner, "USD", 10_000_000)
    fund(other_partner, "ACME", 1_000)
    matcher = InstrumentMatcher(acme, fenced=False)
    resting = place(other_partner, acme, "s", "sell", 100)
    matcher.step()
    place(partner, acme, "b", "buy", 100)
    take = MatcherBook.take

    def take_then_cancel(self, rows):
        outcome = take(self, rows)  # the book has filled the sell, in memory
        thread, result = in_thread(lambda: order_cancel(order=resting))
        thread.join(20)
        assert result["value"].status == "cancelled"
        return outcome

    monkeypatch.setattr(MatcherBook, "take", take_then_cancel)
    with pytest.raises(BatchConflict):
        matcher.step()
    monkeypatch.setattr(MatcherBook, "take", take)
    assert matcher.step() == 2  # rebuilt: the cancel's acknowledgement, the buy rests

    resting.refresh_from_db()
    assert (resting.status, resting.filled_quantity) == ("cancelled", 0)
    assert Order.objects.get(client_order_id="b").status == "accepted"
    assert not Trade.objects.exists()
    assert money_problems(acme) == []


def test_a_cancel_arriving_while_the_batch_writes_waits_and_finds_the_order_filled(
    acme, partner, other_partner, fund, monkeypatch
):
    fund(partner, "USD", 10_000_000)
    fund(other_partner, "ACME", 1_000)
    matcher = InstrumentMatcher(acme, fenced=False)
    resting = place(other_partner, acme, "s", "sell", 100)
    matcher.step()
    place(partner, acme, "b", "buy", 100)
    take = MatcherBook.take
    racing = {}

    def take_then_race(self, rows):
        outcome = take(self, rows)
        racing["thread"], racing["result"] = in_thread(lambda: order_cancel(order=resting))
        return outcome

    monkeypatch.setattr(MatcherBook, "take", take_then_race)
    from trading.matching import writes

    write = writes.outcome_write

    def write_then_wait(outcome, **kwargs):
        write(outcome, **kwargs)  # the sell's row is locked by this batch now
        time.sleep(0.5)
        assert racing["thread"].is_alive()  # the cancel waits for the row
        return None

    monkeypatch.setattr("trading.matcher.outcome_write", write_then_wait)
    assert matcher.step() == 1
    racing["thread"].join(20)

    assert isinstance(racing["result"].get("error"), errors.OrderNotCancellable)
    resting.refresh_from_db()
    assert (resting.status, resting.filled_quantity) == ("filled", 100)
    assert Trade.objects.count() == 1
    assert money_problems(acme) == []


def test_inline_matching_steps_aside_at_once_while_a_matcher_process_owns_the_book(
    acme, partner, other_partner, fund
):
    from trading.matcher import match_inline

    fund(partner, "USD", 10_000_000)
    fund(other_partner, "ACME", 1_000)
    held, release = threading.Event(), threading.Event()

    def matcher_process_holding_the_lock():
        try:
            assert locks.session_lock_try(acme.pk)
            held.set()
            release.wait(20)
            locks.session_unlock_all()
        finally:
            held.set()
            connection.close()

    thread = threading.Thread(target=matcher_process_holding_the_lock)
    thread.start()
    held.wait(20)
    MatcherState.objects.filter(instrument=acme).update(owner="matcher-host:4242")
    place(other_partner, acme, "s", "sell", 10)
    place(partner, acme, "b", "buy", 10)
    try:
        started = time.monotonic()
        assert match_inline(acme.pk) == 0
        assert time.monotonic() - started < 1.0  # no wait for a lock it would never get
        assert not Trade.objects.exists()
    finally:
        release.set()
        thread.join(20)
    assert match_inline(acme.pk) == 2  # the process is gone: inline matches again
    assert Trade.objects.count() == 1


def test_a_matcher_whose_lock_connection_was_replaced_stops_before_matching(
    acme, partner, other_partner, fund
):
    from trading.matcher import LockLost

    fund(partner, "USD", 10_000_000)
    fund(other_partner, "ACME", 1_000)
    matcher = InstrumentMatcher(acme)
    assert matcher.lock_try()
    place(other_partner, acme, "s", "sell", 10)
    place(partner, acme, "b", "buy", 10)
    connection.close()  # the lock went with it; Django opens a new connection on demand

    with pytest.raises(LockLost):
        matcher.step()

    assert not Trade.objects.exists()
    assert not Order.objects.filter(booked=True).exists()
    assert matcher.lock_try()  # on the new connection: it may go on, from the rows
    assert matcher.step() == 2
    assert Trade.objects.count() == 1
    locks.session_unlock_all()
