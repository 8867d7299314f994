"""Manual adjustments (bank deposits, corrections) under four-eyes control."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.errors import ValidationFailed
from core.services import audit_record, snapshot
from ledger import errors
from ledger.locking import adjustment_lock
from ledger.models import Account, Adjustment, Transfer
from ledger.posting import TransferRequest
from ledger.services import (
    house_accounts_ensure,
    ledger_apply,
    transfer_reverse,
    transfer_reversible_check,
)


def adjustment_validate(*, debit_account: Account, credit_account: Account, amount, reason) -> None:
    """The rules of a proposal, for the service and for the console's form alike. Raises a
    domain error whose details map each field to its messages."""
    if amount is not None and amount <= 0:
        raise ValidationFailed(details={"amount": ["Must be greater than zero."]})
    if debit_account.pk == credit_account.pk:
        raise errors.AccountsMustDiffer(
            details={"credit_account": ["Must differ from the debit account."]}
        )
    if debit_account.asset_id != credit_account.asset_id:
        raise errors.AssetMismatch(
            details={"credit_account": [f"Must hold {debit_account.asset_id}, as the debit does."]}
        )
    if reason is not None and not reason.strip():
        raise ValidationFailed(details={"reason": ["Say why."]})


@transaction.atomic
def adjustment_propose(
    *,
    debit_account: Account,
    credit_account: Account,
    amount: int,
    reason: str,
    acting_user,
    code: str = "adjustment",
) -> Adjustment:
    """Record a proposed posting; nothing moves until another staff user approves it."""
    adjustment_validate(
        debit_account=debit_account, credit_account=credit_account, amount=amount, reason=reason
    )
    return _proposal_record(
        acting_user=acting_user,
        debit_account=debit_account,
        credit_account=credit_account,
        amount=amount,
        code=code,
        reason=reason,
    )


def adjustment_reversal_propose(*, transfer: Transfer, reason: str, acting_user) -> Adjustment:
    """Propose moving a posted transfer's money back; another staff user approves it (which
    posts the reversal) or rejects it. At most one such proposal per transfer is open."""
    transfer_reversible_check(transfer)
    if not (reason or "").strip():
        raise ValidationFailed("Give a reason for the reversal.", details={"reason": ["Say why."]})
    try:
        with transaction.atomic():
            return _proposal_record(
                acting_user=acting_user,
                debit_account_id=transfer.credit_account_id,
                credit_account_id=transfer.debit_account_id,
                amount=transfer.amount,
                code="reversal",
                reason=reason,
                reverses=transfer,
            )
    except IntegrityError as exc:  # the one-open-proposal constraint
        raise errors.ReversalAlreadyProposed() from exc


def _proposal_record(*, acting_user, **fields) -> Adjustment:
    adjustment = Adjustment.objects.create(proposed_by=acting_user, **fields)
    audit_record(
        actor=acting_user,
        action="adjustment.proposed",
        target=adjustment,
        after=snapshot(adjustment),
    )
    return adjustment


def adjustment_approve(*, adjustment: Adjustment, acting_user, reason: str = "") -> Adjustment:
    """Approve and post, in one transaction. The proposer can never approve their own."""
    with transaction.atomic():
        locked = _lock_proposed(adjustment, acting_user)
        if locked.reverses_id is not None:
            locked.transfer = transfer_reverse(
                transfer=locked.reverses,
                transfer_id=locked.pk,  # the adjustment's id: it can post at most once
                reference=f"adjustment {locked.pk}",
                acting_user=acting_user,
                origin=Transfer.Origin.STAFF,
            )
            _decide(locked, Adjustment.State.APPROVED, acting_user, reason)
            return locked
        request = TransferRequest(
            id=locked.pk,  # the adjustment's id: it can post at most once
            debit_account_id=locked.debit_account_id,
            credit_account_id=locked.credit_account_id,
            amount=locked.amount,
            asset=locked.debit_account.asset_id,
            code=locked.code,
            reference=f"adjustment {locked.pk}",
            metadata={"reason": locked.reason, "proposed_by": locked.proposed_by_id},
        )
        applied = ledger_apply(
            transfers=[request], origin=Transfer.Origin.STAFF, acting_user=acting_user
        )
        locked.transfer = applied.transfers[0].transfer
        _decide(locked, Adjustment.State.APPROVED, acting_user, reason)
    return locked


@transaction.atomic
def adjustment_reject(*, adjustment: Adjustment, acting_user, reason: str = "") -> Adjustment:
    locked = _lock_proposed(adjustment, acting_user)
    _decide(locked, Adjustment.State.REJECTED, acting_user, reason)
    return locked


def _lock_proposed(adjustment: Adjustment, acting_user) -> Adjustment:
    locked = adjustment_lock(adjustment.pk)
    if locked.state != Adjustment.State.PROPOSED:
        raise errors.AccountStatusConflict(
            f"The adjustment is already {locked.state}.", details={"reason": "already_decided"}
        )
    adjustment_four_eyes_check(adjustment=locked, acting_user=acting_user)
    return locked


def adjustment_four_eyes_check(*, adjustment: Adjustment, acting_user) -> None:
    """Nobody decides (approves or rejects) their own proposal."""
    if adjustment.proposed_by_id == acting_user.pk:
        raise errors.FourEyesViolation()


def _decide(adjustment: Adjustment, state: str, acting_user, reason: str) -> None:
    adjustment.state = state
    adjustment.decided_by = acting_user
    adjustment.decided_at = timezone.now()
    adjustment.save(update_fields=["state", "decided_by", "decided_at", "transfer"])
    audit_record(
        actor=acting_user,
        action=f"adjustment.{state}",
        target=adjustment,
        before={"state": Adjustment.State.PROPOSED},
        after={"state": state, "transfer": str(adjustment.transfer_id or ""), "reason": reason},
    )


BANK_DIRECTIONS = ("deposit", "withdrawal")
BANK_ACCOUNT = "settlement_bank"  # the house account that mirrors the firm's bank


def adjustment_bank_movement_propose(
    *, account: Account, direction: str, amount: int, reason: str, acting_user
) -> Adjustment:
    """Propose a bank deposit (the firm's bank account is debited, the partner's account
    credited) or withdrawal (the other way round), for four-eyes approval as any other."""
    if direction not in BANK_DIRECTIONS:
        raise ValidationFailed(details={"direction": ["deposit or withdrawal."]})
    bank = house_accounts_ensure(asset=account.asset_id, acting_user=acting_user)[BANK_ACCOUNT]
    debit, credit = (bank, account) if direction == "deposit" else (account, bank)
    return adjustment_propose(
        debit_account=debit,
        credit_account=credit,
        amount=amount,
        reason=reason,
        code=direction,
        acting_user=acting_user,
    )
