"""The review queue: held orders and transfers wait for a person. Claiming takes the
oldest open case nobody else holds (SELECT ... FOR UPDATE SKIP LOCKED: two staff never get
the same one); approving lets the subject go on (an order into the book, a transfer
posted), rejecting releases what it held (the transfer reads `rejected`). Every step is
audited in its transaction."""

from django.db import transaction
from django.utils import timezone

from core.errors import Conflict
from core.services import audit_record
from ledger.models import Transfer
from ledger.services import pending_transfer_post, pending_transfer_void
from risk.errors import ReviewCaseConflict
from risk.hooks import held_subjects
from risk.models import ReviewCase
from risk.models.choices import Subject
from risk.services.scoring import transfer_score_enqueue

S = ReviewCase.State


def review_claim_next(*, acting_user) -> ReviewCase | None:
    """Claim the oldest open case for `acting_user` (None when the queue is empty)."""
    with transaction.atomic():
        case = (
            ReviewCase.objects.select_for_update(skip_locked=True)
            .filter(state=S.OPEN)
            .order_by("created_at", "id")
            .first()
        )
        if case is None:
            return None
        case.state, case.claimed_by, case.claimed_at = S.CLAIMED, acting_user, timezone.now()
        case.save(update_fields=["state", "claimed_by", "claimed_at"])
        audit_record(actor=acting_user, action="risk.case_claimed", target=case)
        return case


def review_approve(*, case: ReviewCase, acting_user, reason: str = "") -> ReviewCase:
    return _decide(case, acting_user=acting_user, state=S.APPROVED, reason=reason)


def review_reject(*, case: ReviewCase, acting_user, reason: str) -> ReviewCase:
    if not reason.strip():
        raise ReviewCaseConflict("Say why it is rejected.")
    return _decide(case, acting_user=acting_user, state=S.REJECTED, reason=reason)


def review_note(*, case: ReviewCase, acting_user, note: str) -> ReviewCase:
    with transaction.atomic():
        locked = ReviewCase.objects.select_for_update().get(pk=case.pk)
        stamp = timezone.now().strftime("%Y-%m-%d %H:%M UTC")
        locked.notes = f"{locked.notes}\n[{stamp} {acting_user}] {note}".strip()
        locked.save(update_fields=["notes"])
        audit_record(
            actor=acting_user, action="risk.case_noted", target=locked, after={"note": note}
        )
        return locked


def _decide(case, *, acting_user, state, reason) -> ReviewCase:
    with transaction.atomic():
        locked = ReviewCase.objects.select_for_update().get(pk=case.pk)
        if not locked.waiting:
            raise ReviewCaseConflict(f"The case is {locked.state} already.")
        if locked.state == S.CLAIMED and locked.claimed_by_id != acting_user.pk:
            raise ReviewCaseConflict(f"{locked.claimed_by} has claimed this case.")
        try:
            with transaction.atomic():
                _subject_decide(locked, acting_user=acting_user, state=state, reason=reason)
        except Conflict as exc:  # no longer held (the partner cancelled the order meanwhile)
            state, reason = S.WITHDRAWN, f"no longer held: {exc.message}"
        before = locked.state
        locked.state, locked.reason = state, reason[:255]
        locked.decided_by, locked.decided_at = acting_user, timezone.now()
        locked.save(update_fields=["state", "reason", "decided_by", "decided_at"])
        audit_record(
            actor=acting_user,
            action=f"risk.case_{state}",
            target=locked,
            before={"state": before},
            after={"state": state, "reason": reason},
        )
        return locked


def _subject_decide(case, *, acting_user, state, reason) -> None:
    if case.subject == Subject.TRANSFER:
        _transfer_decide(case, acting_user=acting_user, approve=state == S.APPROVED)
        return
    handlers = held_subjects.of(case.subject)
    if state == S.APPROVED:
        handlers.approve(case.subject_id, acting_user)
    else:
        handlers.reject(case.subject_id, acting_user, reason)


def _transfer_decide(case, *, acting_user, approve: bool) -> None:
    resolve = pending_transfer_post if approve else pending_transfer_void
    resolve(pending_id=case.subject_id, acting_user=acting_user, origin=Transfer.Origin.RISK)
    if approve:
        transfer_score_enqueue(transfer_id=case.subject_id)
