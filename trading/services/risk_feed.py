"""What trading tells risk's post-trade scoring (registered in TradingConfig.ready)."""

from django.db.models import F, Q, Sum

from trading.models import Trade


def trades_since(executed_at, trade_id, limit: int) -> list[dict]:
    trades = Trade.objects.select_related("instrument__base_asset", "buy_order", "sell_order")
    if executed_at is not None:
        trades = trades.filter(
            Q(executed_at__gt=executed_at) | Q(executed_at=executed_at, id__gt=trade_id)
        )
    return [
        {
            "id": t.id,
            "executed_at": t.executed_at,
            "symbol": t.instrument.symbol,
            "quote_asset": t.instrument.quote_asset_id,
            "buy_partner_id": t.buy_order.partner_id,
            "sell_partner_id": t.sell_order.partner_id,
        }
        for t in trades.order_by("executed_at", "id")[:limit]
    ]


def partner_volume_today(partner_id, asset: str, since, until) -> int:
    """The partner's traded notional (either side) in `asset` from `since` to `until` (the
    trade scored), quote minor units (price x quantity, scaled by the base asset)."""
    total = 0
    rows = (
        Trade.objects.filter(
            executed_at__gte=since, executed_at__lte=until, instrument__quote_asset_id=asset
        )
        .filter(Q(buy_order__partner_id=partner_id) | Q(sell_order__partner_id=partner_id))
        .values("instrument__base_asset__scale")
        .annotate(scaled=Sum(F("price") * F("quantity")))
    )
    for row in rows:
        total += row["scaled"] // 10 ** row["instrument__base_asset__scale"]
    return total
