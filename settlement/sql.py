"""What settlement's set-based SQL needs to say differently on PostgreSQL and SQLite."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection


def postgres() -> bool:
    return connection.vendor == "postgresql"


def db_uuid(value):
    """A UUID as the database column holds it (SQLite: 32 hex digits)."""
    return value if postgres() else value.hex


def days_between(a: str, b: str) -> str:
    """abs(a - b) in whole days, for two date expressions."""
    if postgres():
        return f"abs({a} - {b})"
    return f"abs(CAST(julianday({a}) - julianday({b}) AS INTEGER))"


def date_of(timestamp: str) -> str:
    """The business date of a timestamp column; takes one parameter, zone_param()."""
    if postgres():
        return f"({timestamp} AT TIME ZONE %s)::date"
    return f"date({timestamp}, %s)"


def zone_param() -> str:
    """PostgreSQL: the zone's name. SQLite (the embedded default, no zone database): the
    zone's offset now, as a date() modifier."""
    zone = ZoneInfo(settings.BUSINESS_TIME_ZONE)
    if postgres():
        return settings.BUSINESS_TIME_ZONE
    offset = datetime.now(zone).utcoffset() or timedelta(0)
    return f"{int(offset.total_seconds() // 60):+d} minutes"


def temp_table(name: str, select: str) -> str:
    if postgres():
        return f"CREATE TEMP TABLE {name} ON COMMIT DROP AS {select}"
    return f"CREATE TEMP TABLE {name} AS {select}"


def temp_table_create(name: str, columns: str) -> str:
    if postgres():
        return f"CREATE TEMP TABLE {name} ({columns}) ON COMMIT DROP"
    return f"CREATE TEMP TABLE {name} ({columns})"


def rows_load(cursor, table: str, columns: str, rows) -> None:
    """Append `rows` (tuples in the order of `columns`) to `table`: PostgreSQL's COPY, a
    tenth of the time of INSERTs for a statement's 100,000 lines; SQLite: executemany."""
    if not postgres():
        marks = ", ".join("%s" for _ in columns.split(","))
        cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", list(rows))
        return
    if hasattr(connection, "deferred_send"):
        connection.deferred_send()  # COPY cannot run in a pipeline
    with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
