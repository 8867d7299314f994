"""The matcher's statements around its book: reading its queue and its open orders, and
its heartbeat.

The queue read and the heartbeat run hundreds of times a second under a busy matcher, so
each is one plain statement (the same text every time: PostgreSQL prepares it), not a
queryset compiled anew. On PostgreSQL the rows carry their UUIDs as text: the matcher
only passes them on (to its engine as owners, to its writes as array literals), and a
UUID object is one more object for the garbage collector to walk per id, three per order
in a book that lives as long as the process (its full collections were a tenth of a run).
"""

from django.db import connection

from trading.matching.book import OPEN_STATUSES, ORDER_COLUMNS
from trading.models import Instrument, MatcherState, Order

_UUID_COLUMNS = frozenset(("id", "partner_id", "hold_id"))
_COLUMNS_SQL = ", ".join(
    f"{column}::text" if column in _UUID_COLUMNS else column for column in ORDER_COLUMNS
)
_QUEUE_SQL = (
    f"SELECT {_COLUMNS_SQL} FROM {Order._meta.db_table}"
    " WHERE instrument_id = %s AND booked = false AND sequence IS NOT NULL"
    " ORDER BY sequence LIMIT %s"  # the partial index order_matcher_queue, in order
)
_BOOK_SQL = (
    f"SELECT {_COLUMNS_SQL} FROM {Order._meta.db_table}"
    " WHERE instrument_id = %s AND booked = true AND status = ANY(%s) ORDER BY sequence"
)


def queue_read(instrument_id: int, *, limit: int) -> list[tuple]:
    """Up to `limit` orders the matcher has not taken in, in sequence order (ORDER_COLUMNS)."""
    if connection.vendor != "postgresql":  # SQLite keeps UUIDs as text: the ORM converts
        return list(
            Order.objects.filter(instrument_id=instrument_id, booked=False, sequence__isnull=False)
            .order_by("sequence")
            .values_list(*ORDER_COLUMNS)[:limit]
        )
    with connection.cursor() as cursor:
        cursor.execute(_QUEUE_SQL, [instrument_id, limit])
        return cursor.fetchall()


def book_rows(instrument_id: int) -> list[tuple]:
    """The open orders the matcher took in, in sequence order (their time priority)."""
    if connection.vendor != "postgresql":
        return list(
            Order.objects.filter(instrument_id=instrument_id, booked=True, status__in=OPEN_STATUSES)
            .order_by("sequence")
            .values_list(*ORDER_COLUMNS)
        )
    with connection.cursor() as cursor:
        cursor.execute(_BOOK_SQL, [instrument_id, list(OPEN_STATUSES)])
        return cursor.fetchall()


# The lag is the depth order entry's backpressure reads (the instrument's last sequence
# given out less the last one taken in): one row, however deep the queue, where counting
# the queue cost a tenth of a busy matcher's time.
_BEAT_SQL = (
    f"UPDATE {MatcherState._meta.db_table} SET last_sequence = %s, last_trade_sequence = %s,"
    " heartbeat_at = %s, owner = %s, updated_at = %s,"
    " lag = (SELECT CASE WHEN i.last_sequence > %s THEN i.last_sequence - %s ELSE 0 END"
    f" FROM {Instrument._meta.db_table} AS i WHERE i.id = %s)"
    " WHERE instrument_id = %s RETURNING lag"
)


def state_beat(
    instrument_id: int, *, last_sequence: int, last_trade_sequence: int, owner: str, now
) -> int:
    """Write the matcher's heartbeat and counters into MatcherState; returns the lag."""
    at = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(
            _BEAT_SQL,
            [
                last_sequence,
                last_trade_sequence,
                at,
                owner,
                at,
                last_sequence,
                last_sequence,
                instrument_id,
                instrument_id,
            ],
        )
        row = cursor.fetchone()
    return row[0] if row else 0
