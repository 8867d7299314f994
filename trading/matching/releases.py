"""Releasing what ended orders hold beyond what their fills consumed, after the matcher's
batch rather than inside it.

Why deferred: shrinking a hold locks its two ledger accounts, the partner's and the house
`trading_clearing` account of the asset, which every order entry of that asset locks too
(and every matcher of an instrument quoted in it). Inside the batch, those locks would be
held until the batch commits: order entry would queue behind the matcher and matchers of
ACME/USD and GLOBEX/USD behind each other. So the batch only marks the order
`release_pending` (in the same transaction as its end: durable), and this pass shrinks the
holds in its own short transactions, oldest orders first, rows locked with SKIP LOCKED so
two passes share the work. Until it runs (milliseconds in run_matcher, at once after an
inline batch) the partner sees the order ended with its remainder still held: never less
held than needed, only more, briefly.
"""

import uuid

import structlog
from django.db import connection, transaction

from ledger.selectors import open_holds_of
from ledger.services import HoldOperation, ledger_apply
from trading.matching.book import BUY
from trading.models import Order

logger = structlog.get_logger(__name__)

HOLD_ORIGIN = "order"  # ledger Transfer.Origin.ORDER: the holds orders placed
RELEASE_CHUNK = 200


def order_holds_release_pending(*, instrument_id: int | None = None, limit: int = 1000) -> int:
    """Release the holds of up to `limit` orders waiting for it; returns how many orders
    it cleared. Safe to run anywhere, any number of times, concurrently."""
    cleared = 0
    while cleared < limit:
        done = _release_chunk(instrument_id, min(RELEASE_CHUNK, limit - cleared))
        if not done:
            break
        cleared += done
    return cleared


def _release_chunk(instrument_id: int | None, size: int) -> int:
    with transaction.atomic():
        pending = Order.objects.filter(release_pending=True)
        if instrument_id is not None:
            pending = pending.filter(instrument_id=instrument_id)
        orders = list(
            pending.select_for_update(skip_locked=True)
            .order_by("instrument_id", "sequence")
            .only("id", "side", "filled_quantity", "filled_notional", "reserved", "hold_id")[:size]
        )
        if not orders:
            return 0
        releases = hold_releases(orders)
        if releases:
            # The two accounts of each hold, locked once, in id order; one transaction.
            applied = ledger_apply(origin=HOLD_ORIGIN, hold_operations=[op for op, _ in releases])
            moved = {
                order.id: change.successor.pk if change.successor else change.hold.pk
                for (_, order), change in zip(releases, applied.holds, strict=True)
            }
        else:
            moved = {}
        _orders_cleared(orders, moved)
        return len(orders)


def hold_releases(orders) -> list[tuple[HoldOperation, Order]]:
    """For each ended order: shrink its open hold to what its fills consumed (void when
    nothing). The open holds come from the ledger in one statement rather than from
    Order.hold_id, and as trading.services.holds computes it, what left the hold before
    (settlement posting fills) was consumption already. No client ids: a release commits
    with the flag's clearing or not at all, so nothing is ever replayed (and the ledger
    skips its replay lookups)."""
    holds = open_holds_of(origin=HOLD_ORIGIN, origin_refs=[str(order.id) for order in orders])
    releases = []
    for order in orders:
        hold_id, held = holds.get(str(order.id), (None, 0))
        if hold_id is None:
            continue  # nothing open any more (released by staff, or never placed)
        consumed = order.filled_notional if order.side == BUY else order.filled_quantity
        keep = max(consumed - (order.reserved - held), 0)
        if keep >= held:
            continue  # all of it consumed
        operation = HoldOperation(
            pending_id=hold_id, action=HoldOperation.VOID, keep=keep, origin_ref=str(order.id)
        )
        releases.append((operation, order))
    return releases


def _orders_cleared(orders, moved: dict[uuid.UUID, uuid.UUID]) -> None:
    """release_pending off; hold_id to the hold that keeps the rest (or the voided one)."""
    if connection.vendor != "postgresql":
        for order in orders:
            changes = {"release_pending": False}
            if order.id in moved:
                changes["hold_id"] = moved[order.id]
            Order.objects.filter(pk=order.id).update(**changes)
        return
    ids = [order.id for order in orders]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Order._meta.db_table} AS o SET release_pending = false,"
            " hold_id = COALESCE(v.hold_id, o.hold_id)"
            " FROM unnest(%s::uuid[], %s::uuid[]) AS v(id, hold_id) WHERE o.id = v.id",
            [ids, [moved.get(order_id) for order_id in ids]],
        )
