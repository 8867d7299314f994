"""Clearing: a closed batch's trades netted per partner and asset into obligations, and
what each order's fills consumed of its hold, in set-based SQL (one pass over the trades
into a temporary table per order, then two INSERT ... SELECT from it; no Python loop),
checked in the same transaction: obligations sum to zero per asset, the legs count four
per trade, and what the holds give up equals what the obligations pay. A mismatch fails
the batch loudly and keeps nothing.

Per trade (price in quote minor units per whole base unit, quantity in base minor units):
the buyer receives `quantity` of the base asset and pays `price * quantity // 10**scale`
of the quote asset (the notional, rounded as the matcher rounds each fill's consumption);
the seller the other way round.
"""

import structlog
from django.db import connection, transaction
from django.db.models import Count, Q, Sum

from settlement.errors import BatchStateConflict, ClearingMismatch
from settlement.models import HoldRelease, Obligation, SettlementBatch
from settlement.sql import db_uuid, temp_table
from settlement.states import batch_state_set
from trading.models import Instrument, Order, Trade

logger = structlog.get_logger(__name__)
S = SettlementBatch.State


PER_ORDER = "clearing_per_order"


def per_order_sql(divisors: dict[int, int]) -> str:
    """Each order's fills in the batch: quantity, notional, count. One pass over the
    batch's trades (each trade once as its buy and once as its sell), no other join."""
    # Integers from our own rows, inlined (a CASE: SQLite has no VALUES with column names).
    cases = " ".join(f"WHEN {int(i)} THEN {int(d)}" for i, d in divisors.items()) or "WHEN 0 THEN 1"
    notional = f"(tr.price * tr.quantity) / (CASE tr.instrument_id {cases} END)"
    fills = (
        f"SELECT tr.{{side}}_order_id AS order_id, tr.instrument_id AS instrument_id,"
        f" tr.quantity AS quantity, {notional} AS notional"
        f" FROM {Trade._meta.db_table} tr WHERE tr.settlement_batch_id = %s"
    )
    return temp_table(
        PER_ORDER,
        f"SELECT f.order_id AS order_id, f.instrument_id AS instrument_id,"
        f" SUM(f.quantity) AS quantity, SUM(f.notional) AS notional, COUNT(*) AS fills"
        f" FROM ({fills.format(side='buy')} UNION ALL {fills.format(side='sell')}) f"
        f" GROUP BY f.order_id, f.instrument_id",
    )


_ORDERS = (
    f"FROM {PER_ORDER} p JOIN {Order._meta.db_table} o ON o.id = p.order_id"
    f" JOIN {Instrument._meta.db_table} i ON i.id = p.instrument_id"
)


def releases_sql() -> str:
    """What each order's fills consumed of its hold: a buy's notional, a sell's quantity."""
    return f"""
    INSERT INTO {HoldRelease._meta.db_table} (batch_id, order_id, partner_id, asset_id,
        amount, released)
    SELECT %s, p.order_id, o.partner_id,
        CASE WHEN o.side = 'buy' THEN i.quote_asset_id ELSE i.base_asset_id END,
        CASE WHEN o.side = 'buy' THEN p.notional ELSE p.quantity END, FALSE
    {_ORDERS}"""


def obligations_sql() -> str:
    """Per partner and asset: a buy receives the base and pays the quote, a sell the
    other way round; each order's two legs carry its fill count."""
    return f"""
    INSERT INTO {Obligation._meta.db_table} (batch_id, partner_id, asset_id, net_amount,
        paid_gross, received_gross, legs, status, error_code, error_message)
    SELECT %s, partner, asset, SUM(amount),
           SUM(CASE WHEN amount < 0 THEN -amount ELSE 0 END),
           SUM(CASE WHEN amount > 0 THEN amount ELSE 0 END), SUM(fills), 'pending', '', ''
    FROM (
        SELECT o.partner_id AS partner, i.base_asset_id AS asset, p.fills AS fills,
            CASE WHEN o.side = 'buy' THEN p.quantity ELSE -p.quantity END AS amount
        {_ORDERS}
        UNION ALL
        SELECT o.partner_id, i.quote_asset_id, p.fills,
            CASE WHEN o.side = 'buy' THEN -p.notional ELSE p.notional END
        {_ORDERS}
    ) legs GROUP BY partner, asset"""


def _divisors(batch: SettlementBatch) -> dict[int, int]:
    ids = Trade.objects.filter(settlement_batch_id=batch.pk).values("instrument_id").distinct()
    return {
        instrument.pk: 10**instrument.base_asset.scale
        for instrument in Instrument.objects.filter(pk__in=ids).select_related("base_asset")
    }


def batch_clear(*, batch: SettlementBatch, via: str, acting_user=None) -> SettlementBatch:
    """Clear a closed batch (or retry one whose clearing failed). A cleared or settled
    batch is returned as it is: safe to run twice. Raises ClearingMismatch after recording
    the failure."""
    with transaction.atomic():
        batch = SettlementBatch.objects.select_for_update().get(pk=batch.pk)
        if batch.state in (S.CLEARED, S.SETTLED):
            return batch
        if batch.state == S.FAILED and batch.failed_step == "clear":
            batch_state_set(batch, to=S.CLOSED, via=via, acting_user=acting_user, reason="retry")
        if batch.state != S.CLOSED:
            raise BatchStateConflict(f"Only a closed batch clears; this one is {batch.state}.")
        try:
            with transaction.atomic():
                summary = _net_and_check(batch)
        except ClearingMismatch as exc:
            logger.error("settlement_clearing_mismatch", batch=str(batch.pk), **exc.details)
            batch_state_set(
                batch,
                to=S.FAILED,
                via=via,
                acting_user=acting_user,
                reason=exc.message,
                details=exc.details,
                failed_step="clear",
            )
            failure = exc
        else:
            batch.trade_count = summary["trades"]
            batch.save(update_fields=["trade_count"])
            batch_state_set(batch, to=S.CLEARED, via=via, acting_user=acting_user, details=summary)
            return batch
    raise failure


def _net_and_check(batch: SettlementBatch) -> dict:
    batch_param = db_uuid(batch.pk)
    with connection.cursor() as cursor:
        cursor.execute(per_order_sql(_divisors(batch)), [batch_param, batch_param])
        cursor.execute(obligations_sql(), [batch_param])
        cursor.execute(releases_sql(), [batch_param])
        cursor.execute(f"DROP TABLE {PER_ORDER}")
    trades = Trade.objects.filter(settlement_batch_id=batch.pk).count()
    obligations = Obligation.objects.filter(batch=batch)
    per_asset = {
        row["asset_id"]: row
        for row in obligations.values("asset_id").annotate(
            net=Sum("net_amount"), paid=Sum("paid_gross"), legs=Sum("legs"), partners=Count("id")
        )
    }
    released = dict(
        HoldRelease.objects.filter(batch=batch)
        .values("asset_id")
        .annotate(total=Sum("amount"))
        .values_list("asset_id", "total")
    )
    unbalanced = {asset: row["net"] for asset, row in per_asset.items() if row["net"] != 0}
    legs = sum(row["legs"] for row in per_asset.values())
    holds_differ = {
        asset: {"obligations_pay": row["paid"], "holds_release": released.get(asset, 0)}
        for asset, row in per_asset.items()
        if row["paid"] != released.get(asset, 0)
    }
    if unbalanced or legs != 4 * trades or holds_differ:
        raise ClearingMismatch(
            "Clearing did not balance: obligations must net to zero per asset, count four "
            "legs per trade and pay what the holds release.",
            details={
                "unbalanced": unbalanced,
                "trades": trades,
                "legs": legs,
                "holds_differ": holds_differ,
            },
        )
    return {
        "trades": trades,
        "obligations": obligations.count(),
        "nonzero": obligations.filter(~Q(net_amount=0)).count(),
    }
