"""Settlement windows: which batch is open, opening the next, closing one.

Every trade is stamped with the open batch in the transaction that writes it
(`batch_for_new_trades`, registered with trading.trade_batches). On PostgreSQL it first takes
a SHARED transaction-scoped advisory lock, held until that transaction commits; closing
takes the same lock EXCLUSIVE. So a close waits for every in-flight trade stamped with the
batch, and a trade that asks while a close waits or runs queues behind it (PostgreSQL's lock
queue is fair: a steady stream of trades cannot starve the close, as row share locks would),
then reads the batch the close opened in its own transaction. A trade lands in exactly one
batch, and a closed batch's trades are all committed before clearing reads them (Mojaloop's
window closed with transfers in flight is the fault this avoids).
"""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from settlement.errors import BatchStateConflict
from settlement.models import SettlementBatch, StepRun
from settlement.states import batch_state_set
from trading.services.settlement import trades_to_settle_exist, trades_unbatched_adopt

S = SettlementBatch.State


def business_zone() -> ZoneInfo:
    return ZoneInfo(settings.BUSINESS_TIME_ZONE)


def business_date_of(moment: datetime) -> date:
    return moment.astimezone(business_zone()).date()


def cutoff_of(day: date) -> datetime:
    """The scheduled close of `day`'s batches (SETTLEMENT_CUTOFF, business time)."""
    hour, minute = (int(part) for part in settings.SETTLEMENT_CUTOFF.split(":"))
    return datetime.combine(day, time(hour, minute), tzinfo=business_zone())


def next_window(now: datetime) -> tuple[date, datetime]:
    """The business date and cutoff a batch opened at `now` belongs to: today's until its
    cutoff, the next day's after it."""
    day = business_date_of(now)
    if now >= cutoff_of(day):
        day += timedelta(days=1)
    return day, cutoff_of(day)


def batch_open_current() -> SettlementBatch | None:
    return SettlementBatch.objects.filter(state=S.OPEN).first()


def batch_open_ensure(*, now=None) -> SettlementBatch:
    """The open batch, opened now if there is none (a concurrent opener's wins)."""
    found = batch_open_current()
    if found is not None:
        return found
    now = now or timezone.now()
    day, cutoff = next_window(now)
    try:
        with transaction.atomic():
            return _batch_open(day=day, cutoff=cutoff, now=now)
    except IntegrityError:  # another process opened it first (one open batch: the DB says)
        return SettlementBatch.objects.get(state=S.OPEN)


def _batch_open(*, day: date, cutoff: datetime, now: datetime) -> SettlementBatch:
    last = SettlementBatch.objects.filter(business_date=day).order_by("-cycle").first()
    return SettlementBatch.objects.create(
        business_date=day,
        cycle=(last.cycle + 1) if last else 1,
        cutoff=cutoff,
        opened_at=now,
    )


WINDOW_LOCK = (0x53544C4D, 1)  # "STLM", 1: the advisory lock between trades and closes


def _window_lock(*, shared: bool) -> None:
    if connection.vendor != "postgresql":  # one writer at a time: nothing to take
        return
    function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s, %s)", list(WINDOW_LOCK))


def batch_for_new_trades():
    """The open batch's id; the window lock is held (shared) until the caller's transaction
    ends. The lock comes first, the read after it: the read's snapshot then sees any close
    that committed while we waited."""
    _window_lock(shared=True)
    open_id = _open_batch_id()
    return open_id if open_id is not None else batch_open_ensure().pk


_OPEN_BATCH_ID_SQL = (
    f"SELECT id FROM {SettlementBatch._meta.db_table} WHERE state = %s LIMIT 1"  # at most one
)


def _open_batch_id():
    """The open batch's id alone. Every matcher batch with trades asks: on PostgreSQL one
    plain statement, where the queryset compiled and the model built cost a matcher batch
    more than a tenth of its Python time."""
    if connection.vendor != "postgresql":  # SQLite keeps UUIDs as text: the ORM converts
        return SettlementBatch.objects.filter(state=S.OPEN).values_list("pk", flat=True).first()
    with connection.cursor() as cursor:
        cursor.execute(_OPEN_BATCH_ID_SQL, [S.OPEN])
        row = cursor.fetchone()
    return row[0] if row else None


def batch_close(
    *,
    batch: SettlementBatch | None = None,
    via: str,
    acting_user=None,
    now=None,
    reason="",
    unless_empty: bool = False,
) -> SettlementBatch:
    """Close `batch` (default: the open one) and open the next, in one transaction. Closing
    a batch that is closed already returns it unchanged (safe to run twice). Trades that
    carry no batch (written before settlement existed) are taken into the closing one.
    `unless_empty`: a batch with no trade to settle whose cutoff has not passed is left open
    and returned as it is (past its cutoff it closes anyway: its window is over)."""
    with transaction.atomic():
        _window_lock(shared=False)  # waits for every trade transaction stamped before us
        target = batch or batch_open_ensure(now=now)
        target = SettlementBatch.objects.select_for_update().get(pk=target.pk)
        if target.state != S.OPEN:
            return target
        now = now or timezone.now()
        # Read under the exclusive window lock: no trade stamped with the batch is in flight.
        if unless_empty and now < target.cutoff and not trades_to_settle_exist(batch_id=target.pk):
            return target
        adopted = trades_unbatched_adopt(batch_id=target.pk)
        batch_state_set(
            target,
            to=S.CLOSED,
            via=via,
            acting_user=acting_user,
            now=now,
            reason=reason,
            details={"adopted_unbatched_trades": adopted} if adopted else None,
        )
        StepRun.objects.create(
            batch=target,
            step=StepRun.Step.CLOSE,
            outcome=StepRun.Outcome.DONE,
            attempts=1,
            started_at=now,
            finished_at=now,
        )
        day, cutoff = next_window(now)
        _batch_open(day=day, cutoff=cutoff, now=now)
        return target


def batches_due_for_close(*, now=None) -> list[SettlementBatch]:
    now = now or timezone.now()
    return list(SettlementBatch.objects.filter(state=S.OPEN, cutoff__lte=now))


def batch_close_due(*, via: str, now=None) -> SettlementBatch | None:
    """The scheduled close: the open batch, once its cutoff has passed; else nothing."""
    due = batches_due_for_close(now=now)
    if not due:
        return None
    return batch_close(batch=due[0], via=via, now=now)


def batch_for_date_close(*, day: date, via: str, acting_user=None) -> SettlementBatch | None:
    """Close the open batch if it belongs to `day` or earlier (staff settling early) and
    has trades to settle; None if nothing was closed. Settling a date again with nothing new
    leaves the open batch as it is: closing it would settle an empty cycle and open the next."""
    current = batch_open_current()
    if current is None or current.business_date > day:
        return None
    try:
        closed = batch_close(batch=current, via=via, acting_user=acting_user, unless_empty=True)
    except BatchStateConflict:
        return None
    return None if closed.state == S.OPEN else closed
