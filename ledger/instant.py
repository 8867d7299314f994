"""Reads that must see one instant of the ledger (a check, a statement and its balances)."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, connections, transaction


@contextmanager
def one_instant() -> Iterator[None]:
    """Every query inside reads the same instant, so a transfer committing meanwhile is
    never half seen (in the transfer sums but not in the account totals, in a statement's
    lines but not its closing balance). PostgreSQL: one REPEATABLE READ, READ ONLY
    transaction. Inside a caller's transaction (tests), or on the embedded SQLite (one
    writer), the reads run as they are."""
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield
