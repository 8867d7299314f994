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

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model
from django.db.models.fields import AutoFieldMixin

from core.prebuilt_sql import passes_through
from ledger.models import Account, Entry, Transfer
from ledger.rows import TransferRow

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
            model.objects.bulk_create([_as_model(obj) for obj in objs])
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
        if isinstance(obj, Model):  # a ledger.rows stand-in has no state to mark
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


def transfers_read(ids, *, light: bool = False) -> dict:
    """{id: Transfer} of the transfers `ids` names that exist, whole rows: in_bulk, but on
    PostgreSQL one array parameter and the rows built without the queryset (for a
    settlement chunk's 500 holds that was half the read's time); `light`: as ledger.rows
    stand-ins, on PostgreSQL."""
    connection = connections[DEFAULT_DB_ALIAS]
    ids = list(ids)
    if connection.vendor != "postgresql":
        return Transfer.objects.in_bulk(ids)
    names, columns, converters = _read_shape(connection.alias)
    table = connection.ops.quote_name(Transfer._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM {table} WHERE id = ANY(%b::uuid[])", [ids])
        rows = cursor.fetchall()
    found = {}
    for row in rows:
        if converters:
            row = list(row)
            for index, convert in converters:
                row[index] = convert(row[index])
        if light:
            transfer = TransferRow(**dict(zip(names, row, strict=True)))
        else:
            transfer = Transfer.from_db(connection.alias, names, row)
        found[transfer.pk] = transfer
    return found


def transfer_statuses_read(ids) -> dict:
    """{id: status} of the transfers `ids` names (one array parameter on PostgreSQL)."""
    connection = connections[DEFAULT_DB_ALIAS]
    ids = list(ids)
    if connection.vendor != "postgresql":
        return dict(Transfer.objects.filter(pk__in=ids).values_list("pk", "status"))
    table = connection.ops.quote_name(Transfer._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, status FROM {table} WHERE id = ANY(%b::uuid[])", [ids])
        return dict(cursor.fetchall())


@lru_cache(maxsize=4)
def _read_shape(alias: str):
    """The attnames, the quoted column list, and (index, converter) for each field whose
    database value the ORM converts on the way in (JSON, on PostgreSQL)."""
    connection = connections[alias]
    fields = Transfer._meta.concrete_fields
    converters = []
    for index, field in enumerate(fields):
        chain = [
            *connection.ops.get_db_converters(field.get_col(Transfer._meta.db_table)),
            *field.get_db_converters(connection),
        ]
        if chain:
            converters.append((index, _converter(chain, field, connection)))
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    return [f.attname for f in fields], columns, converters


def _converter(chain, field, connection):
    expression = field.get_col(Transfer._meta.db_table)

    def convert(value):
        for step in chain:
            value = step(value, expression, connection)
        return value

    return convert


def statuses_write(holds: Sequence[Transfer]) -> None:
    """Write the new status of each resolved hold: one UPDATE for all of them (on
    PostgreSQL an array of ids and one of statuses; elsewhere one per status)."""
    holds = list(holds)
    if not holds:
        return
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor != "postgresql":
        by_status: dict[str, list] = {}
        for hold in holds:
            by_status.setdefault(hold.status, []).append(hold.pk)
        for status, ids in by_status.items():
            Transfer.objects.filter(pk__in=ids).update(status=status)
        return
    table = connection.ops.quote_name(Transfer._meta.db_table)
    _write(  # with the postings, under the same locks: nothing reads it back before
        connection,
        f"UPDATE {table} AS t SET status = v.status"
        " FROM unnest(%(ids)b::uuid[], %(statuses)b::text[]) AS v(id, status)"
        # Said twice: joined to the unnest alone, the planner hashed the whole table for
        # each chunk's 500 holds (a seq scan of every transfer); by the array, the index.
        " WHERE t.id = v.id AND t.id = ANY(%(ids)b::uuid[])",
        {"ids": [hold.pk for hold in holds], "statuses": [hold.status for hold in holds]},
    )


def _insert_row(obj, connection) -> list:
    """The row's values in column order: of a model instance, or of a ledger.rows stand-in
    (read through its model's fields)."""
    model = getattr(type(obj), "row_of", None) or type(obj)
    read, prepared = _row_reader(model)
    row = list(read(obj))  # every column at once; then the few Django must prepare
    for index, prepare in prepared:
        row[index] = prepare(obj, connection)
    return row


@cache
def _row_reader(model: type[Model]):
    """One attrgetter for all of the model's insert columns, and (index, preparer) of those
    whose value Django must prepare (_preparer: JSON, auto dates)."""
    fields = _insert_fields(model)
    read = attrgetter(*(field.attname for field in fields))
    prepared = [
        (index, _preparer(field, inserting=True))
        for index, field in enumerate(fields)
        if not passes_through(field)
    ]
    return read, prepared


def _as_model(obj):
    """A model instance for a ledger.rows stand-in (bulk_create takes only those)."""
    model = getattr(type(obj), "row_of", None)
    if model is None:
        return obj
    return model(**{name: getattr(obj, name) for name in type(obj).__slots__})


def _update_row(account: Account, fields: tuple[str, ...], connection) -> list:
    return [prepare(account, connection) for prepare in _preparers(Account, fields)]


@cache
def _preparers(model: type[Model], update_fields: tuple[str, ...] | None) -> list:
    fields = _insert_fields(model) if update_fields is None else _update_columns(update_fields)
    return [_preparer(field, inserting=update_fields is None) for field in fields]


def _preparer(field, *, inserting: bool):
    if passes_through(field):  # the value itself (core.prebuilt_sql)
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
