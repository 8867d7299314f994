"""The ledger's one write pass, behind every public service that moves money: lock every
touched account once (ledger.locking, id order), apply hold operations then new transfers in
the posting engine, write the rows, record the hold events. Private to ledger.services."""

import uuid
from dataclasses import dataclass

from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from ledger import errors
from ledger.hooks import hold_events_record
from ledger.locking import accounts_lock
from ledger.models import Transfer
from ledger.posting import TOTALS, Posting, PostingEngine
from ledger.services import _holdops
from ledger.storage import postings_write, statuses_write, transfer_statuses_read

DEADLOCK_DETECTED = "40P01"


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


class _IdsExist(Exception):
    """A pass without the lookup met ids that exist: redo it with the lookup."""


def apply(
    requests=(), operations=(), **kwargs
) -> tuple[list[BatchItemResult], list[_holdops.HoldChange]]:
    """apply_once; when an all-or-nothing call is refused for insufficient funds and holds
    past their timeout sit on its accounts, those are expired and the call tried once more."""
    try:
        return apply_once(requests, operations, **kwargs)
    except (errors.InsufficientFunds, errors.BatchRejected) as exc:
        cause = exc.cause if isinstance(exc, errors.BatchRejected) else exc
        if not isinstance(cause, errors.InsufficientFunds):
            raise
        refusal = exc
    # A lapsed hold reads as released (readers leave it out) but counts in the totals until
    # the expiry job writes it: money shown as available must be spendable now. One
    # transaction, every account either step touches locked at once in the fixed order, so
    # a refusal still changes nothing.
    ids = {r.debit_account_id for r in requests} | {r.credit_account_id for r in requests}
    with transaction.atomic():
        lapsed = list(
            Transfer.objects.filter(
                Q(debit_account_id__in=ids) | Q(credit_account_id__in=ids),
                status=Transfer.Status.PENDING,
                expires_at__lte=timezone.now(),
            ).values_list("pk", "debit_account_id", "credit_account_id")
        )
        if not lapsed:
            raise refusal
        accounts_lock(ids | {account for _, *pair in lapsed for account in pair})
        for pending_id, *_ in lapsed:
            expiry = _holdops.HoldOperation(
                pending_id=pending_id, action=_holdops.HoldOperation.EXPIRE
            )
            try:
                apply_once(
                    (),
                    [expiry],
                    atomic=True,
                    partner=None,
                    acting_user=None,
                    origin=Transfer.Origin.SYSTEM,
                    batch=False,
                )
            except errors.PendingAlreadyResolved:
                continue  # resolved by another process before our locks
        return apply_once(requests, operations, **kwargs)


def apply_once(
    requests=(),
    operations=(),
    *,
    atomic: bool,
    partner,
    acting_user,
    origin: str,
    batch: bool,
    batch_id: uuid.UUID | None = None,
    light: bool = False,
) -> tuple[list[BatchItemResult], list[_holdops.HoldChange]]:
    """One transaction. Client ids are nearly always new, so the first pass does not look
    them up: a replayed id is refused by the unique key at the insert (or an item fails, and
    we look then), and the pass is redone with the lookup. A concurrent request may still
    insert one of our ids between that lookup and our insert; the key stops it, and the last
    pass answers it as a replay.

    A call with no client ids at all (order entry's hold, the matcher's releases; a
    partner transfer whose id risk checked before its decision: `replay_checked`) can
    replay nothing, so it has nothing to retry: inside the caller's transaction it runs in
    it, without the savepoint a retry needs (two round trips, one of them while the
    accounts are locked). Its refusals are raised before anything is written, and a
    database error aborts the caller's transaction, so nothing half-done can commit."""
    if light and any(op.transfer_id or op.successor_id for op in operations):
        raise ValueError("A light call's hold operations carry no client ids (no replays).")
    holds = (
        _holdops.holds_read(operations, partner=partner, origin=origin, light=light)
        if operations
        else {}
    )
    arguments = dict(
        light=light,
        holds=holds,
        atomic=atomic,
        partner=partner,
        acting_user=acting_user,
        origin=origin,
        batch=batch,
        batch_id=batch_id,
    )
    if connection.in_atomic_block and not _client_ids(requests, operations):
        return _apply_locked(requests, operations, lookup=False, **arguments)
    lookup = False
    for attempt in range(3):
        try:
            with transaction.atomic():
                return _apply_locked(requests, operations, lookup=lookup, **arguments)
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


def _client_ids(requests, operations) -> bool:
    return any(r.id is not None and not r.replay_checked for r in requests) or any(
        op.transfer_id is not None or op.successor_id is not None for op in operations
    )


def _apply_locked(
    requests,
    operations,
    *,
    holds,
    atomic,
    partner,
    acting_user,
    origin,
    batch,
    lookup,
    batch_id,
    light,
):
    account_ids = {r.debit_account_id for r in requests} | {r.credit_account_id for r in requests}
    for hold in holds.values():
        account_ids |= {hold.debit_account_id, hold.credit_account_id}
    accounts = accounts_lock(account_ids)
    engine = PostingEngine(
        accounts, now=timezone.now(), acting_user=acting_user, origin=origin, light=light
    )
    postings, resolved, changes, drafts = [], {}, [], []
    if operations:
        # A hold's status is all of it that can change: read again under the locks, onto the
        # rows read before them (not a second copy of each whole row).
        statuses = transfer_statuses_read(holds)
        for hold in holds.values():
            hold.status = statuses[hold.pk]
        for op in operations:
            hold = holds[op.pending_id]
            change = _holdops.operation_replay(op, hold)
            if change is None:
                change, made = _holdops.operation_apply(engine, op, hold)
                postings += made
                resolved[hold.pk] = hold
                drafts.append(_holdops.event_draft(op, change))
            changes.append(change)

    client_ids = [r.id for r in requests if r.id is not None]
    existing = Transfer.objects.in_bulk(client_ids) if client_ids and lookup else {}
    looked_up = lookup or not client_ids
    if batch_id is None and batch and atomic and len(requests) > 1:
        batch_id = uuid.uuid4()
    partner_id = partner.pk if partner is not None else None
    results = []
    for index, request in enumerate(requests):
        result = BatchItemResult(index=index)
        earlier = existing.get(request.id) if request.id is not None else None
        try:
            if earlier is not None:
                if not request.matches(earlier, origin=origin) or (
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
    write(postings, engine, resolved=resolved.values())
    hold_events_record(drafts=drafts, now=engine.now)
    return results, changes


def _reject_atomic(requests, results, *, batch):
    cause = results[-1]  # the item that failed; the ones before it are undone with it
    if not batch:  # a single transfer, or ledger_apply: the failing transfer's own error
        raise cause.error
    failed = {r.index: r for r in results}
    final = [
        failed.get(i) or BatchItemResult(index=i, error=LinkedTransferFailed())
        for i in range(len(requests))
    ]
    for item in final:  # successes before the failure are undone with the transaction
        if item.error is None:
            item.transfer, item.error = None, LinkedTransferFailed()
    raise errors.BatchRejected(results=final, cause=cause.error, index=cause.index)


def write(postings: list[Posting], engine: PostingEngine, *, resolved=()) -> None:
    if not postings:
        return
    postings_write(
        [p.transfer for p in postings],
        [entry for p in postings for entry in p.entries],
        list(engine.touched.values()),
        [*TOTALS, "chain_head"],
    )
    statuses_write(resolved)
