"""Holds (pending transfers): post, void, shrink, and the expiry sweep. Each is one hold
operation through the ledger's one write pass (ledger.services._apply); ledger_apply runs
several, with new transfers, in one transaction."""

from django.db.models import Q
from django.utils import timezone

from ledger import errors
from ledger.models import Transfer
from ledger.services import _apply
from ledger.services._holdops import RELEASES_ANY_HOLD, HoldChange, HoldOperation
from ledger.services.transfers import origin_of

__all__ = [
    "RELEASES_ANY_HOLD",
    "HoldChange",
    "HoldOperation",
    "pending_transfer_post",
    "pending_transfer_shrink",
    "pending_transfer_void",
    "pending_transfers_expire",
]


def _one(op: HoldOperation, *, partner, acting_user, origin) -> HoldChange:
    _, (change,) = _apply.apply(
        operations=[op],
        atomic=True,
        partner=partner,
        acting_user=acting_user,
        origin=origin_of(partner=partner, origin=origin),
        batch=False,
    )
    return change


def pending_transfer_post(
    *,
    pending_id,
    amount: int | None = None,
    transfer_id=None,
    partner=None,
    acting_user=None,
    origin: str | None = None,
    origin_ref: str = "",
) -> Transfer:
    """Post a pending transfer, fully or partly; a partial post releases the remainder."""
    op = HoldOperation(
        pending_id=pending_id,
        action=HoldOperation.POST,
        amount=amount,
        transfer_id=transfer_id,
        origin_ref=origin_ref,
    )
    return _one(op, partner=partner, acting_user=acting_user, origin=origin).resolution


def pending_transfer_void(
    *,
    pending_id,
    transfer_id=None,
    partner=None,
    acting_user=None,
    origin: str | None = None,
    origin_ref: str = "",
) -> Transfer:
    """Void a pending transfer: its whole reservation is released."""
    op = HoldOperation(
        pending_id=pending_id,
        action=HoldOperation.VOID,
        transfer_id=transfer_id,
        origin_ref=origin_ref,
    )
    return _one(op, partner=partner, acting_user=acting_user, origin=origin).resolution


def pending_transfer_shrink(
    *,
    pending_id,
    keep: int,
    origin: str,
    transfer_id=None,
    successor_id=None,
    acting_user=None,
    origin_ref: str = "",
) -> HoldChange:
    """Release all of a hold but `keep` (0 < keep < held), atomically: the hold is voided and
    `keep` held again by a new pending transfer that replaces it (same accounts, terms and
    origin). Only the hold's own origin (or one of RELEASES_ANY_HOLD) may shrink it. With
    client ids, the same shrink again returns the change it made."""
    if keep <= 0:
        raise errors.KeepNotLessThanHeld("Must be greater than zero: to keep nothing, void.")
    op = HoldOperation(
        pending_id=pending_id,
        action=HoldOperation.VOID,
        keep=keep,
        transfer_id=transfer_id,
        successor_id=successor_id,
        origin_ref=origin_ref,
    )
    return _one(op, partner=None, acting_user=acting_user, origin=origin)


def pending_transfers_expire(*, now=None, limit: int = 1000, accounts=None) -> int:
    """Expire pending transfers whose timeout has passed (only those touching `accounts`,
    when given); returns how many expired. (An order's hold has no timeout: it never
    expires by itself.)"""
    now = now or timezone.now()
    due = Transfer.objects.filter(
        status=Transfer.Status.PENDING, expires_at__isnull=False, expires_at__lte=now
    )
    if accounts is not None:
        ids = [account.pk for account in accounts]
        due = due.filter(Q(debit_account_id__in=ids) | Q(credit_account_id__in=ids))
    due = due.values_list("pk", flat=True)[:limit]
    expired = 0
    for pending_id in list(due):
        op = HoldOperation(pending_id=pending_id, action=HoldOperation.EXPIRE)
        try:
            _one(op, partner=None, acting_user=None, origin=Transfer.Origin.SYSTEM)
            expired += 1
        except errors.PendingAlreadyResolved:
            continue  # posted or voided in the meantime
    return expired
