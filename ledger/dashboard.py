"""The ledger's tiles on the console's dashboard: one aggregate query per tile, never per row."""

from datetime import datetime, time
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, F, Max, Q, Sum
from django.utils import timezone
from django.utils.timesince import timesince

from core.admin_site import register_dashboard_tile
from core.money import format_grouped
from ledger.models import Account, Adjustment, LedgerCheckRun, Transfer

CREDIT_NORMAL_KINDS = (Account.Kind.LIABILITY, Account.Kind.EQUITY, Account.Kind.INCOME)


@register_dashboard_tile("Ledger")
def ledger_tiles(request) -> list[dict]:
    now = timezone.now()
    return [
        *partner_balance_tiles(),
        transfers_today_tile(now=now),
        pending_transfers_tile(now=now),
        adjustments_awaiting_tile(),
        last_check_tile(now=now),
    ]


def partner_balance_tiles() -> list[dict]:
    """What the firm holds for partners, per asset: the sum of their posted balances."""
    credit_normal = Q(kind__in=CREDIT_NORMAL_KINDS)
    rows = (
        Account.objects.filter(partner__isnull=False)
        .values("asset_id", "asset__scale")
        .annotate(
            credit_normal_net=Sum(F("credits_posted") - F("debits_posted"), filter=credit_normal),
            debit_normal_net=Sum(F("debits_posted") - F("credits_posted"), filter=~credit_normal),
            accounts=Count("id"),
        )
        .order_by("asset_id")
    )
    tiles = [
        {
            "title": f"Partner balances {row['asset_id']}",
            "value": format_grouped(
                (row["credit_normal_net"] or 0) + (row["debit_normal_net"] or 0),
                scale=row["asset__scale"],
            ),
            "hint": f"posted, {row['accounts']} account{'s' if row['accounts'] != 1 else ''}",
            "url": f"ledger/account/?partner__isnull=False&asset__code__exact={row['asset_id']}",
        }
        for row in rows
    ]
    return tiles or [{"title": "Partner balances", "value": "none", "hint": "no accounts yet"}]


def business_day_start(now: datetime) -> datetime:
    """Midnight of today in the firm's business time zone."""
    zone = ZoneInfo(settings.BUSINESS_TIME_ZONE)
    return datetime.combine(now.astimezone(zone).date(), time.min, tzinfo=zone)


def transfers_today_tile(*, now: datetime) -> dict:
    since = business_day_start(now)
    count = Transfer.objects.filter(created_at__gte=since).count()
    return {
        "title": "Transfers today",
        "value": count,
        "hint": f"since 00:00 {settings.BUSINESS_TIME_ZONE}",
        "url": f"ledger/transfer/?created_from={since.date().isoformat()}",
    }


def pending_transfers_tile(*, now: datetime) -> dict:
    """Live holds and what they reserve. A hold past its timeout reserves nothing any more
    (it reads expired); while the expiry job has not resolved it, the tile says so and
    links to the job, to run it now."""
    live = Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    rows = list(
        Transfer.objects.filter(status=Transfer.Status.PENDING)
        .values("asset_id", "asset__scale")
        .annotate(
            count=Count("id", filter=live),
            total=Sum("amount", filter=live),
            overdue=Count("id", filter=Q(expires_at__lte=now)),
        )
        .order_by("asset_id")
    )
    count = sum(row["count"] for row in rows)
    overdue = sum(row["overdue"] for row in rows)
    totals = ", ".join(
        f"{row['asset_id']} {format_grouped(row['total'], scale=row['asset__scale'])}"
        for row in rows
        if row["count"]
    )
    hint = totals or "none held"
    if overdue:
        hint += f"; {overdue} past its timeout, not yet expired: run the expiry job"
    return {
        "title": "Pending transfers",
        "value": count,
        "hint": hint,
        "status": "warn" if overdue else "ok",
        "url": "core/jobrun/" if overdue else "ledger/transfer/?hold=open",
    }


def adjustments_awaiting_tile() -> dict:
    count = Adjustment.objects.filter(state=Adjustment.State.PROPOSED).count()
    return {
        "title": "Adjustments awaiting approval",
        "value": count,
        "hint": "four-eyes: approve someone else's" if count else "nothing to approve",
        "status": "warn" if count else "ok",
        "url": "ledger/adjustment/?state__exact=proposed",
    }


def last_check_tile(*, now: datetime) -> dict:
    """Red while any failed run (invariants or chain) waits to be acknowledged: a later
    passing run does not clear it. Otherwise, when each kind last ran. One query."""
    unacknowledged = Q(ok=False, acknowledged_by__isnull=True)
    kinds = LedgerCheckRun.Kind
    runs = LedgerCheckRun.objects.aggregate(
        failed=Count("id", filter=unacknowledged),
        last_failed=Max("started_at", filter=unacknowledged),
        **{kind.value: Max("started_at", filter=Q(kind=kind)) for kind in kinds},
    )
    tile = {"title": "Ledger checks", "url": "ledger/ledgercheckrun/"}
    if runs["failed"]:
        count = runs["failed"]
        return {
            **tile,
            "value": f"{count} failed run{'s' if count != 1 else ''}",
            "hint": f"last {timesince(runs['last_failed'], now)} ago; acknowledge once looked into",
            "status": "alert",
            "url": "ledger/ledgercheckrun/?ok__exact=0&acknowledged_by__isnull=True",
        }
    never = [kind.label.lower() for kind in kinds if runs[kind.value] is None]
    if never:
        return {
            **tile,
            "value": "never run" if len(never) == len(kinds) else "OK",
            "hint": f"{' and '.join(never)} never run (ledger_check, ledger_verify)",
            "status": "warn",
        }
    hint = "; ".join(
        f"{kind.label.lower()} {timesince(runs[kind.value], now)} ago" for kind in kinds
    )
    return {**tile, "value": "OK", "hint": hint, "status": "ok"}
