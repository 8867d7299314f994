"""Every write to the ledger. Keyword-only; one transaction each; accounts locked in a fixed
order (ledger.locking); the rules themselves live in ledger.posting."""

import itertools
import uuid
from dataclasses import dataclass

from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone

from core.errors import PermissionDenied, ValidationFailed
from core.services import audit_record, snapshot
from ledger import errors
from ledger.locking import account_lock, accounts_lock
from ledger.models import Account, Asset, Transfer
from ledger.posting import TOTALS, Posting, PostingEngine, TransferRequest
from ledger.storage import postings_write

__all__ = [
    "BatchItemResult",
    "TransferRequest",
    "account_close",
    "account_freeze",
    "account_open",
    "account_unfreeze",
    "house_accounts_ensure",
    "pending_transfer_post",
    "pending_transfer_void",
    "pending_transfers_expire",
    "transfer_apply",
    "transfer_batch_create",
    "transfer_create",
    "transfer_reverse",
]

HOUSE_ACCOUNTS = {
    # code: (kind, description)
    "settlement_bank": (Account.Kind.ASSET, "Cash at the settlement bank"),
    "fee_income": (Account.Kind.INCOME, "Fees earned"),
    "suspense": (Account.Kind.LIABILITY, "Unmatched money awaiting investigation"),
}


# --- Accounts ------------------------------------------------------------------------------


@transaction.atomic
def account_open(
    *,
    partner,
    asset: Asset | str,
    code: str | None = "main",
    kind: str = Account.Kind.LIABILITY,
    debits_must_not_exceed_credits: bool | None = None,
    credits_must_not_exceed_debits: bool = False,
    acting_user=None,
) -> Account:
    """Open an account. A partner's account may never go below zero unless told otherwise.
    `code=None` picks a free readable one: `main`, then `usd-2`, `usd-3`..."""
    asset_code = asset.code if isinstance(asset, Asset) else asset
    if not Asset.objects.filter(code=asset_code).exists():
        raise ValidationFailed(details={"asset": [f"Unknown asset {asset_code!r}."]})
    if debits_must_not_exceed_credits is None:
        debits_must_not_exceed_credits = partner is not None
    if code is None:
        for _attempt in range(5):  # a concurrent open may take the code we picked
            try:
                return account_open(
                    partner=partner,
                    asset=asset_code,
                    code=_account_code_free(partner=partner, asset_code=asset_code),
                    kind=kind,
                    debits_must_not_exceed_credits=debits_must_not_exceed_credits,
                    credits_must_not_exceed_debits=credits_must_not_exceed_debits,
                    acting_user=acting_user,
                )
            except errors.AccountStatusConflict:
                continue
        raise errors.AccountStatusConflict(
            "Could not pick a free account code; retry.", details={"reason": "account_exists"}
        )
    exists = errors.AccountStatusConflict(
        f"An account {code!r} in {asset_code} already exists.",
        details={"reason": "account_exists"},
    )
    if Account.objects.filter(partner=partner, asset_id=asset_code, code=code).exists():
        raise exists
    try:
        with transaction.atomic():  # a concurrent open of the same code loses here
            account = Account.objects.create(
                partner=partner,
                asset_id=asset_code,
                code=code,
                kind=kind,
                debits_must_not_exceed_credits=debits_must_not_exceed_credits,
                credits_must_not_exceed_debits=credits_must_not_exceed_debits,
            )
    except IntegrityError as exc:
        raise exists from exc
    audit_record(actor=acting_user, action="account.open", target=account, after=snapshot(account))
    return account


def _account_code_free(*, partner, asset_code: str) -> str:
    taken = set(
        Account.objects.filter(partner=partner, asset_id=asset_code).values_list("code", flat=True)
    )
    if "main" not in taken:
        return "main"
    candidates = (f"{asset_code.lower()}-{n}" for n in itertools.count(2))
    return next(code for code in candidates if code not in taken)


def house_accounts_ensure(*, asset: Asset | str, acting_user=None) -> dict[str, Account]:
    """The firm's own accounts in `asset`, opened on first use."""
    asset_code = asset.code if isinstance(asset, Asset) else asset
    found = {a.code: a for a in Account.objects.filter(partner=None, asset_id=asset_code)}
    for code, (kind, _description) in HOUSE_ACCOUNTS.items():
        if code in found:
            continue
        try:
            found[code] = account_open(
                partner=None, asset=asset_code, code=code, kind=kind, acting_user=acting_user
            )
        except errors.AccountStatusConflict:  # opened by a concurrent first use
            found[code] = Account.objects.get(partner=None, asset_id=asset_code, code=code)
    return found


_STATUS_TRANSITIONS = {
    (Account.Status.OPEN, Account.Status.FROZEN),
    (Account.Status.FROZEN, Account.Status.OPEN),
    (Account.Status.OPEN, Account.Status.CLOSED),
    (Account.Status.FROZEN, Account.Status.CLOSED),
}


def _account_status_set(*, account: Account, status: str, acting_user, reason: str) -> Account:
    with transaction.atomic():
        locked = account_lock(account.pk)
        if (locked.status, status) not in _STATUS_TRANSITIONS:
            raise errors.AccountStatusConflict(
                f"Cannot go from {locked.status} to {status}.",
                details={"status": locked.status},
            )
        if status == Account.Status.CLOSED and (
            locked.debits_pending or locked.credits_pending or locked.posted_balance
        ):
            raise errors.AccountNotEmpty()
        before = {"status": locked.status}
        locked.status = status
        locked.save(update_fields=["status"])
        audit_record(
            actor=acting_user,
            action=f"account.{status}",
            target=locked,
            before=before,
            after={"status": status, "reason": reason},
        )
    account.status = status
    return locked


def account_freeze(*, account: Account, acting_user, reason: str = "") -> Account:
    return _account_status_set(
        account=account, status=Account.Status.FROZEN, acting_user=acting_user, reason=reason
    )


def account_unfreeze(*, account: Account, acting_user, reason: str = "") -> Account:
    return _account_status_set(
        account=account, status=Account.Status.OPEN, acting_user=acting_user, reason=reason
    )


def account_close(*, account: Account, acting_user, reason: str = "") -> Account:
    return _account_status_set(
        account=account, status=Account.Status.CLOSED, acting_user=acting_user, reason=reason
    )


# --- Transfers -----------------------------------------------------------------------------


@dataclass
class BatchItemResult:
    index: int
    transfer: Transfer | None = None
    error: errors.LedgerError | None = None
    replayed: bool = False  # the id existed already with the same fields

    @property
    def ok(self) -> bool:
        return self.error is None


class LinkedTransferFailed(errors.LedgerError, errors.BusinessRuleViolation):
    code = "linked_transfer_failed"
    reason = "linked_transfer_failed"
    default_message = "Not applied: another transfer in the atomic batch failed."


def transfer_create(*, request: TransferRequest, partner=None, acting_user=None) -> Transfer:
    """Apply one transfer, exactly once per id. Retrying with the same id and fields returns
    the original; the same id with other fields is a conflict. `partner`, when given, may
    debit only its own accounts."""
    return transfer_apply(request=request, partner=partner, acting_user=acting_user).transfer


def transfer_apply(*, request: TransferRequest, partner=None, acting_user=None) -> BatchItemResult:
    """transfer_create, also telling whether the id was a replay (the API answers 200
    rather than 201 then)."""
    (result,) = _transfers_apply(
        [request], atomic=True, partner=partner, acting_user=acting_user, batch=False
    )
    return result


def transfer_batch_create(
    *, requests: list[TransferRequest], atomic: bool, partner=None, acting_user=None
) -> list[BatchItemResult]:
    """Apply up to 1,000 transfers in one transaction. Atomic: all or none (raises
    BatchRejected with per-item results). Independent: each item succeeds or fails alone."""
    return _transfers_apply(
        requests, atomic=atomic, partner=partner, acting_user=acting_user, batch=True
    )


def _transfers_apply(requests, *, atomic, partner, acting_user, batch) -> list[BatchItemResult]:
    # Client ids are nearly always new, so the first pass does not look them up: a replayed
    # id is refused by the unique key at the insert (or an item fails, and we look then), and
    # the pass is redone with the lookup. A concurrent request may still insert one of our
    # ids between that lookup and our insert; the key stops it, and the last pass answers it
    # as a replay.
    lookup = False
    for attempt in range(3):
        try:
            with transaction.atomic():
                return _transfers_apply_locked(
                    requests,
                    atomic=atomic,
                    partner=partner,
                    acting_user=acting_user,
                    batch=batch,
                    lookup=lookup,
                )
        except (IntegrityError, _IdsExist):
            if attempt == 2:
                raise
            lookup = True
        except OperationalError as exc:
            # Two batches sharing client ids in different orders can each wait on the
            # other's uncommitted rows; PostgreSQL undoes one. It runs again, with the lookup.
            if attempt == 2 or getattr(exc.__cause__, "sqlstate", None) != DEADLOCK_DETECTED:
                raise
            lookup = True
    raise AssertionError("unreachable")


DEADLOCK_DETECTED = "40P01"


class _IdsExist(Exception):
    """A pass without the lookup met ids that exist: redo it with the lookup."""


def _transfers_apply_locked(requests, *, atomic, partner, acting_user, batch, lookup=True):
    account_ids = {r.debit_account_id for r in requests} | {r.credit_account_id for r in requests}
    accounts = accounts_lock(account_ids)
    client_ids = [r.id for r in requests if r.id is not None]
    existing = Transfer.objects.in_bulk(client_ids) if client_ids and lookup else {}
    looked_up = lookup or not client_ids
    engine = PostingEngine(accounts, now=timezone.now(), acting_user=acting_user)
    batch_id = uuid.uuid4() if batch and atomic and len(requests) > 1 else None
    partner_id = partner.pk if partner is not None else None

    results, postings = [], []
    for index, request in enumerate(requests):
        result = BatchItemResult(index=index)
        earlier = existing.get(request.id) if request.id is not None else None
        try:
            if earlier is not None:
                if not request.matches(earlier) or (
                    partner_id is not None
                    and accounts[earlier.debit_account_id].partner_id != partner_id
                ):
                    raise errors.TransferExistsWithDifferentFields(details={"id": str(request.id)})
                result.transfer, result.replayed = earlier, True
            else:
                posting = engine.apply_new(request, partner_id=partner_id, batch_id=batch_id)
                postings.append(posting)
                existing[posting.transfer.pk] = posting.transfer
                result.transfer = posting.transfer
        except errors.LedgerError as exc:
            if not looked_up:  # the answer may be "that id exists": errors wait for the lookup
                if Transfer.objects.filter(pk__in=client_ids).exists():
                    raise _IdsExist() from exc
                looked_up = True
            result.error = exc
            if atomic:
                results.append(result)
                _reject_atomic(requests, results, batch=batch)
        results.append(result)
    _write(postings, engine)
    return results


def _reject_atomic(requests, results, *, batch):
    cause = results[-1]  # the item that failed; the ones before it are undone with it
    failed = {r.index: r for r in results}
    final = [
        failed.get(i) or BatchItemResult(index=i, error=LinkedTransferFailed())
        for i in range(len(requests))
    ]
    for item in final:  # successes before the failure are undone with the transaction
        if item.error is None:
            item.transfer, item.error = None, LinkedTransferFailed()
    if not batch:  # a single transfer: its own error (a batch of one is still a batch)
        raise final[0].error
    raise errors.BatchRejected(results=final, cause=cause.error, index=cause.index)


def _write(postings: list[Posting], engine: PostingEngine, *, resolved=()) -> None:
    if not postings:
        return
    postings_write(
        [p.transfer for p in postings],
        [entry for p in postings for entry in p.entries],
        list(engine.touched.values()),
        [*TOTALS, "chain_head"],
    )
    for pending in resolved:
        Transfer.objects.filter(pk=pending.pk).update(status=pending.status)


# --- Pending transfers ---------------------------------------------------------------------


def pending_transfer_post(
    *, pending_id, amount: int | None = None, transfer_id=None, partner=None, acting_user=None
) -> Transfer:
    """Post a pending transfer, fully or partly; a partial post releases the remainder."""
    return _pending_resolve(
        pending_id=pending_id,
        kind=Transfer.Kind.POST_PENDING,
        amount=amount,
        transfer_id=transfer_id,
        partner=partner,
        acting_user=acting_user,
    )


def pending_transfer_void(*, pending_id, transfer_id=None, partner=None, acting_user=None):
    """Void a pending transfer: its whole reservation is released."""
    return _pending_resolve(
        pending_id=pending_id,
        kind=Transfer.Kind.VOID_PENDING,
        transfer_id=transfer_id,
        partner=partner,
        acting_user=acting_user,
    )


def _pending_resolve(*, pending_id, kind, amount=None, transfer_id=None, partner, acting_user):
    pending = (
        Transfer.objects.select_related("debit_account", "credit_account")
        .filter(pk=pending_id)
        .first()
    )
    if pending is None:
        raise errors.TransferNotFound()
    if partner is not None:
        owners = {pending.debit_account.partner_id, pending.credit_account.partner_id}
        if partner.pk not in owners:
            raise errors.TransferNotFound()
        if pending.debit_account.partner_id != partner.pk:
            raise PermissionDenied("Only the debited account's owner may post or void.")
    try:
        with transaction.atomic():
            accounts = accounts_lock([pending.debit_account_id, pending.credit_account_id])
            pending = Transfer.objects.get(pk=pending_id)  # its status, read under the locks
            earlier = _resolution_replay(pending, kind=kind, amount=amount, transfer_id=transfer_id)
            if earlier is not None:
                return earlier
            engine = PostingEngine(accounts, now=timezone.now(), acting_user=acting_user)
            posting = engine.apply_resolution(
                pending, kind=kind, amount=amount, transfer_id=transfer_id
            )
            _write([posting], engine, resolved=[pending])
    except IntegrityError as exc:  # the at-most-once constraint caught a racing resolution
        raise errors.PendingAlreadyResolved() from exc
    return posting.transfer


def _resolution_replay(pending, *, kind, amount, transfer_id) -> Transfer | None:
    """A client-chosen resolution id is idempotent like any transfer id: the same request
    again returns the transfer it made; the id used for anything else is a conflict."""
    if transfer_id is None:
        return None
    earlier = Transfer.objects.filter(pk=transfer_id).first()
    if earlier is None:
        return None
    same_amount = earlier.amount == (pending.amount if amount is None else amount)
    if earlier.pending_id == pending.pk and earlier.kind == kind and same_amount:
        return earlier
    raise errors.TransferExistsWithDifferentFields(details={"id": str(transfer_id)})


def pending_transfers_expire(*, now=None, limit: int = 1000) -> int:
    """Expire pending transfers whose timeout has passed; returns how many expired."""
    now = now or timezone.now()
    due = Transfer.objects.filter(
        status=Transfer.Status.PENDING, expires_at__isnull=False, expires_at__lte=now
    ).values_list("pk", flat=True)[:limit]
    expired = 0
    for pending_id in list(due):
        try:
            _pending_resolve(
                pending_id=pending_id,
                kind=Transfer.Kind.EXPIRE_PENDING,
                partner=None,
                acting_user=None,
            )
            expired += 1
        except errors.PendingAlreadyResolved:
            continue  # posted or voided in the meantime
    return expired


# --- Corrections ---------------------------------------------------------------------------


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


def transfer_reverse(*, transfer: Transfer, acting_user, transfer_id=None, reference=""):
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
            engine = PostingEngine(accounts, now=timezone.now(), acting_user=acting_user)
            posting = engine.apply_reversal(transfer, transfer_id=transfer_id, reference=reference)
            _write([posting], engine)
            audit_record(
                actor=acting_user,
                action="transfer.reverse",
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
