"""How ledger rows are locked, in one place: every caller locks the same way.

Accounts are locked with SELECT ... FOR UPDATE in primary-key order, so two transactions
touching the same accounts always queue in the same order and never deadlock.
"""

from collections.abc import Iterable

from ledger.models import Account, Adjustment


def accounts_lock(account_ids: Iterable) -> dict:
    """Lock and return {id: Account} for the ids that exist (missing ids are left out)."""
    ids = set(account_ids)
    locked = Account.objects.select_for_update().filter(pk__in=ids).order_by("pk")
    return {account.pk: account for account in locked}


def account_lock(account_id) -> Account:
    return Account.objects.select_for_update().get(pk=account_id)


def adjustment_lock(adjustment_id) -> Adjustment:
    return Adjustment.objects.select_for_update().get(pk=adjustment_id)
