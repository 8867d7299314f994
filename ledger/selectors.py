"""Reads of the ledger: partner-scoped querysets and balances. No writes here.

A partner sees its own accounts, and the transfers that touch one of them (as debit or as
credit). Anything else is "not found": existence is not disclosed.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from ledger import errors
from ledger.models import Account, Asset, Entry, Transfer
from ledger.posting import TOTALS


@dataclass(frozen=True)
class Balance:
    """An account's balances in minor units (see the Account properties for the meaning)."""

    posted: int
    pending: int
    available: int


# --- Assets --------------------------------------------------------------------------------


# An asset's code and scale never change once money is held in it (the scale is how every
# stored amount reads), so each process keeps the assets it has read: no query per request.
_assets_read: dict[str, Asset] = {}


def assets_by_code(*, codes) -> dict[str, Asset]:
    wanted = set(codes)
    if missing := wanted - _assets_read.keys():
        _assets_read.update(Asset.objects.in_bulk(missing))
    return {code: _assets_read[code] for code in wanted if code in _assets_read}


@receiver([post_save, post_delete], sender=Asset)
def _asset_forget(sender, instance, **kwargs):
    _assets_read.pop(instance.pk, None)


# --- Accounts ------------------------------------------------------------------------------


def account_list(*, partner) -> QuerySet[Account]:
    return Account.objects.filter(partner=partner).select_related("asset")


def account_get(*, partner, account_id) -> Account:
    account = account_list(partner=partner).filter(pk=account_id).first()
    if account is None:
        raise errors.AccountNotFound()
    return account


def account_balance(*, account: Account, as_of: datetime | None = None) -> Balance:
    """The balances now, or right after the last transfer at or before `as_of` (every entry
    stores its account's four totals after the transfer; before the first one, all zero)."""
    if as_of is None:
        source = account
    else:
        entry = (
            Entry.objects.filter(account=account, created_at__lte=as_of)
            .order_by("-created_at", "-id")
            .only(*TOTALS)
            .first()
        )
        source = _totals_as_of(account, entry)
    return Balance(
        posted=source.posted_balance,
        pending=source.pending_balance,
        available=source.available_balance,
    )


def account_entries(*, account: Account) -> QuerySet[Entry]:
    """The account's statement lines, newest first."""
    return Entry.objects.filter(account=account).select_related("transfer").order_by("-id")


def entry_posted_balance(*, entry: Entry, account: Account) -> int:
    """The account's posted balance right after this entry's transfer."""
    return _totals_as_of(account, entry).posted_balance


def _totals_as_of(account: Account, entry: Entry | None) -> Account:
    """An unsaved copy of `account` holding the totals an entry recorded (zero if None), so
    the balance arithmetic stays in one place: the Account properties."""
    copy = Account(kind=account.kind)
    if entry is not None:
        for name in TOTALS:
            setattr(copy, name, getattr(entry, name))
    return copy


# --- Transfers -----------------------------------------------------------------------------


def transfer_list(*, partner) -> QuerySet[Transfer]:
    """Transfers debiting or crediting one of the partner's accounts."""
    own = Account.objects.filter(partner=partner).values("pk")
    return Transfer.objects.filter(
        Q(debit_account_id__in=own) | Q(credit_account_id__in=own)
    ).select_related("asset")


def transfer_get(*, partner, transfer_id) -> Transfer:
    transfer = transfer_list(partner=partner).filter(pk=transfer_id).first()
    if transfer is None:
        raise errors.TransferNotFound()
    return transfer
