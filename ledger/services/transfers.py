"""New transfers: one, a batch, and ledger_apply (new transfers and hold operations in one
transaction), the call other apps build on."""

import uuid
from dataclasses import dataclass, field

from ledger.models import Transfer
from ledger.posting import TransferRequest
from ledger.services import _apply
from ledger.services._apply import BatchItemResult, LinkedTransferFailed
from ledger.services._holdops import HoldChange, HoldOperation

__all__ = [
    "BatchItemResult",
    "HoldChangeIds",
    "LedgerApplied",
    "LedgerAppliedIds",
    "LinkedTransferFailed",
    "ledger_apply",
    "ledger_apply_bulk",
    "origin_of",
    "transfer_apply",
    "transfer_batch_create",
    "transfer_create",
]


def origin_of(*, partner, origin: str | None) -> str:
    """The origin a call records: the one named, else the partner API for a partner's call
    and the system for anything else."""
    if origin is not None:
        return origin
    return Transfer.Origin.PARTNER_API if partner is not None else Transfer.Origin.SYSTEM


def transfer_create(
    *, request: TransferRequest, partner=None, acting_user=None, origin: str | None = None
) -> Transfer:
    """Apply one transfer, exactly once per id. Retrying with the same id and fields returns
    the original; the same id with other fields (or from another origin) is a conflict.
    `partner`, when given, may debit only its own accounts."""
    return transfer_apply(
        request=request, partner=partner, acting_user=acting_user, origin=origin
    ).transfer


def transfer_apply(
    *, request: TransferRequest, partner=None, acting_user=None, origin: str | None = None
) -> BatchItemResult:
    """transfer_create, also telling whether the id was a replay (the API answers 200
    rather than 201 then)."""
    (result,), _ = _apply.apply(
        [request],
        atomic=True,
        partner=partner,
        acting_user=acting_user,
        origin=origin_of(partner=partner, origin=origin),
        batch=False,
    )
    return result


def transfer_batch_create(
    *,
    requests: list[TransferRequest],
    atomic: bool,
    partner=None,
    acting_user=None,
    origin: str | None = None,
) -> list[BatchItemResult]:
    """Apply up to 1,000 transfers in one transaction. Atomic: all or none (raises
    BatchRejected with per-item results). Independent: each item succeeds or fails alone."""
    results, _ = _apply.apply(
        requests,
        atomic=atomic,
        partner=partner,
        acting_user=acting_user,
        origin=origin_of(partner=partner, origin=origin),
        batch=True,
    )
    return results


@dataclass
class LedgerApplied:
    transfers: list[BatchItemResult] = field(default_factory=list)  # in request order
    holds: list[HoldChange] = field(default_factory=list)  # in operation order


def ledger_apply(
    *,
    origin: str,
    transfers: list[TransferRequest] = (),
    hold_operations: list[HoldOperation] = (),
    acting_user=None,
    batch_id=None,
) -> LedgerApplied:
    """New transfers and hold operations (post, void, shrink: ledger.services.HoldOperation)
    together, all or nothing, in one transaction that locks every touched account once, in
    id order. Hold operations run first, in order, then the transfers: what a release frees
    is there for them. The first refusal raises that operation's or transfer's own error
    (InsufficientFunds, PendingAlreadyResolved, HoldOwnedElsewhere...) and nothing is
    applied. Every transfer records `origin`; an origin outside RELEASES_ANY_HOLD touches
    only the holds it placed. Client ids make the whole call safe to retry: the same call
    again returns what the first made (`replayed` set on each item). `batch_id` (the
    caller's, e.g. a settlement batch's id) is recorded on every new transfer, so the
    caller's batch can be listed from the ledger's side (ledger.selectors.transfers_in_batch)."""
    results, changes = _apply.apply(
        list(transfers),
        list(hold_operations),
        atomic=True,
        partner=None,
        acting_user=acting_user,
        origin=origin,
        batch=False,
        batch_id=batch_id,
    )
    return LedgerApplied(transfers=results, holds=changes)


@dataclass(frozen=True)
class HoldChangeIds:
    """What one hold operation of ledger_apply_bulk did: `hold_id` resolved by
    `resolution_id`; `successor_id` holds what was kept (None if nothing was)."""

    hold_id: uuid.UUID
    resolution_id: uuid.UUID
    successor_id: uuid.UUID | None


@dataclass
class LedgerAppliedIds:
    transfer_ids: list[uuid.UUID] = field(default_factory=list)  # in request order
    holds: list[HoldChangeIds] = field(default_factory=list)  # in operation order


def ledger_apply_bulk(
    *,
    origin: str,
    transfers: list[TransferRequest] = (),
    hold_operations: list[HoldOperation] = (),
    acting_user=None,
    batch_id=None,
) -> LedgerAppliedIds:
    """ledger_apply for sets of hundreds or thousands (a settlement chunk's releases): the
    same rules, locks in id order, rows, hash chain and hold events, all or nothing in one
    transaction, answering with ids instead of Transfer instances (the rows are written
    without building any). Transfers' client ids replay as in ledger_apply; hold operations
    carry none (ValueError): a hold is resolved once, so the same release again is refused
    with PendingAlreadyResolved and the caller's own marks say what it had done."""
    results, changes = _apply.apply(
        list(transfers),
        list(hold_operations),
        atomic=True,
        partner=None,
        acting_user=acting_user,
        origin=origin,
        batch=False,
        batch_id=batch_id,
        light=True,
    )
    return LedgerAppliedIds(
        transfer_ids=[result.transfer.pk for result in results],
        holds=[
            HoldChangeIds(
                hold_id=change.hold.pk,
                resolution_id=change.resolution.pk,
                successor_id=change.successor.pk if change.successor else None,
            )
            for change in changes
        ],
    )
