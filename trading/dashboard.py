"""Trading's tiles on the console's dashboard: one aggregate query per tile."""

from django.conf import settings
from django.db.models import Count, F, Sum
from django.utils import timezone

from core.admin_site import register_dashboard_tile
from core.money import format_grouped
from ledger.dashboard import business_day_start
from trading.models import Instrument, MatcherState, Order, Trade
from trading.services.states import ORDER_OPEN_STATUSES

LAG_WARN = 1_000  # accepted orders waiting for the matcher


@register_dashboard_tile("Trading")
def trading_tiles(request) -> list[dict]:
    now = timezone.now()
    since = business_day_start(now)
    return [
        orders_today_tile(since=since),
        trades_today_tile(since=since),
        *notional_today_tiles(since=since),
        open_orders_tile(),
        *matcher_tiles(now=now),
    ]


def _day_query(field: str, since) -> str:
    """The list's date drill-down (date_hierarchy) for that day: it makes the bounds aware."""
    day = since.date()
    return f"{field}__year={day.year}&{field}__month={day.month}&{field}__day={day.day}"


def orders_today_tile(*, since) -> dict:
    return {
        "title": "Orders today",
        "value": Order.objects.filter(created_at__gte=since).count(),
        "hint": f"since 00:00 {settings.BUSINESS_TIME_ZONE}",
        "url": f"trading/order/?{_day_query('created_at', since)}",
    }


def trades_today_tile(*, since) -> dict:
    return {
        "title": "Trades today",
        "value": Trade.objects.filter(executed_at__gte=since).count(),
        "hint": f"since 00:00 {settings.BUSINESS_TIME_ZONE}",
        "url": f"trading/trade/?{_day_query('executed_at', since)}",
    }


def notional_today_tiles(*, since) -> list[dict]:
    """Traded value per instrument today, in its quote asset (price x quantity, exact)."""
    rows = (
        Trade.objects.filter(executed_at__gte=since)
        .values(
            "instrument__symbol", "instrument__quote_asset__scale", "instrument__base_asset__scale"
        )
        .annotate(scaled=Sum(F("price") * F("quantity")), trades=Count("id"))
        .order_by("instrument__symbol")
    )
    return [
        {
            "title": f"Notional {row['instrument__symbol']}",
            "value": format_grouped(
                row["scaled"] // 10 ** row["instrument__base_asset__scale"],
                scale=row["instrument__quote_asset__scale"],
            ),
            "hint": f"today, {row['trades']} trade{'s' if row['trades'] != 1 else ''}",
        }
        for row in rows
    ] or [{"title": "Notional", "value": "none", "hint": "no trades today"}]


def open_orders_tile() -> dict:
    count = Order.objects.filter(status__in=ORDER_OPEN_STATUSES).count()
    return {
        "title": "Open orders",
        "value": count,
        "hint": "accepted, partially filled or held for review",
        "url": "trading/order/?status__in=accepted,partially_filled,held",
    }


def matcher_tiles(*, now) -> list[dict]:
    """One per trading instrument: the matcher's lag, red when it stopped beating (order
    entry refuses that instrument's orders then, outside the embedded default)."""
    silent_after = settings.TRADING_MATCHER_SILENT_SECONDS
    states = {s.instrument_id: s for s in MatcherState.objects.all()}
    tiles = []
    for instrument in Instrument.objects.order_by("symbol"):
        state = states.get(instrument.pk)
        tile = {"title": f"Matcher {instrument.symbol}", "url": "trading/matcherstate/"}
        if state is None or state.heartbeat_at is None:
            inline = settings.TRADING_MATCH_INLINE
            tiles.append(
                {
                    **tile,
                    "value": "inline" if inline else "never ran",
                    "hint": "matched in the request" if inline else "start run_matcher",
                    "status": "ok" if inline else "alert",
                }
            )
            continue
        age = (now - state.heartbeat_at).total_seconds()
        silent = age > silent_after and not settings.TRADING_MATCH_INLINE
        tiles.append(
            {
                **tile,
                "value": f"lag {state.lag}",
                "hint": f"beat {age:.0f} s ago by {state.owner or '?'}",
                "status": "alert" if silent else "warn" if state.lag >= LAG_WARN else "ok",
            }
        )
    return tiles
