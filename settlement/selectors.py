"""Settlement's reads that more than one caller needs."""

from django.db.models import QuerySet

from settlement.errors import BatchNotFound
from settlement.models import Obligation, SettlementBatch


def batches_unsettled_ids() -> list:
    return list(
        SettlementBatch.objects.exclude(state=SettlementBatch.State.SETTLED).values_list(
            "pk", flat=True
        )
    )


def batch_list_for_partner(*, partner) -> QuerySet[SettlementBatch]:
    """Batches the partner takes part in (it has an obligation in them), newest first."""
    return SettlementBatch.objects.filter(
        pk__in=Obligation.objects.filter(partner=partner).values("batch_id")
    ).order_by("-business_date", "-cycle")


def batch_get_for_partner(*, partner, batch_id) -> SettlementBatch:
    """One of the partner's batches; any other (or none) is not found, alike."""
    batch = batch_list_for_partner(partner=partner).filter(pk=batch_id).first()
    if batch is None:
        raise BatchNotFound()
    return batch


def obligations_of(*, batch: SettlementBatch, partner=None) -> QuerySet[Obligation]:
    obligations = Obligation.objects.filter(batch=batch).select_related("asset")
    if partner is not None:
        obligations = obligations.filter(partner=partner)
    return obligations.order_by("asset_id")
