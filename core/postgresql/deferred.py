"""A write nobody reads back, sent with the transaction's next statement or its COMMIT where
the backend can defer it (core.postgresql.base), else at once."""

from django.db import DEFAULT_DB_ALIAS, connections


def write_deferred(sql: str, params) -> None:
    connection = connections[DEFAULT_DB_ALIAS]
    deferred = getattr(connection, "execute_deferred", None)
    if deferred is not None and not connection.get_autocommit():
        deferred(sql, params)
        return
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
