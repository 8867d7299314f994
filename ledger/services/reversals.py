"""Corrections: a new transfer moving posted money back. The original is never edited."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.services import audit_record
from ledger import errors
from ledger.locking import accounts_lock
from ledger.models import Transfer
from ledger.posting import PostingEngine
from ledger.services._apply import write

__all__ = ["transfer_reverse", "transfer_reversible_check"]


def transfer_reversible_check(transfer: Transfer) -> None:
    """Raise unless `transfer` moved posted money that has not been moved back yet (checked
    again under the accounts' locks when the reversal posts)."""
    _posted_money_check(transfer)
    if Transfer.objects.filter(reverses=transfer).exists():
        raise errors.AlreadyReversed()


def _posted_money_check(transfer: Transfer) -> None:
    if transfer.kind not in (Transfer.Kind.SINGLE_PHASE, Transfer.Kind.POST_PENDING):
        raise errors.NotAPendingTransfer(
            "Only posted money can be reversed; void a pending transfer instead.",
            details={"reason": "not_reversible"},
        )


def transfer_reverse(
    *,
    transfer: Transfer,
    acting_user,
    transfer_id=None,
    reference="",
    origin: str = Transfer.Origin.STAFF,
):
    """A new transfer moving the money back. The original is never edited. The console
    reaches this only through a four-eyes adjustment (ledger.adjustments). A retry with the
    same `transfer_id` returns the reversal it made."""
    _posted_money_check(transfer)
    if earlier := _reversal_replay(transfer, transfer_id):
        return earlier
    try:
        with transaction.atomic():
            accounts = accounts_lock([transfer.debit_account_id, transfer.credit_account_id])
            if earlier := _reversal_replay(transfer, transfer_id):  # made while we waited
                return earlier
            if Transfer.objects.filter(reverses=transfer).exists():
                raise errors.AlreadyReversed()
            engine = PostingEngine(
                accounts, now=timezone.now(), acting_user=acting_user, origin=origin
            )
            posting = engine.apply_reversal(transfer, transfer_id=transfer_id, reference=reference)
            write([posting], engine)
            audit_record(
                actor=acting_user,
                action="transfer.reversed",
                target=transfer,
                after={"reversal": str(posting.transfer.pk)},
            )
    except IntegrityError as exc:
        raise errors.AlreadyReversed() from exc
    return posting.transfer


def _reversal_replay(transfer: Transfer, transfer_id) -> Transfer | None:
    """The reversal of `transfer` that `transfer_id` already names; a conflict if the id
    names anything else."""
    earlier = transfer_id is not None and Transfer.objects.filter(pk=transfer_id).first()
    if not earlier:
        return None
    if earlier.reverses_id != transfer.pk:
        raise errors.TransferExistsWithDifferentFields(details={"id": str(transfer_id)})
    return earlier
