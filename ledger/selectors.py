"""Reads of the ledger: partner-scoped querysets and balances. No writes here.

A partner sees its own accounts, and the transfers that touch one of them (as debit or as
credit). Anything else is "not found": existence is not disclosed.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.db.models import OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.db.models.signals import post_delete, post_migrate, post_save
from django.dispatch import receiver
from django.utils import timezone

from ledger import errors
from ledger.models import Account, Asset, Entry, HoldEvent, Transfer
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


def account_ids(*, partner) -> frozenset:
    """The ids of the partner's accounts, and nothing else (no balances to compute)."""
    return frozenset(Account.objects.filter(partner=partner).values_list("pk", flat=True))


# An account's owner, asset and code never change, and accounts are never deleted (PROTECT
# everywhere, a read-only console), so each process keeps the ids it has found by them:
# order entry needs two per order (the partner's and the house account), and their query
# cost more than the rest of the order's validation. An id is kept only once the
# transaction that read it commits, so one read of an account opened in a transaction
# that then rolls back is never kept; an account opened is kept once its opening commits.
# Only a flushed database (the test suite's) loses accounts: flush sends post_migrate,
# which empties the cache, and opening an account replaces what its key held.
_account_ids: dict[tuple, object] = {}


def account_id_by_code(*, partner_id, asset: str, code: str = "main"):
    """The id of the account `code` in `asset` of partner `partner_id` (None: the house's),
    or None if there is none. System-side: the caller decides whose account it may use."""
    key = (partner_id, asset, code)
    if (found := _account_ids.get(key)) is not None:
        return found
    found = (
        Account.objects.filter(partner_id=partner_id, asset_id=asset, code=code)
        .values_list("pk", flat=True)
        .first()
    )
    if found is not None:
        transaction.on_commit(lambda: _account_ids.__setitem__(key, found))
    return found


@receiver(post_save, sender=Account)
def _account_id_learn(sender, instance, created, **kwargs):
    if created:
        key = (instance.partner_id, instance.asset_id, instance.code)
        _account_ids.pop(key, None)
        transaction.on_commit(lambda: _account_ids.__setitem__(key, instance.pk))


def account_ids_forget() -> None:
    """Forget every kept id: for whoever removes accounts wholesale (a flush; the test
    suite's rollback of a test whose on-commit callbacks it ran by hand)."""
    _account_ids.clear()


@receiver(post_migrate)
def _account_ids_forget_all(sender, **kwargs):
    account_ids_forget()


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


def entry_balance(*, entry: Entry | None, account: Account) -> Balance:
    """The account's balances right after this entry's transfer (zero for None)."""
    totals = _totals_as_of(account, entry)
    return Balance(
        posted=totals.posted_balance,
        pending=totals.pending_balance,
        available=totals.available_balance,
    )


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
    S = Transfer.Status
    risk_hold = Q(origin=Transfer.Origin.RISK, kind=Transfer.Kind.PENDING)
    if status == S.HELD:
        return queryset.filter(risk_hold, status=S.PENDING)
    if status == S.REJECTED:
        return queryset.filter(risk_hold, status=S.VOIDED)
    if status in (S.PENDING, S.VOIDED):
        queryset = queryset.exclude(risk_hold)
    if status == S.PENDING:
        return queryset.filter(status=status).exclude(expires_at__lte=now)
    if status == S.EXPIRED:
        lapsed = Q(status=S.PENDING, expires_at__lte=now)
        return queryset.filter(Q(status=status) | lapsed)
    return queryset.filter(status=status)


def transfer_origin(*, transfer_id) -> str | None:
    """The origin of the transfer with that id, or None when there is none: one indexed read
    without the ORM's compile (it sits on every partner transfer POST with a client id)."""
    table = Transfer._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT origin FROM {table} WHERE id = %s", [transfer_id.hex])
        row = cursor.fetchone()
    return row[0] if row else None


def partner_outflow(*, partner_id, asset: str, since: datetime) -> int:
    """What moved out of the partner's accounts in `asset` since `since`: posted transfers
    and posted holds debiting them (minor units)."""
    moved = Transfer.objects.filter(
        debit_account__partner_id=partner_id,
        asset_id=asset,
        created_at__gte=since,
        kind__in=[Transfer.Kind.SINGLE_PHASE, Transfer.Kind.POST_PENDING],
    ).aggregate(total=Sum("amount"))["total"]
    return moved or 0


def transfer_get(*, partner, transfer_id) -> Transfer:
    transfer = transfer_list(partner=partner).filter(pk=transfer_id).first()
    if transfer is None:
        raise errors.TransferNotFound()
    return transfer


# --- System side: for other apps (trading, risk, settlement), not partner-scoped ------------
# Never call these from a partner's request: they see every partner's rows.


def transfer_by_id(*, transfer_id) -> Transfer:
    transfer = Transfer.objects.select_related("asset").filter(pk=transfer_id).first()
    if transfer is None:
        raise errors.TransferNotFound()
    return transfer


def account_by_id(*, account_id) -> Account:
    account = Account.objects.select_related("asset").filter(pk=account_id).first()
    if account is None:
        raise errors.AccountNotFound()
    return account


def holds_by_origin(
    *, origin: str, origin_ref: str | None = None, open_only: bool = True
) -> QuerySet[Transfer]:
    """The holds an origin placed (those of one of its ids with `origin_ref`), oldest first;
    only those still held unless `open_only` is False (for many ids: open_holds_of)."""
    holds = Transfer.objects.filter(kind=Transfer.Kind.PENDING, origin=origin)
    if origin_ref is not None:
        holds = holds.filter(origin_ref=origin_ref)
    if open_only:
        holds = holds.filter(status=Transfer.Status.PENDING)
    return holds.order_by("created_at", "id")


def open_holds_of(*, origin: str, origin_refs) -> dict[str, tuple[uuid.UUID, int]]:
    """{origin_ref: (hold id, amount)} of the open holds `origin` placed for each of
    `origin_refs` (holds_by_origin for a set of refs, as values; the latest if a ref has
    several). On PostgreSQL one statement with the refs as a binary array: for a settlement
    chunk's 500 orders the queryset's compile and text array cost more than the read."""
    refs = [ref for ref in origin_refs if ref]
    if not refs:
        return {}
    if connection.vendor != "postgresql":
        rows = (
            holds_by_origin(origin=origin)
            .filter(origin_ref__in=refs)
            .values_list("origin_ref", "id", "amount")
        )
        return {ref: (pk, amount) for ref, pk, amount in rows}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT origin_ref, id, amount FROM {Transfer._meta.db_table}"
            " WHERE origin = %s AND origin_ref = ANY(%b::text[]) AND kind = %s AND status = %s"
            # Said outright: PostgreSQL proves an index predicate from an array of at most
            # 100 values, so past that the (origin, origin_ref) index, partial on this, went
            # unused and a 480-order chunk scanned every transfer.
            " AND origin_ref <> '' ORDER BY created_at, id",
            [origin, refs, Transfer.Kind.PENDING, Transfer.Status.PENDING],
        )
        return {ref: (pk, amount) for ref, pk, amount in cursor.fetchall()}


def accounts_by_owner(*, partner_ids, assets, code: str = "main") -> dict[tuple, uuid.UUID]:
    """{(partner id, asset): account id} of the partners' `code` accounts, one query."""
    rows = Account.objects.filter(
        partner_id__in=list(partner_ids), asset_id__in=list(assets), code=code
    ).values_list("partner_id", "asset_id", "pk")
    return {(partner, asset): pk for partner, asset, pk in rows}


def transfers_in_batch(*, batch_id) -> QuerySet[Transfer]:
    """The transfers one call recorded under its batch id (ledger_apply's `batch_id`)."""
    return Transfer.objects.filter(batch_id=batch_id)


def hold_current(*, hold_id) -> Transfer:
    """The latest hold in the line of `hold_id`: after shrinks or partial posts that kept
    the rest, the hold that holds it now (it may itself be resolved since)."""
    hold = transfer_by_id(transfer_id=hold_id)
    while (successor := Transfer.objects.filter(replaces=hold).first()) is not None:
        hold = successor
    return hold


def hold_events(*, origin: str, undelivered_only: bool = False) -> QuerySet[HoldEvent]:
    """The changes of the holds an origin placed (ledger.hooks), oldest first."""
    events = HoldEvent.objects.filter(origin=origin)
    if undelivered_only:
        events = events.filter(delivered_at__isnull=True)
    return events.order_by("id")
