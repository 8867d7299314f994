"""How the posting engine's rows reach the database, on the hot path of every transfer.

The ORM's bulk_update writes a CASE WHEN per field and account (3 ms of Python for one
transfer's two accounts, 140 ms for a 100-transfer batch), so the ledger writes its rows
with statements built once per shape from the models' metadata. On PostgreSQL a single
statement inserts the transfers and the entries and updates the accounts (data-modifying
WITH; the foreign keys, deferred, are checked at commit as before). Small writes list their
rows as VALUES; large ones pass one array per column (UNNEST, as bulk_create does on
PostgreSQL): thousands of placeholders cost more to build than to run. Values still go
through each field's get_db_prep_save, so what is stored is what the ORM would store, and
every constraint of the database checks every row. Other databases use bulk_create and
bulk_update.
"""

from collections.abc import Sequence
from functools import cache, lru_cache
from operator import attrgetter

from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.models import Model
from django.db.models.fields import AutoFieldMixin

from ledger.models import Account, Entry, Transfer

# Up to this many parameters a statement lists its rows as VALUES (psycopg caches the
# parsing of such small statements); beyond, PostgreSQL gets one array per column.
VALUES_MAX_PARAMS = 50


def postings_write(
    transfers: Sequence[Transfer],
    entries: Sequence[Entry],
    accounts: Sequence[Account],
    account_fields: Sequence[str],
) -> None:
    """INSERT the new transfers and entries (auto-increment ids are left to the database and
    not read back) and write `account_fields` of the (locked) accounts."""
    connection = connections[DEFAULT_DB_ALIAS]
    account_fields = tuple(account_fields)
    if connection.vendor != "postgresql":
        for model, objs in ((Transfer, transfers), (Entry, entries)):
            model.objects.bulk_create(objs)
        Account.objects.bulk_update(accounts, account_fields)
        return
    parts = [
        (_insert_fields(Transfer), [_insert_row(t, connection) for t in transfers]),
        (_insert_fields(Entry), [_insert_row(e, connection) for e in entries]),
        (
            _update_columns(account_fields),
            [_update_row(a, account_fields, connection) for a in accounts],
        ),
    ]
    params = sum(len(fields) * len(rows) for fields, rows in parts)
    if params <= VALUES_MAX_PARAMS:
        shape = tuple(len(rows) for _, rows in parts)
        sql = _write_sql(account_fields, shape)
        values = [value for _, rows in parts for row in rows for value in row]
    else:
        sql = _write_sql(account_fields, None)
        values = [list(column) for _, rows in parts for column in zip(*rows, strict=True)]
    _write(connection, sql, values)
    for obj in (*transfers, *entries):
        obj._state.adding, obj._state.db = False, connection.alias


def _write(connection, sql: str, values: list) -> None:
    """The write goes with the transaction's next statement or its COMMIT where the backend
    can defer it (core.postgresql): its rows were checked under the accounts' locks, and
    nothing reads its result, so it need not hold the locks a round trip longer."""
    deferred = getattr(connection, "execute_deferred", None)
    if deferred is not None:
        deferred(sql, values)
        return
    with connection.cursor() as cursor:
        cursor.execute(sql, values)


def _insert_row(obj: Model, connection) -> list:
    return [prepare(obj, connection) for prepare in _preparers(type(obj), None)]


def _update_row(account: Account, fields: tuple[str, ...], connection) -> list:
    return [prepare(account, connection) for prepare in _preparers(Account, fields)]


# Field types whose Python value psycopg adapts exactly as Django would store it: for these
# get_db_prep_save is the identity on PostgreSQL, and calling it per value was a third of a
# batch's Python time. Any other field (JSON, auto_now dates...) still goes through Django.
_PASSTHROUGH = (
    models.BigIntegerField,
    models.CharField,
    models.UUIDField,
    models.ForeignKey,
    models.PositiveSmallIntegerField,
    models.BooleanField,
)


@cache
def _preparers(model: type[Model], update_fields: tuple[str, ...] | None) -> list:
    fields = _insert_fields(model) if update_fields is None else _update_columns(update_fields)
    return [_preparer(field, inserting=update_fields is None) for field in fields]


def _preparer(field, *, inserting: bool):
    target = field.target_field if isinstance(field, models.ForeignKey) else field
    simple = isinstance(field, _PASSTHROUGH) and isinstance(target, _PASSTHROUGH)
    if simple or (
        isinstance(field, models.DateTimeField) and not (field.auto_now or field.auto_now_add)
    ):
        value_of = attrgetter(field.attname)
        return lambda obj, connection: value_of(obj)
    if inserting:
        return lambda obj, connection: field.get_db_prep_save(field.pre_save(obj, True), connection)
    return lambda obj, connection: field.get_db_prep_save(getattr(obj, field.attname), connection)


@cache
def _insert_fields(model: type[Model]) -> list:
    return [f for f in model._meta.concrete_fields if not isinstance(f, AutoFieldMixin)]


@cache
def _update_columns(fields: tuple[str, ...]) -> list:
    return [Account._meta.pk, *(Account._meta.get_field(name) for name in fields)]


@lru_cache(maxsize=32)
def _write_sql(account_fields: tuple[str, ...], shape: tuple[int, int, int] | None) -> str:
    """The one statement for `shape` (rows of transfers, entries, accounts) as VALUES, or
    for any number of rows as arrays if shape is None."""
    shape = shape or (None, None, None)
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
    inserts = [
        f"INSERT INTO {quote(model._meta.db_table)}"
        f" ({', '.join(quote(f.column) for f in _insert_fields(model))})"
        f" SELECT * FROM {_source(_insert_fields(model), rows)}"
        for model, rows in ((Transfer, shape[0]), (Entry, shape[1]))
    ]
    columns = _update_columns(account_fields)
    table, pk = quote(Account._meta.db_table), quote(columns[0].column)
    return (
        f"WITH transfers AS ({inserts[0]}), entries AS ({inserts[1]})"
        f" UPDATE {table} SET "
        + ", ".join(f"{quote(f.column)} = v.{quote(f.column)}" for f in columns[1:])
        + f" FROM {_source(columns, shape[2])} WHERE {table}.{pk} = v.{pk}"
    )


def _source(fields: list, rows: int | None) -> str:
    """`rows` rows of VALUES, or unnest(one array per field) if rows is None, as `v`."""
    connection = connections[DEFAULT_DB_ALIAS]
    # The type without its length: a cast to varchar(n) would silently truncate, where the
    # column itself refuses a value that is too long.
    types = [f.db_type(connection).split("(")[0] for f in fields]
    if rows is None:
        # %b: psycopg sends the arrays in binary (its C dumpers), not as quoted text: a
        # third of a batch's time. Needs server-side binding, which the settings turn on.
        source = "unnest(" + ", ".join(f"%b::{kind}[]" for kind in types) + ")"
    else:
        row = "(" + ", ".join(f"%s::{kind}" for kind in types) + ")"
        source = "(VALUES " + ", ".join([row] * rows) + ")"
    names = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    return f"{source} AS v ({names})"
