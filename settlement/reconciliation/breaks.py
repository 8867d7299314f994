"""Staff resolving breaks: matching a bank-only line with ledger-only transfers by hand,
or proposing a correcting adjustment through the ledger's four-eyes flow (the house bank
account against `suspense`); the break resolves when another staff member approves it."""

import uuid

from django.db import transaction
from django.utils import timezone

from core.errors import ValidationFailed
from core.services import audit_record
from ledger.adjustments import adjustment_propose
from ledger.models import Adjustment
from ledger.services import house_account
from settlement.errors import BatchStateConflict
from settlement.models import Break, MatchedTransfer, StatementLine, StatementMatch

SUSPENSE_ACCOUNT = "suspense"


def breaks_match_by_hand(*, breaks: list[Break], acting_user, reason: str) -> StatementMatch:
    """One bank-only break (its line) with the ledger-only breaks' transfers: one match,
    every break resolved. The difference (lines minus transfers) is recorded, not refused:
    staff say why in `reason`."""
    with transaction.atomic():
        locked = list(
            Break.objects.select_for_update().filter(pk__in=[b.pk for b in breaks]).order_by("pk")
        )
        if any(b.status != Break.Status.OPEN for b in locked):
            raise BatchStateConflict("Only open breaks can be matched.")
        lines = [b for b in locked if b.kind == Break.Kind.BANK_ONLY]
        transfers = [b for b in locked if b.kind == Break.Kind.LEDGER_ONLY]
        if len(lines) != 1 or not transfers:
            raise ValidationFailed(
                "Select one bank-only break and the ledger-only breaks that explain it.",
                details={"breaks": ["one bank_only and at least one ledger_only"]},
            )
        (line_break,) = lines
        now = timezone.now()
        match = StatementMatch.objects.create(
            statement=line_break.statement,
            kind=StatementMatch.Kind.MANUAL,
            anchor=f"m{uuid.uuid4().hex}",
            difference=line_break.amount - sum(b.amount for b in transfers),
            created_at=now,
            created_by=acting_user,
        )
        StatementLine.objects.filter(pk=line_break.line_id).update(match=match)
        MatchedTransfer.objects.bulk_create(
            [MatchedTransfer(match=match, transfer_id=b.transfer_id) for b in transfers]
        )
        _resolve(locked, acting_user=acting_user, now=now, resolution=f"matched by hand: {reason}")
        audit_record(
            actor=acting_user,
            action="settlement.breaks_matched",
            target=match,
            after={"breaks": [b.pk for b in locked], "reason": reason},
        )
        return match


def break_adjustment_propose(*, brk: Break, acting_user, reason: str) -> Adjustment:
    """Propose the posting that makes the ledger agree with the bank for a bank-only
    break: money in at the bank debits the house bank account (credit suspense); money out
    credits it. Nothing moves until a second staff member approves the adjustment."""
    with transaction.atomic():
        brk = Break.objects.select_for_update().select_related("statement__account").get(pk=brk.pk)
        if brk.status != Break.Status.OPEN or brk.kind != Break.Kind.BANK_ONLY:
            raise BatchStateConflict("Only an open bank-only break takes an adjustment.")
        bank = brk.statement.account
        suspense = house_account(code=SUSPENSE_ACCOUNT, asset=bank.asset_id)
        debit, credit = (bank, suspense) if brk.amount > 0 else (suspense, bank)
        adjustment = adjustment_propose(
            debit_account=debit,
            credit_account=credit,
            amount=abs(brk.amount),
            reason=f"reconciliation break {brk.pk}: {reason}",
            code="reconciliation",
            acting_user=acting_user,
        )
        brk.status, brk.adjustment = Break.Status.ADJUSTING, adjustment
        brk.save(update_fields=["status", "adjustment"])
        return adjustment


def breaks_adjustments_sync() -> int:
    """Breaks waiting on an adjustment: approved -> the line matched to the adjustment's
    transfer and the break resolved; rejected -> open again. Returns how many changed."""
    changed = 0
    waiting = Break.objects.filter(status=Break.Status.ADJUSTING).select_related("adjustment")
    for brk in waiting:
        state = brk.adjustment.state
        if state == Adjustment.State.PROPOSED:
            continue
        with transaction.atomic():
            locked = Break.objects.select_for_update().get(pk=brk.pk)
            if locked.status != Break.Status.ADJUSTING:
                continue
            if state == Adjustment.State.REJECTED:
                locked.status, locked.adjustment = Break.Status.OPEN, None
                locked.save(update_fields=["status", "adjustment"])
            else:
                now = timezone.now()
                match = StatementMatch.objects.create(
                    statement_id=locked.statement_id,
                    kind=StatementMatch.Kind.MANUAL,
                    anchor=f"m{uuid.uuid4().hex}",
                    created_at=now,
                    created_by=brk.adjustment.decided_by,
                )
                StatementLine.objects.filter(pk=locked.line_id).update(match=match)
                MatchedTransfer.objects.create(match=match, transfer_id=brk.adjustment.transfer_id)
                _resolve(
                    [locked],
                    acting_user=brk.adjustment.decided_by,
                    now=now,
                    resolution=f"adjustment {brk.adjustment.pk} approved",
                )
            changed += 1
    return changed


def _resolve(breaks, *, acting_user, now, resolution: str) -> None:
    Break.objects.filter(pk__in=[b.pk for b in breaks]).update(
        status=Break.Status.RESOLVED,
        resolved_at=now,
        resolved_by=acting_user,
        resolution=resolution[:255],
    )
