"""Reads by a unique key, and single-row inserts, on the request path: statements built
once per shape.

Compiling a queryset costs 100-300 us of Python per query (more with select_related), which
on order entry was more than the database's own work for the same rows. These build the
SELECT once per (model, columns, key) from the model's metadata and turn the row into
values as the ORM would (each field's and the backend's converters: JSON, SQLite's UUIDs and
datetimes), so callers see exactly what a queryset gives them. For lookups by a unique key
(or the primary key) only: there is no ordering and at most one row.

`row_insert` is obj.save(force_insert=True) for a row that has no save() override or
save signals: Model.save walks signals, parent links and the insert compiler (about
200 us of Python for risk's Decision row, more than the database's work for it). Each
value goes through the field's pre_save and get_db_prep_save as the ORM's would, so what
is stored is the same, and every constraint of the table checks it.
"""

from functools import cache
from operator import attrgetter

from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.models import Model
from django.db.models.fields import AutoFieldMixin
from django.db.models.signals import post_save, pre_save


def row_get(model: type[Model], **key) -> Model | None:
    """model.objects.filter(**key).first() for a unique key, every concrete field loaded."""
    fields = tuple(f.attname for f in model._meta.concrete_fields)
    row = values_get(model, fields, **key)
    if row is None:
        return None
    return model.from_db(DEFAULT_DB_ALIAS, fields, row)


def values_get(model: type[Model], columns: tuple[str, ...], **key) -> tuple | None:
    """The `columns` (attnames) of the row whose unique key is `key`, or None."""
    connection = connections[DEFAULT_DB_ALIAS]
    names = tuple(key)
    sql, key_fields, converters = _select(model, columns, names)
    params = [
        f.get_db_prep_value(key[n], connection) for n, f in zip(names, key_fields, strict=True)
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    return tuple(
        _converted(value, field_converters, col, connection)
        for value, (col, field_converters) in zip(row, converters, strict=True)
    )


def _converted(value, field_converters, col, connection):
    for convert in field_converters:
        value = convert(value, col, connection)
    return value


@cache
def _select(model: type[Model], columns: tuple[str, ...], key: tuple[str, ...]):
    connection = connections[DEFAULT_DB_ALIAS]
    quote = connection.ops.quote_name
    meta = model._meta
    by_attname = {f.attname: f for f in meta.concrete_fields}
    selected = [by_attname[name] for name in columns]
    key_fields = [by_attname[name] for name in key]
    where = " AND ".join(f"{quote(f.column)} = %s" for f in key_fields)
    sql = (
        f"SELECT {', '.join(quote(f.column) for f in selected)}"
        f" FROM {quote(meta.db_table)} WHERE {where} LIMIT 1"
    )
    converters = []
    for field in selected:
        col = field.get_col(meta.db_table)
        converters.append(
            (col, connection.ops.get_db_converters(col) + field.get_db_converters(connection))
        )
    return sql, key_fields, converters


def row_insert(obj: Model, *, deferred: bool = False) -> None:
    """INSERT `obj` as one new row (its primary key set by the caller, not the database).
    `deferred`: inside a transaction on PostgreSQL, sent with the transaction's next
    statement or its COMMIT (core.postgresql), for a row whose insert nobody waits on."""
    model = type(obj)
    if model.save is not Model.save or any(s.has_listeners(model) for s in (pre_save, post_save)):
        raise TypeError(f"{model.__name__} overrides save() or has save signals: use save()")
    connection = connections[DEFAULT_DB_ALIAS]
    sql, fields = _insert(model)
    params = insert_values(obj, fields, connection)
    defer = getattr(connection, "execute_deferred", None) if deferred else None
    if defer is not None and not connection.get_autocommit():
        defer(sql, params)
    else:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
    obj._state.adding, obj._state.db = False, connection.alias


@cache
def _insert(model: type[Model]):
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
    fields = [f for f in model._meta.concrete_fields if not isinstance(f, AutoFieldMixin)]
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)}"
        f" ({', '.join(quote(f.column) for f in fields)})"
        f" VALUES ({', '.join(['%s'] * len(fields))})"
    )
    return sql, fields


def insert_values(obj: Model, fields, connection) -> list:
    """Each of `fields`' value of `obj` as an INSERT stores it: what the ORM's insert sends,
    get_db_prep_save(pre_save(obj)), without the call where that is the value itself."""
    preparers = _insert_preparers(tuple(fields), connection.vendor)
    return [prepare(obj, connection) for prepare in preparers]


# Field types whose Python value psycopg adapts exactly as Django would store it: for these
# get_db_prep_save is the identity on PostgreSQL, and calling it per value was a third of a
# ledger batch's Python time. Any other field (JSON, auto_now dates...) goes through Django.
_PASSTHROUGH = (
    models.BigIntegerField,
    models.CharField,
    models.UUIDField,
    models.ForeignKey,
    models.PositiveSmallIntegerField,
    models.BooleanField,
)


def passes_through(field) -> bool:
    """On PostgreSQL, the field's Python value is what Django would send for it."""
    target = field.target_field if isinstance(field, models.ForeignKey) else field
    simple = isinstance(field, _PASSTHROUGH) and isinstance(target, _PASSTHROUGH)
    return simple or (
        isinstance(field, models.DateTimeField) and not (field.auto_now or field.auto_now_add)
    )


@cache
def _insert_preparers(fields: tuple, vendor: str) -> list:
    return [_insert_preparer(field, postgresql=vendor == "postgresql") for field in fields]


def _insert_preparer(field, *, postgresql: bool):
    if postgresql and passes_through(field):
        value_of = attrgetter(field.attname)
        return lambda obj, connection: value_of(obj)
    return lambda obj, connection: field.get_db_prep_save(field.pre_save(obj, True), connection)
