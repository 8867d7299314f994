"""Operations on holds (pending transfers) inside the ledger's one write pass
(ledger.services._apply): who may release a hold, replays, and shrinking.

A hold is resolved once (posted, voided or expired). Making it smaller, or posting part of it
while the rest stays held, resolves it and holds the rest again as a new pending transfer
that names it (`replaces`), in the same transaction under the same locks: see
docs/architecture.md, "Holds".
"""

import uuid
from dataclasses import dataclass

from core.errors import PermissionDenied
from ledger import errors
from ledger.hooks import HoldEventDraft
from ledger.models import HoldEvent, Transfer
from ledger.posting import Posting, PostingEngine
from ledger.storage import transfers_read

# Origins that may release a hold another origin placed: settlement posts what orders held,
# staff correct, the system's jobs expire. Any other origin releases only its own holds.
RELEASES_ANY_HOLD = frozenset(
    {Transfer.Origin.SETTLEMENT, Transfer.Origin.STAFF, Transfer.Origin.SYSTEM}
)


@dataclass(frozen=True)
class HoldOperation:
    """Post or void the hold `pending_id`, keeping `keep` of it held (0: keep nothing).

    - post: `amount` posts (default: all that is not kept); what is neither posted nor kept
      is released. Posting part and keeping the rest is how a fill settles while its order
      stays open.
    - void with keep > 0: a shrink; `keep` stays held, the rest is released.
    `transfer_id` / `successor_id` are client ids of the resolving transfer and of the hold
    that keeps the rest: with them, the same operation again is a replay.
    """

    POST = "post"
    VOID = "void"
    EXPIRE = "expire"  # the sweep job's

    pending_id: uuid.UUID
    action: str
    amount: int | None = None
    keep: int = 0
    transfer_id: uuid.UUID | None = None
    successor_id: uuid.UUID | None = None
    origin_ref: str = ""

    @property
    def kind(self) -> str:
        return _RESOLUTION_KINDS[self.action]

    def posted_amount(self, pending: Transfer) -> int | None:
        if self.action != self.POST:
            return None
        return self.amount if self.amount is not None else pending.amount - self.keep


_RESOLUTION_KINDS = {
    HoldOperation.POST: Transfer.Kind.POST_PENDING,
    HoldOperation.VOID: Transfer.Kind.VOID_PENDING,
    HoldOperation.EXPIRE: Transfer.Kind.EXPIRE_PENDING,
}


@dataclass
class HoldChange:
    """What a hold operation did: `hold` resolved by `resolution`; `successor` holds what
    was kept (None if nothing was). `replayed`: the same operation had been done before."""

    hold: Transfer
    resolution: Transfer
    successor: Transfer | None = None
    replayed: bool = False


def holds_read(operations, *, partner, origin, light=False) -> dict[uuid.UUID, Transfer]:
    """The holds the operations name, each checked for who may touch it; before any lock
    (none of what is checked here ever changes). `light`: as ledger.rows stand-ins."""
    ids = {op.pending_id for op in operations}
    if partner is not None:
        query = Transfer.objects.filter(pk__in=ids)
        holds = query.select_related("debit_account", "credit_account").in_bulk()
    else:
        holds = transfers_read(ids, light=light)
    for op in operations:
        hold = holds.get(op.pending_id)
        if hold is None:
            raise errors.TransferNotFound()
        if partner is not None:
            owners = {hold.debit_account.partner_id, hold.credit_account.partner_id}
            if partner.pk not in owners:
                raise errors.TransferNotFound()
        holder_check(hold, origin=origin)
        if partner is not None and hold.debit_account.partner_id != partner.pk:
            raise PermissionDenied("Only the debited account's owner may post or void.")
    return holds


def holder_check(hold: Transfer, *, origin: str) -> None:
    """Only the origin that placed a hold releases it (or one of RELEASES_ANY_HOLD)."""
    if hold.kind != Transfer.Kind.PENDING or origin in RELEASES_ANY_HOLD:
        return
    if hold.origin != origin:
        raise errors.HoldOwnedElsewhere(
            details={"holder": {"origin": hold.origin, "ref": hold.origin_ref}}
        )


def operation_apply(
    engine: PostingEngine, op: HoldOperation, hold: Transfer
) -> tuple[HoldChange, list[Posting]]:
    """Apply `op` to `hold` (read under the accounts' locks) in the engine: the resolution,
    and the successor if part is kept. Raises the precise error on any refusal."""
    if op.keep < 0:
        raise errors.KeepNotLessThanHeld("Must not be negative.")
    posting = engine.apply_resolution(
        hold,
        kind=op.kind,
        amount=op.posted_amount(hold),
        transfer_id=op.transfer_id,
        origin_ref=op.origin_ref,
    )
    postings = [posting]
    # A post may keep all it does not post; a void must release something (else: no-op).
    most = hold.amount - posting.transfer.amount if op.action == op.POST else hold.amount - 1
    if op.keep > most:
        raise errors.KeepNotLessThanHeld()
    change = HoldChange(hold=hold, resolution=posting.transfer)
    if op.keep:
        successor = engine.apply_successor(hold, amount=op.keep, successor_id=op.successor_id)
        postings.append(successor)
        change.successor = successor.transfer
    return change, postings


def operation_replay(op: HoldOperation, hold: Transfer) -> HoldChange | None:
    """If the operation's client ids exist, the change they made (the same operation again)
    or a conflict (the ids name something else). None if they name nothing yet."""
    resolution = Transfer.objects.filter(pk=op.transfer_id).first() if op.transfer_id else None
    successor = Transfer.objects.filter(pk=op.successor_id).first() if op.successor_id else None
    if resolution is None and successor is None:
        return None
    resolution = resolution or Transfer.objects.filter(pending=hold).first()
    successor = successor or Transfer.objects.filter(replaces=hold).first()
    wanted = op.posted_amount(hold) or hold.amount
    same = (
        resolution is not None
        and resolution.pending_id == hold.pk
        and resolution.kind == op.kind
        and resolution.amount == wanted
        and op.transfer_id in (None, resolution.pk)
    )
    if op.keep:
        same = same and (
            successor is not None
            and successor.replaces_id == hold.pk
            and successor.amount == op.keep
            and op.successor_id in (None, successor.pk)
        )
    elif successor is not None and successor.replaces_id == hold.pk:
        same = False
    if not same:
        raise errors.TransferExistsWithDifferentFields(
            details={"id": str(op.transfer_id or op.successor_id)}
        )
    return HoldChange(hold=hold, resolution=resolution, successor=successor, replayed=True)


def event_draft(op: HoldOperation, change: HoldChange) -> HoldEventDraft:
    if op.action == op.POST:
        kind = HoldEvent.Change.POSTED
    elif op.action == op.EXPIRE:
        kind = HoldEvent.Change.EXPIRED
    else:
        kind = HoldEvent.Change.SHRUNK if change.successor else HoldEvent.Change.VOIDED
    return HoldEventDraft(
        hold=change.hold,
        change=kind,
        resolution_id=change.resolution.pk,
        successor_id=change.successor.pk if change.successor else None,
    )
