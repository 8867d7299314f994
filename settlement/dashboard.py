"""Settlement's tiles on the console's dashboard: today's batch, what is not posted, open
reconciliation breaks and the oldest one's age. One small query each."""

from django.db.models import Min
from django.utils import timezone

from core.admin_site import register_dashboard_tile
from settlement.models import Break, Obligation, SettlementBatch
from settlement.services.windows import batch_open_current, business_date_of

STATE_STATUS = {"failed": "alert", "open": "ok", "settled": "ok"}
BREAK_AGE_WARN_DAYS = 2


@register_dashboard_tile("Settlement")
def settlement_tiles(request) -> list[dict]:
    today = business_date_of(timezone.now())
    return [batch_today_tile(today), unsettled_tile(), *breaks_tiles(today)]


def batch_today_tile(today) -> dict:
    batches = SettlementBatch.objects.filter(business_date=today).order_by("-cycle")
    latest = batches.first()
    failed = SettlementBatch.objects.filter(state=SettlementBatch.State.FAILED).count()
    collecting = batch_open_current()
    past_cutoff = collecting is not None and collecting.business_date > today
    if latest is None:
        value = "none"
        hint = "no trade before today's cutoff" if past_cutoff else "opens with the first trade"
    else:
        value = latest.get_state_display()
        hint = f"#{latest.cycle}, cutoff {timezone.localtime(latest.cutoff):%H:%M}"
    if past_cutoff:
        hint += f"; trades now go to {collecting.business_date} #{collecting.cycle}"
    return {
        "title": f"Batch {today}",
        "value": value,
        "hint": f"{hint}; {failed} failed batch(es)" if failed else hint,
        "status": "alert" if failed else STATE_STATUS.get(getattr(latest, "state", "open"), "warn"),
        "url": "settlement/settlementbatch/",
    }


def unsettled_tile() -> dict:
    unposted = Obligation.objects.exclude(status=Obligation.Status.POSTED)
    failed = unposted.filter(status=Obligation.Status.FAILED).count()
    return {
        "title": "Unsettled obligations",
        "value": unposted.count(),
        "hint": f"{failed} failed" if failed else "none failed",
        "status": "alert" if failed else "ok",
        "url": "settlement/obligation/" + ("?status__exact=failed" if failed else ""),
    }


def breaks_tiles(today) -> list[dict]:
    open_breaks = Break.objects.exclude(status=Break.Status.RESOLVED)
    summary = open_breaks.aggregate(oldest=Min("value_date"))
    count = open_breaks.count()
    age = (today - summary["oldest"]).days if summary["oldest"] else 0
    return [
        {
            "title": "Open breaks",
            "value": count,
            "hint": f"oldest {age} day(s)" if count else "reconciled",
            "status": "warn" if count and age >= BREAK_AGE_WARN_DAYS else "ok",
            "url": "settlement/break/?status__exact=open",
        }
    ]
