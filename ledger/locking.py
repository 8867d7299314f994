"""How ledger rows are locked, in one place: every caller locks the same way.

Accounts are locked with SELECT ... FOR UPDATE in primary-key order, so two transactions
touching the same accounts always queue in the same order and never deadlock.
"""

from collections.abc import Iterable
from functools import cache

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.transaction import TransactionManagementError

from ledger.models import Account, Adjustment


def accounts_lock(account_ids: Iterable) -> dict:
    """Lock and return {id: Account} for the ids that exist (missing ids are left out)."""
    ids = {Account._meta.pk.to_python(account_id) for account_id in account_ids} - {None}
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor != "postgresql":
        locked = Account.objects.select_for_update().filter(pk__in=ids).order_by("pk")
        return {account.pk: account for account in locked}
    # The same statement, written once: compiling the queryset cost more than running it.
    if connection.get_autocommit():
        raise TransactionManagementError("Accounts can only be locked inside a transaction.")
    names = [field.attname for field in Account._meta.concrete_fields]
    with connection.cursor() as cursor:
        cursor.execute(_accounts_lock_sql(), [list(ids)])
        rows = cursor.fetchall()
    accounts = (Account.from_db(connection.alias, names, row) for row in rows)
    return {account.pk: account for account in accounts}


@cache
def _accounts_lock_sql() -> str:
    connection = connections[DEFAULT_DB_ALIAS]
    quote = connection.ops.quote_name
    table, pk = quote(Account._meta.db_table), quote(Account._meta.pk.column)
    pk_type = Account._meta.pk.db_type(connection)
    columns = ", ".join(f"{table}.{quote(f.column)}" for f in Account._meta.concrete_fields)
    return (
        f"SELECT {columns} FROM {table} WHERE {table}.{pk} = ANY(%s::{pk_type}[])"
        f" ORDER BY {table}.{pk} FOR UPDATE"
    )


def account_lock(account_id) -> Account:
    return Account.objects.select_for_update().get(pk=account_id)


def adjustment_lock(adjustment_id) -> Adjustment:
    return Adjustment.objects.select_for_update().get(pk=adjustment_id)
