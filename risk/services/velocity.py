"""Rebuilding the velocity buckets from stored decisions (after a cache flush or loss)."""

from datetime import timedelta

from django.utils import timezone

from risk.models import Decision
from risk.models.choices import Subject
from risk.velocity import Tally, velocity_buckets, velocity_store


def velocity_rebuild(*, progress=None) -> int:
    """Recount the last 24 hours of decisions into the buckets (the credit counters from
    today's); returns how many decisions were counted."""
    now = timezone.now()
    since = (now - timedelta(hours=24)).replace(minute=0, second=0, microsecond=0)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    rows = Decision.objects.filter(created_at__gte=since).order_by("created_at")
    tallies = []
    for count, (subject, partner_id, facts, at) in enumerate(
        rows.values_list("subject", "partner_id", "facts", "created_at").iterator(2000), 1
    ):
        tallies.append((_tally(subject, str(partner_id), facts, at >= today), at))
        if progress and count % 10_000 == 0:
            progress(f"{count} decisions read")
    velocity_store().write(velocity_buckets(tallies))
    return len(tallies)


def _tally(subject, partner_id, facts, today: bool) -> Tally:
    if subject == Subject.ORDER:
        notional = facts.get("notional", 0)
        credit = notional if today and facts.get("side") == "buy" else 0
        return Tally(
            subject=subject,
            partner=partner_id,
            asset=facts["asset"],
            amount=notional,
            credit=credit,
        )
    return Tally(
        subject=subject,
        partner=partner_id,
        asset=facts["asset"],
        amount=facts["amount"],
        counterparty=facts.get("counterparty"),
    )
