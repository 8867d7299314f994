"""An accepted order's sequence number and its row, written together as the last statement
of order entry's transaction.

The sequence is the instrument's `last_sequence` + 1, taken by an UPDATE of the instrument
row: the row stays locked until commit, so orders of one instrument commit in sequence
order (the matcher still takes one that commits late: trading.matcher), and a rollback
(an order that cannot be funded) gives its number back, so sequences have no gaps for the
matcher to wait out. The row is every order's of that instrument, so it is locked as
briefly as possible: on PostgreSQL the UPDATE and the order's INSERT are one statement (a
data-modifying WITH), one round trip before COMMIT; elsewhere two statements.
"""

from functools import cache

from django.db import connection

from core.prebuilt_sql import insert_values
from trading.models import Instrument, Order


def order_insert_sequenced(*, order: Order) -> int:
    """Give `order` its instrument's next sequence and insert it; returns the sequence."""
    if connection.vendor != "postgresql":
        order.sequence = order_sequence_next(order.instrument)
        order.save(force_insert=True)
        return order.sequence
    fields = _insert_fields()
    values = insert_values(order, fields, connection)
    with connection.cursor() as cursor:
        cursor.execute(_insert_sql(), [order.instrument_id, *values])
        (sequence,) = cursor.fetchone()
    order.sequence = order.instrument.last_sequence = sequence
    order._state.adding, order._state.db = False, connection.alias
    return sequence


def order_sequence_next(instrument: Instrument) -> int:
    """The instrument's next sequence alone (a held order released by risk's review)."""
    table = connection.ops.quote_name(Instrument._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET last_sequence = last_sequence + 1 "
            "WHERE id = %s RETURNING last_sequence",
            [instrument.pk],
        )
        (sequence,) = cursor.fetchone()
    instrument.last_sequence = sequence
    return sequence


@cache
def _insert_fields() -> list:
    return [f for f in Order._meta.concrete_fields if f.attname != "sequence"]


@cache
def _insert_sql() -> str:
    quote = connection.ops.quote_name
    fields = _insert_fields()
    # Typed placeholders: with server-side binding a bare parameter in a SELECT list would
    # be text. The type without its length: a cast to varchar(n) would silently truncate,
    # where the column itself refuses a value that is too long.
    values = ", ".join(f"%s::{f.db_type(connection).split('(')[0]}" for f in fields)
    columns = ", ".join(quote(f.column) for f in fields)
    sequence = quote(Order._meta.get_field("sequence").column)
    return (
        f"WITH next AS (UPDATE {quote(Instrument._meta.db_table)}"
        " SET last_sequence = last_sequence + 1 WHERE id = %s RETURNING last_sequence)"
        f" INSERT INTO {quote(Order._meta.db_table)} ({columns}, {sequence})"
        f" SELECT {values}, next.last_sequence FROM next RETURNING {sequence}"
    )
