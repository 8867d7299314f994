"""Telling a hold's origin that the hold changed (posted, voided, expired, shrunk).

Every change writes a `HoldEvent` row in the transaction that made it (an outbox), so a
change that commits is never lost. When the transaction commits, the events go to the
callbacks registered for the hold's origin, and each event is marked delivered once all of
them returned. An event a crash left undelivered is delivered again by the
`ledger_hold_events_deliver` job: delivery is at least once, so a callback must be
idempotent (it gets the event id). A rollback writes no event and calls nobody.

An app registers when it is ready:

    from ledger.hooks import hold_changed
    hold_changed.register(origin=Transfer.Origin.ORDER, callback=order_hold_changed)

or, to take the events of one delivery together (one query for a set rather than one per
event: the matcher's hold releases make hundreds a second), `batch=True`: the callback gets
a list, in event order, and must apply all of it or nothing (one transaction). If it
raises, each event of the set is tried alone, so one bad event keeps only itself back.
"""

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from django.db import connection, transaction
from django.utils import timezone

from ledger.models import HoldEvent

logger = structlog.get_logger(__name__)


@dataclass(frozen=True)
class HoldChanged:
    """What a callback receives: which hold of its origin changed, how, and the transfers
    that did it (`successor`: the hold that keeps the rest, after a shrink or a partial
    post that kept the remainder)."""

    event_id: int
    origin: str
    origin_ref: str
    change: str  # HoldEvent.Change
    hold_id: uuid.UUID
    resolution_id: uuid.UUID
    successor_id: uuid.UUID | None


Callback = Callable[[HoldChanged], None]
BatchCallback = Callable[[Sequence[HoldChanged]], None]


class HoldChangedHooks:
    """Callbacks per origin, each taking one event or (batch=True) a list of them.
    Registering the same callback twice registers it once."""

    def __init__(self):
        self._callbacks: dict[str, list[tuple[Callable, bool]]] = {}

    def register(self, *, origin: str, callback: Callable, batch: bool = False) -> None:
        callbacks = self._callbacks.setdefault(origin, [])
        if all(registered is not callback for registered, _ in callbacks):
            callbacks.append((callback, batch))

    def unregister(self, *, origin: str, callback: Callable) -> None:
        self._callbacks[origin] = [
            entry for entry in self._callbacks.get(origin, []) if entry[0] is not callback
        ]

    def callbacks(self, origin: str, *, batch: bool | None = None) -> tuple[Callable, ...]:
        """The callbacks of `origin`: all of them, or only the batch (or one-event) ones."""
        return tuple(
            cb
            for cb, is_batch in self._callbacks.get(origin, ())
            if batch is None or is_batch == batch
        )


hold_changed = HoldChangedHooks()


@dataclass(frozen=True)
class HoldEventDraft:
    """A change about to be recorded (the services make these inside their transaction)."""

    hold: object  # the Transfer that changed
    change: str
    resolution_id: uuid.UUID
    successor_id: uuid.UUID | None

    def values(self) -> dict:
        """The event's fields, named as HoldEvent's and HoldChanged's."""
        return {
            "origin": self.hold.origin,
            "origin_ref": self.hold.origin_ref,
            "change": self.change,
            "hold_id": self.hold.pk,
            "resolution_id": self.resolution_id,
            "successor_id": self.successor_id,
        }


def hold_events_record(*, drafts: Sequence[HoldEventDraft], now: datetime) -> None:
    """Write the outbox rows (inside the caller's transaction) and deliver them on commit."""
    if not drafts:
        return
    ids = hold_events_insert(drafts=drafts, now=now)
    # Delivered from what was just written, not read back: a settlement chunk's 500 events
    # would otherwise be a query and 500 model instances more per commit.
    changes = [
        HoldChanged(event_id=event_id, **draft.values())
        for event_id, draft in zip(ids, drafts, strict=True)
    ]
    transaction.on_commit(lambda: _deliver(changes), robust=True)


_EVENT_COLUMNS = ("origin", "origin_ref", "change", "hold_id", "resolution_id", "successor_id")


def hold_events_insert(*, drafts: Sequence[HoldEventDraft], now: datetime) -> list[int]:
    """INSERT the drafts' rows; their ids, in draft order. On PostgreSQL one statement with
    an array per column (bulk_create's per-object work was most of the events' cost)."""
    if connection.vendor != "postgresql":
        events = HoldEvent.objects.bulk_create(
            HoldEvent(**draft.values(), created_at=now) for draft in drafts
        )
        return [event.pk for event in events]
    rows = [draft.values() for draft in drafts]
    columns = [[row[name] for row in rows] for name in _EVENT_COLUMNS]
    with connection.cursor() as cursor:
        # WITH ORDINALITY and ORDER BY: the ids come back in draft order, as bulk_create's.
        cursor.execute(
            f"INSERT INTO {HoldEvent._meta.db_table}"
            " (origin, origin_ref, change, hold_id, resolution_id, successor_id, created_at)"
            " SELECT v.origin, v.origin_ref, v.change, v.hold, v.resolution, v.successor, %s"
            " FROM unnest(%b::text[], %b::text[], %b::text[], %b::uuid[], %b::uuid[],"
            " %b::uuid[]) WITH ORDINALITY"
            " AS v(origin, origin_ref, change, hold, resolution, successor, n)"
            " ORDER BY v.n RETURNING id",
            [now, *columns],
        )
        ids = [row[0] for row in cursor.fetchall()]
    return sorted(ids)  # a sequence: ids grow in insertion order


def hold_events_deliver(*, ids: Sequence[int] | None = None, older_than=None, limit=500) -> int:
    """Deliver undelivered events (those of `ids`, or any older than `older_than` seconds),
    oldest first; returns how many were delivered. An event whose callback raises stays
    undelivered, for the next run. The events delivered are marked in one statement."""
    pending = HoldEvent.objects.filter(delivered_at__isnull=True)
    if ids is not None:
        pending = pending.filter(pk__in=list(ids))
    if older_than is not None:
        pending = pending.filter(created_at__lte=timezone.now() - timedelta(seconds=older_than))
    return _deliver(
        [
            HoldChanged(
                event_id=event.pk,
                origin=event.origin,
                origin_ref=event.origin_ref,
                change=event.change,
                hold_id=event.hold_id,
                resolution_id=event.resolution_id,
                successor_id=event.successor_id,
            )
            for event in pending.order_by("id")[:limit]
        ]
    )


def _deliver(changes: Sequence[HoldChanged]) -> int:
    """Hand `changes` (in event order) to their origins' callbacks; mark those all of them
    took delivered, in one statement; how many were marked."""
    by_origin: dict[str, list[HoldChanged]] = {}
    for change in changes:
        by_origin.setdefault(change.origin, []).append(change)
    delivered = [
        event_id
        for origin, changes in by_origin.items()
        for event_id in _delivered(origin, changes)
    ]
    if not delivered:
        return 0
    if connection.vendor != "postgresql":
        pending = HoldEvent.objects.filter(pk__in=delivered, delivered_at__isnull=True)
        return pending.update(delivered_at=timezone.now())
    with connection.cursor() as cursor:  # one statement, the ids a binary array
        cursor.execute(
            f"UPDATE {connection.ops.quote_name(HoldEvent._meta.db_table)} SET delivered_at = %s"
            " WHERE id = ANY(%b::bigint[]) AND delivered_at IS NULL"
            # The bounds say where to look: with the array alone the planner, its statistics
            # older than a settlement's thousands of new events, scanned every event.
            " AND id BETWEEN %s AND %s",
            [timezone.now(), delivered, min(delivered), max(delivered)],
        )
        return cursor.rowcount


def _delivered(origin: str, changes: list[HoldChanged]) -> list[int]:
    """Hand `changes` to every callback of `origin`; the ids of those all of them took."""
    for callback in hold_changed.callbacks(origin, batch=True):
        changes = _batch_taken(callback, changes)
    taken = []
    for change in changes:
        try:
            for callback in hold_changed.callbacks(origin, batch=False):
                callback(change)
        except Exception:
            _failed(change)
            continue
        taken.append(change.event_id)
    return taken


def _batch_taken(callback: BatchCallback, changes: list[HoldChanged]) -> list[HoldChanged]:
    if not changes:
        return changes
    try:
        callback(changes)
        return changes
    except Exception:
        if len(changes) == 1:
            _failed(changes[0])
            return []
    return [change for change in changes if _batch_taken(callback, [change])]


def _failed(change: HoldChanged) -> None:
    logger.exception("hold_event_callback_failed", hold_event=change.event_id, origin=change.origin)
