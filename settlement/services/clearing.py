"""Clearing: a closed batch's trades netted per partner and asset into obligations, and
what each order's fills consumed of its hold, in set-based SQL (two INSERT ... SELECT
statements, no Python loop over trades), checked in the same transaction: obligations sum
to zero per asset, the legs count four per trade, and what the holds give up equals what
the obligations pay. A mismatch fails the batch loudly and keeps nothing.

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
from settlement.sql import db_uuid
from settlement.states import batch_state_set
from trading.models import Instrument, Order, Trade

logger = structlog.get_logger(__name__)
S = SettlementBatch.State


def _trades_cte(divisors: dict[int, int]) -> str:
    # Integers from our own rows, inlined: a VALUES list of parameters needs casts on PG.
    values = ", ".join(f"({int(i)}, {int(d)})" for i, d in divisors.items()) or "(0, 1)"
    return f"""
    scales(instrument_id, divisor) AS (VALUES {values}),
    t AS (
        SELECT tr.buy_order_id AS buy_order, tr.sell_order_id AS sell_order,
               tr.quantity AS quantity, (tr.price * tr.quantity) / s.divisor AS notional,
               i.base_asset_id AS base, i.quote_asset_id AS quote,
               b.partner_id AS buyer, se.partner_id AS seller
        FROM {Trade._meta.db_table} tr
        JOIN scales s ON s.instrument_id = tr.instrument_id
        JOIN {Instrument._meta.db_table} i ON i.id = tr.instrument_id
        JOIN {Order._meta.db_table} b ON b.id = tr.buy_order_id
        JOIN {Order._meta.db_table} se ON se.id = tr.sell_order_id
        WHERE tr.settlement_batch_id = %s
    )"""


def obligations_sql(divisors) -> str:
    return f"""
    WITH {_trades_cte(divisors)},
    legs AS (
        SELECT buyer AS partner, base AS asset, quantity AS amount FROM t
        UNION ALL SELECT buyer, quote, -notional FROM t
        UNION ALL SELECT seller, base, -quantity FROM t
        UNION ALL SELECT seller, quote, notional FROM t
    )
    INSERT INTO {Obligation._meta.db_table} (batch_id, partner_id, asset_id, net_amount,
        paid_gross, received_gross, legs, status, error_code, error_message)
    SELECT %s, partner, asset, SUM(amount),
           SUM(CASE WHEN amount < 0 THEN -amount ELSE 0 END),
           SUM(CASE WHEN amount > 0 THEN amount ELSE 0 END), COUNT(*), 'pending', '', ''
    FROM legs GROUP BY partner, asset"""


def releases_sql(divisors) -> str:
    return f"""
    WITH {_trades_cte(divisors)},
    consumed AS (
        SELECT buy_order AS order_id, buyer AS partner, quote AS asset, notional AS amount
        FROM t
        UNION ALL SELECT sell_order, seller, base, quantity FROM t
    )
    INSERT INTO {HoldRelease._meta.db_table} (batch_id, order_id, partner_id, asset_id,
        amount, released)
    SELECT %s, order_id, partner, asset, SUM(amount), FALSE
    FROM consumed GROUP BY order_id, partner, asset"""


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
    divisors = _divisors(batch)
    batch_param = db_uuid(batch.pk)
    with connection.cursor() as cursor:
        cursor.execute(obligations_sql(divisors), [batch_param, batch_param])
        cursor.execute(releases_sql(divisors), [batch_param, batch_param])
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
