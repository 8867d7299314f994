"""Reads of the ledger: partner-scoped querysets and balances. No writes here.

A partner sees its own accounts, and the transfers that touch one of them (as debit or as
credit). Anything else is "not found": existence is not disclosed.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

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


def assets_by_code(*, codes) -> dict[str, Asset]:
    return Asset.objects.in_bulk(set(codes))


# --- Accounts ------------------------------------------------------------------------------


def account_list(*, partner) -> QuerySet[Account]:
    return accounts_with_lapsed_holds(Account.objects.filter(partner=partner)).select_related(
        "asset"
    )


def accounts_with_lapsed_holds(queryset: QuerySet[Account], *, now=None) -> QuerySet[Account]:
    """Accounts annotated with what their holds past timeout still reserve in the totals
    (the expiry job has not resolved them yet), so the balance properties leave it out."""
    now = now or timezone.now()

    def lapsed_on(side: str):
        holds = (
            Transfer.objects.filter(
                **{side: OuterRef("pk")}, status=Transfer.Status.PENDING, expires_at__lte=now
            )
            .order_by()
            .values(side)
            .annotate(total=Sum("amount"))
            .values("total")
        )
        return Coalesce(Subquery(holds), 0)

    return queryset.annotate(
        lapsed_debits_pending=lapsed_on("debit_account"),
        lapsed_credits_pending=lapsed_on("credit_account"),
    )


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


def transfers_in_status(queryset: QuerySet[Transfer], *, status: str, now=None):
    """Transfers whose status, as readers see it (Transfer.status_now), is `status`: a hold
    past its timeout is expired, not pending, before the expiry job has run."""
    now = now or timezone.now()
    if status == Transfer.Status.PENDING:
        return queryset.filter(status=status).exclude(expires_at__lte=now)
    if status == Transfer.Status.EXPIRED:
        lapsed = Q(status=Transfer.Status.PENDING, expires_at__lte=now)
        return queryset.filter(Q(status=status) | lapsed)
    return queryset.filter(status=status)


def transfer_get(*, partner, transfer_id) -> Transfer:
    transfer = transfer_list(partner=partner).filter(pk=transfer_id).first()
    if transfer is None:
        raise errors.TransferNotFound()
    return transfer
