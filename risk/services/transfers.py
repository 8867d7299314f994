"""A partner's transfer through risk: allow applies it as asked; review holds its amount as
a pending transfer placed by risk (the partner cannot post or void it) until staff decide;
reject applies nothing. The partner API calls transfer_submit instead of the ledger."""

import dataclasses
import uuid
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from ledger.errors import BatchRejected
from ledger.models import Transfer
from ledger.selectors import transfer_origin
from ledger.services import (
    BatchItemResult,
    LinkedTransferFailed,
    TransferRequest,
    transfer_apply,
    transfer_batch_create,
)
from risk.errors import RiskRejected
from risk.services.decisions import Decision, transfer_decision
from risk.services.scoring import transfer_score_enqueue

RISK = Transfer.Origin.RISK


@dataclass(frozen=True)
class TransferSubmitted:
    transfer: Transfer | None = None
    replayed: bool = False
    held: bool = False
    rejection: RiskRejected | None = None  # answered as it is: raising would undo the Decision


def transfer_submit(*, request: TransferRequest, partner, acting_user=None) -> TransferSubmitted:
    """Decide on a partner's transfer and apply what the decision allows, in one transaction.

    A client id seen before is a replay (or a conflict) of what was applied then, decided
    once: a held transfer replays as held. The id is looked up here, before the decision,
    so the ledger need not look again nor take a savepoint to retry (a round trip more
    while the accounts are locked); a concurrent request with the same id that commits
    first makes our insert fail on the unique key, and ours is then answered as its replay."""
    if request.id is not None:
        origin = transfer_origin(transfer_id=request.id)
        if origin is not None:
            return _replay(request, partner=partner, acting_user=acting_user, origin=origin)
        checked = dataclasses.replace(request, replay_checked=True)
    else:
        checked = dataclasses.replace(request, id=uuid.uuid4(), replay_checked=True)
    try:
        return _decided(checked, partner=partner, acting_user=acting_user)
    except IntegrityError:
        origin = transfer_origin(transfer_id=checked.id) if request.id is not None else None
        if origin is None:
            raise
        return _replay(request, partner=partner, acting_user=acting_user, origin=origin)


def _decided(request: TransferRequest, *, partner, acting_user) -> TransferSubmitted:
    with transaction.atomic():
        decision = transfer_decision(request=request, partner=partner, transfer_id=request.id)
        if decision.outcome == Decision.REJECT:
            return TransferSubmitted(rejection=_rejection(decision))
        if decision.outcome == Decision.REVIEW:
            result = transfer_apply(
                request=held_request(request), partner=partner, acting_user=acting_user, origin=RISK
            )
            return TransferSubmitted(transfer=result.transfer, held=True)
        result = transfer_apply(
            request=request,
            partner=partner,
            acting_user=acting_user,
            origin=Transfer.Origin.PARTNER_API,
        )
        if not request.pending:
            transfer_score_enqueue(transfer_id=result.transfer.pk)
        return TransferSubmitted(transfer=result.transfer, replayed=result.replayed)


def transfer_batch_submit(
    *, requests: list[TransferRequest], atomic: bool, partner, acting_user=None
) -> list[BatchItemResult]:
    """transfer_batch_create with a decision on each new transfer: an item risk rejects, or
    would hold for a review (a batch cannot wait), fails with risk_rejected. An atomic batch
    with such an item applies nothing (BatchRejected, as for any failing item)."""
    known = {r.id for r in requests if r.id is not None}
    seen = set(Transfer.objects.filter(pk__in=known).values_list("pk", flat=True)) if known else ()
    prepared, refused = [], {}
    for index, request in enumerate(requests):
        if request.id is None:
            request = dataclasses.replace(request, id=uuid.uuid4())
        prepared.append(request)
        if request.id in seen:
            continue  # a replay, decided when it was first applied
        decision = transfer_decision(
            request=request, partner=partner, transfer_id=request.id, in_batch=True
        )
        if decision.outcome != Decision.ALLOW:
            refused[index] = _rejection(decision)
    if atomic and refused:
        first = min(refused)
        raise BatchRejected(
            results=[
                BatchItemResult(index=i, error=refused.get(i) or LinkedTransferFailed())
                for i in range(len(prepared))
            ],
            cause=refused[first],
            index=first,
        )
    allowed = [i for i in range(len(prepared)) if i not in refused]
    applied = []
    if allowed:
        applied = transfer_batch_create(
            requests=[prepared[i] for i in allowed],
            atomic=atomic,
            partner=partner,
            acting_user=acting_user,
            origin=Transfer.Origin.PARTNER_API,
        )
    results = {allowed[r.index]: dataclasses.replace(r, index=allowed[r.index]) for r in applied}
    results.update({i: BatchItemResult(index=i, error=error) for i, error in refused.items()})
    return [results[i] for i in range(len(prepared))]


def held_request(request: TransferRequest) -> TransferRequest:
    """The hold risk places for a transfer under review: the whole amount, no timeout."""
    return dataclasses.replace(request, pending=True, timeout_seconds=None)


def _replay(request, *, partner, acting_user, origin) -> TransferSubmitted:
    if origin == RISK:
        result = transfer_apply(
            request=held_request(request), partner=partner, acting_user=acting_user, origin=RISK
        )
        held = result.transfer.status == Transfer.Status.PENDING
        return TransferSubmitted(transfer=result.transfer, replayed=True, held=held)
    result = transfer_apply(
        request=request,
        partner=partner,
        acting_user=acting_user,
        origin=Transfer.Origin.PARTNER_API,
    )
    return TransferSubmitted(transfer=result.transfer, replayed=result.replayed)


def _rejection(decision: Decision) -> RiskRejected:
    return RiskRejected(
        "A risk rule rejected the transfer.",
        details={"rules": list(decision.reasons), "decision": str(decision.decision_id)},
    )


def order_rejection(order) -> RiskRejected | None:
    """The 422 a risk-rejected order is answered with (None: risk did not reject it)."""
    decision = order.risk_decision or {}
    if order.status != "rejected" or decision.get("outcome") != Decision.REJECT:
        return None
    return RiskRejected(
        "A risk rule rejected the order.",
        details={
            "rules": decision.get("reasons", []),
            "order": str(order.id),
            "decision": decision.get("decision"),
        },
    )
