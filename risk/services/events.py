"""Risk events staff acknowledge (post-trade scoring writes them)."""

from django.db import transaction
from django.utils import timezone

from core.services import audit_record
from risk.errors import ReviewCaseConflict
from risk.models import RiskEvent


def risk_event_acknowledge(*, event: RiskEvent, acting_user) -> RiskEvent:
    with transaction.atomic():
        locked = RiskEvent.objects.select_for_update().get(pk=event.pk)
        if locked.acknowledged_at is not None:
            raise ReviewCaseConflict(f"Acknowledged already by {locked.acknowledged_by}.")
        locked.acknowledged_by, locked.acknowledged_at = acting_user, timezone.now()
        locked.save(update_fields=["acknowledged_by", "acknowledged_at"])
        audit_record(actor=acting_user, action="risk.event_acknowledged", target=locked)
        return locked
