"""Risk's tiles on the console's dashboard: what waits for review (and for how long), and
unacknowledged risk events."""

from django.db.models import Count, Min, Q
from django.utils import timezone

from core.admin_site import register_dashboard_tile
from risk.models import ReviewCase, RiskEvent

OLDEST_WARN_SECONDS = 15 * 60


@register_dashboard_tile("Risk")
def risk_tiles(request) -> list[dict]:
    waiting = ReviewCase.objects.filter(state__in=["open", "claimed"]).aggregate(
        count=Count("id"), oldest=Min("created_at"), unclaimed=Count("id", filter=Q(state="open"))
    )
    tiles = []
    if waiting["count"]:
        seconds = (timezone.now() - waiting["oldest"]).total_seconds()
        minutes = int(seconds // 60)
        tiles.append(
            {
                "title": "Held for review",
                "value": waiting["count"],
                "hint": f"oldest waiting {minutes} min; {waiting['unclaimed']} unclaimed",
                "status": "warn" if seconds > OLDEST_WARN_SECONDS else "ok",
                "url": "risk/reviewcase/?state__in=open,claimed",
            }
        )
    else:
        tiles.append(
            {"title": "Held for review", "value": 0, "hint": "nothing waits", "status": "ok"}
        )
    events = RiskEvent.objects.filter(acknowledged_at__isnull=True).count()
    tiles.append(
        {
            "title": "Risk events",
            "value": events,
            "hint": "to acknowledge",
            "status": "warn" if events else "ok",
            "url": "risk/riskevent/?acknowledged_at__isempty=1",
        }
    )
    return tiles
