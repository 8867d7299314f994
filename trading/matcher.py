"""The durable matcher: one per instrument, from accepted orders to committed trades.

Each batch is one transaction: read the matcher's queue (orders with a sequence number
that it has not taken in: `booked=False`, in sequence order, up to `batch_size`), feed the
engine, and write the trades, the order rows (fills, status through order_status_set,
booked=True, release_pending for orders that ended holding more than their fills
consumed) and MatcherState (heartbeat, lag, counters). The holds of those orders shrink
right after, in their own transactions (trading.matching.releases says why). A crash
loses the open batch only; the next matcher rebuilds its book from the open booked orders
(Book.restore, in sequence order), continuing the trade counter, and takes the same queue
again. docs/architecture.md,
"Durable matcher", says why each piece is as it is.

Ordering: order entry assigns sequences as the last statement of its transaction, so they
commit in order. The queue is "not booked", not "after the last sequence", so an order
whose transaction committed late with a lower sequence is still taken; and when the next
sequence is missing (in flight), the matcher waits up to `gap_grace` for it first.

Cancels: order_cancel locks the order row, ends it and releases its hold itself, and calls
order_cancel_booked, which puts it back in the queue (booked=False). The next batch takes
it off the book before matching anything; a batch that meets the row changed under it
rolls back and rebuilds (trading.matching.writes).
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time

import structlog
from django.db import DatabaseError, connection, transaction
from django.db.models import Max
from django.utils import timezone

from trading.matching import locks
from trading.matching.book import MatcherBook
from trading.matching.queue import book_rows, queue_read, state_beat
from trading.matching.releases import order_holds_release_pending
from trading.matching.writes import BatchConflict, outcome_write
from trading.models import Instrument, MatcherState, Order, Trade

logger = structlog.get_logger(__name__)

BATCH_SIZE = 500
GAP_GRACE_SECONDS = 1.0  # how long a missing sequence may hold up the ones after it
IDLE_BEAT_SECONDS = 1.0  # an idle matcher still beats this often (backpressure reads it)


class LockLost(Exception):
    """The connection that held the instrument's lock is gone: stop matching it."""


def order_cancel_booked(*, order: Order) -> None:
    """For order_cancel and expiry, inside their transaction, with the order row locked
    (select_for_update) and its status already cancelled or expired: hand the order back
    to the matcher's queue (booked=False), so its next batch takes it off the book before
    it matches anything. Works for an order the matcher never took in too."""
    Order.objects.filter(pk=order.pk).update(booked=False)
    order.booked = False


def matcher_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class InstrumentMatcher:
    """The book of one instrument and the batches that move it. `fenced`: check each
    batch runs on the connection holding the instrument's session lock (run_matcher); the
    inline matcher holds a transaction lock instead."""

    def __init__(
        self,
        instrument: Instrument,
        *,
        batch_size: int = BATCH_SIZE,
        gap_grace: float = GAP_GRACE_SECONDS,
        fenced: bool = True,
        owner: str | None = None,
        commit_delay: float = 0.0,
    ):
        self.instrument = instrument
        self.batch_size = batch_size
        self.gap_grace = gap_grace
        self.fenced = fenced
        self.owner = owner or matcher_owner()
        self.commit_delay = commit_delay  # fault injection for tests: a batch kept open
        self.kept: MatcherBook | None = None
        self.lock_session: object | None = None
        self.last_sequence = 0
        self._gap: tuple[int, float] | None = None  # (missing sequence, first seen)
        self._beat_at = 0.0
        self._lag = 0

    # --- Ownership and recovery -----------------------------------------------------------

    def lock_try(self) -> bool:
        if not locks.session_lock_try(self.instrument.pk):
            return False
        self.lock_session = locks.session()
        self.kept = None
        return True

    def _fence(self) -> None:
        if self.fenced and locks.session() is not self.lock_session:
            raise LockLost(f"{self.instrument.symbol}: the lock's connection is gone")

    def load(self) -> None:
        """Rebuild the book from the open booked orders, in sequence order."""
        instrument = self.instrument
        with transaction.atomic():
            self._fence()
            state, _ = MatcherState.objects.get_or_create(instrument=instrument)
            last_trade = Trade.objects.filter(instrument=instrument).aggregate(
                last=Max("sequence")
            )["last"]
            self.kept = MatcherBook.restore(
                book_rows(instrument.pk),
                last_trade_sequence=max(state.last_trade_sequence, last_trade or 0),
                tick_size=instrument.tick_size,
                lot_size=instrument.lot_size,
                base_scale=instrument.base_asset.scale,
            )
            self.last_sequence = state.last_sequence
        logger.info(
            "matcher_book_restored",
            symbol=instrument.symbol,
            resting=len(self.kept.book),
            last_sequence=self.last_sequence,
        )

    # --- One batch ------------------------------------------------------------------------

    def step(self) -> int:
        """One batch (loading the book first if needed); how many queue entries it took.
        On any failure the book is dropped, to be rebuilt from what committed."""
        if self.kept is None:
            self.load()
        try:
            return self._batch()
        except BaseException:
            self.kept = None
            raise

    def _batch(self) -> int:
        instrument_id = self.instrument.pk
        with transaction.atomic():
            self._fence()
            rows = self._in_sequence(queue_read(instrument_id, limit=self.batch_size))
            now = timezone.now()
            if not rows:
                self._beat(now, taken=0)
                return 0
            outcome = self.kept.take(rows)
            outcome_write(outcome, instrument_id=instrument_id, now=now)
            self.last_sequence = max(self.last_sequence, outcome.last_sequence)
            self._beat(now, taken=outcome.taken)
            if self.commit_delay:
                time.sleep(self.commit_delay)
        for order in outcome.orders.values():
            order.mark_written()
        return outcome.taken

    def _in_sequence(self, rows: list[tuple]) -> list[tuple]:
        """The rows to take now: anything at or below the last sequence taken (cancels,
        late commits) and the unbroken run after it. A missing next sequence holds up the
        rest for `gap_grace` (its transaction may be committing), then no longer."""
        expected = self.last_sequence + 1
        for index, row in enumerate(rows):
            sequence = row[1]
            if sequence < expected:
                continue
            if sequence == expected:
                expected += 1
                continue
            now = time.monotonic()
            if self._gap is None or self._gap[0] != expected:
                self._gap = (expected, now)
            if now - self._gap[1] < self.gap_grace:
                return rows[:index]
            logger.warning("matcher_sequence_gap_passed", missing=expected, seen=sequence)
            break
        self._gap = None
        return rows

    def _beat(self, now, *, taken: int) -> None:
        """Heartbeat, lag and counters into MatcherState: each batch, and once a second
        when idle (every loop while it lags)."""
        clock = time.monotonic()
        if not taken and not self._lag and clock - self._beat_at < IDLE_BEAT_SECONDS:
            return
        self._lag = state_beat(
            self.instrument.pk,
            last_sequence=self.last_sequence,
            last_trade_sequence=self.kept.book.last_trade_seq,
            owner=self.owner,
            now=now,
        )
        self._beat_at = clock


# --- The matcher process (run_matcher) ----------------------------------------------------


def matchers_run(
    *,
    symbols: list[str] | None = None,
    stop: threading.Event,
    batch_size: int = BATCH_SIZE,
    idle_seconds: float = 0.05,
    gap_grace: float = GAP_GRACE_SECONDS,
    commit_delay: float = 0.0,
) -> None:
    """Run the matchers of `symbols` (all instruments when None) round-robin on this
    thread's one connection until `stop` is set: a batch of each in turn. An instrument
    whose lock another process holds is retried each second (stand-by)."""
    matchers: list[InstrumentMatcher] = []

    def instruments_refresh() -> None:  # instruments listed since start join in
        instruments = Instrument.objects.select_related("base_asset").order_by("symbol")
        if symbols:
            instruments = instruments.filter(symbol__in=symbols)
        known = {matcher.instrument.pk for matcher in matchers}
        matchers.extend(
            InstrumentMatcher(
                instrument, batch_size=batch_size, gap_grace=gap_grace, commit_delay=commit_delay
            )
            for instrument in instruments.exclude(pk__in=known)
        )

    owned: set[int] = set()
    tried_at = 0.0
    releaser = threading.Thread(
        target=releases_run, kwargs={"stop": stop, "idle_seconds": idle_seconds}, daemon=True
    )
    releaser.start()
    try:
        while not stop.is_set():
            if time.monotonic() - tried_at >= 1.0:
                tried_at = time.monotonic()
                try:
                    instruments_refresh()
                    for matcher in matchers:
                        if matcher.instrument.pk not in owned and matcher.lock_try():
                            owned.add(matcher.instrument.pk)
                            logger.info("matcher_lock_taken", symbol=matcher.instrument.symbol)
                except DatabaseError:
                    logger.exception("matcher_database_unavailable")
                    owned.clear()
                    connection.close()
            busy = False
            for matcher in matchers:
                if matcher.instrument.pk not in owned or stop.is_set():
                    continue
                try:
                    busy |= matcher.step() > 0
                except BatchConflict as exc:
                    logger.info(
                        "matcher_batch_conflict", symbol=matcher.instrument.symbol, detail=str(exc)
                    )
                    busy = True
                except (LockLost, DatabaseError):
                    logger.exception("matcher_connection_lost")
                    owned.clear()  # every session lock went with the connection
                    connection.close()
                    stop.wait(1.0)
                    break
                except Exception:  # e.g. a ledger refusal: this book stops, the others go on
                    logger.exception("matcher_batch_failed", symbol=matcher.instrument.symbol)
                    stop.wait(1.0)
            if not busy:
                stop.wait(idle_seconds)
    finally:
        with contextlib.suppress(DatabaseError):  # a lost connection took its locks along
            locks.session_unlock_all()
        connection.close()
        stop.set()
        releaser.join(timeout=30)


def releases_run(*, stop: threading.Event, idle_seconds: float = 0.05) -> None:
    """The deferred hold releases of ended orders (trading.matching.releases), on a thread
    and connection of their own, until `stop` is set."""
    try:
        while not stop.is_set():
            try:
                if not order_holds_release_pending():
                    stop.wait(idle_seconds)
            except DatabaseError:
                logger.exception("matcher_releases_database_error")
                connection.close()
                stop.wait(1.0)
            except Exception:
                logger.exception("matcher_releases_failed")
                stop.wait(1.0)
    finally:
        connection.close()


# --- The embedded default (order_place, after commit) -------------------------------------


INLINE_OWNER_PREFIX = "inline:"  # MatcherState.owner of a batch run in a request


def _inline_owned(instrument_id: int) -> bool:
    """Was the book last matched inline (so the lock now is another request's batch)?"""
    owner = MatcherState.objects.filter(pk=instrument_id).values_list("owner", flat=True)
    return not owner or owner[0].startswith(INLINE_OWNER_PREFIX) or not owner[0]


# The inline books of this process, by instrument, with the MatcherState they left behind:
# reused while that state is unchanged (no other process matched the book since), so a
# request costs its batch, not a rebuild of the whole book. Taken out under the
# instrument's lock, put back only when the batch commits.
_inline_books: dict[int, tuple[InstrumentMatcher, tuple]] = {}


def _state_stamp(instrument_id: int) -> tuple:
    return tuple(
        MatcherState.objects.filter(pk=instrument_id).values_list(
            "heartbeat_at", "last_sequence", "last_trade_sequence", "owner"
        )[:1]
    )


def match_inline(instrument_id: int, *, batch_size: int = BATCH_SIZE) -> int:
    """Match what is queued for the instrument now, in this process (one batch), then
    release what the orders it ended no longer need. The book is this process's own from
    its last inline batch if nobody matched since, else rebuilt from the rows: either way
    the same book, whichever web process answers. With a matcher process holding the
    instrument, it steps aside and returns 0."""
    instrument = Instrument.objects.select_related("base_asset").get(pk=instrument_id)
    others = set(locks.holder_pids(instrument_id)) - {locks.backend_pid()}
    if others and not _inline_owned(instrument_id):
        return 0  # a run_matcher process owns the book: it matches this order
    taken = 0
    for _ in range(3):  # a cancel committing under the batch: rebuild and go again
        try:
            with transaction.atomic():
                if not locks.transaction_lock_wait(instrument_id):
                    return 0
                cached = _inline_books.pop(instrument_id, None)
                if cached is not None and cached[1] == _state_stamp(instrument_id):
                    matcher = cached[0]
                else:
                    matcher = InstrumentMatcher(
                        instrument,
                        batch_size=batch_size,
                        gap_grace=0.0,
                        fenced=False,
                        owner=f"{INLINE_OWNER_PREFIX}{matcher_owner()}",
                    )
                taken = matcher.step()
                stamp = _state_stamp(instrument_id)
                transaction.on_commit(
                    lambda kept=(matcher, stamp): _inline_books.__setitem__(instrument_id, kept)
                )
            break
        except BatchConflict:
            continue
    order_holds_release_pending(instrument_id=instrument_id)
    return taken
