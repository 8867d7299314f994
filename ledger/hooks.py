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
"""

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from django.db import transaction
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
ManyCallback = Callable[[list[HoldChanged]], None]


class HoldChangedHooks:
    """Callbacks per origin. Registering the same callback twice registers it once. A
    callback registered with `register_many` gets each delivery's events of its origin as
    one list (one query for a thousand holds settled, not a thousand); if it raises, none of
    them counts as delivered."""

    def __init__(self):
        self._callbacks: dict[str, list[Callback]] = {}
        self._many: dict[str, list[ManyCallback]] = {}

    def register_many(self, *, origin: str, callback: ManyCallback) -> None:
        callbacks = self._many.setdefault(origin, [])
        if callback not in callbacks:
            callbacks.append(callback)

    def many_callbacks(self, origin: str) -> tuple[ManyCallback, ...]:
        return tuple(self._many.get(origin, ()))

    def register(self, *, origin: str, callback: Callback) -> None:
        callbacks = self._callbacks.setdefault(origin, [])
        if callback not in callbacks:
            callbacks.append(callback)

    def unregister(self, *, origin: str, callback: Callback) -> None:
        for registry in (self._callbacks, self._many):
            if callback in registry.get(origin, []):
                registry[origin].remove(callback)

    def callbacks(self, origin: str) -> tuple[Callback, ...]:
        return tuple(self._callbacks.get(origin, ()))


hold_changed = HoldChangedHooks()


@dataclass(frozen=True)
class HoldEventDraft:
    """A change about to be recorded (the services make these inside their transaction)."""

    hold: object  # the Transfer that changed
    change: str
    resolution_id: uuid.UUID
    successor_id: uuid.UUID | None


def hold_events_record(*, drafts: Sequence[HoldEventDraft], now: datetime) -> None:
    """Write the outbox rows (inside the caller's transaction) and deliver them on commit."""
    if not drafts:
        return
    events = HoldEvent.objects.bulk_create(
        HoldEvent(
            origin=draft.hold.origin,
            origin_ref=draft.hold.origin_ref,
            change=draft.change,
            hold_id=draft.hold.pk,
            resolution_id=draft.resolution_id,
            successor_id=draft.successor_id,
            created_at=now,
        )
        for draft in drafts
    )
    ids = [event.pk for event in events]
    transaction.on_commit(lambda: hold_events_deliver(ids=ids), robust=True)


def hold_events_deliver(*, ids: Sequence[int] | None = None, older_than=None, limit=500) -> int:
    """Deliver undelivered events (those of `ids`, or any older than `older_than` seconds),
    oldest first; returns how many were delivered. An event whose callback raises stays
    undelivered, for the next run."""
    pending = HoldEvent.objects.filter(delivered_at__isnull=True)
    if ids is not None:
        pending = pending.filter(pk__in=list(ids))
    if older_than is not None:
        pending = pending.filter(created_at__lte=timezone.now() - timedelta(seconds=older_than))
    by_origin: dict[str, list[HoldChanged]] = {}
    for event in pending.order_by("id")[:limit]:
        by_origin.setdefault(event.origin, []).append(
            HoldChanged(
                event_id=event.pk,
                origin=event.origin,
                origin_ref=event.origin_ref,
                change=event.change,
                hold_id=event.hold_id,
                resolution_id=event.resolution_id,
                successor_id=event.successor_id,
            )
        )
    delivered = []
    for origin, changes in by_origin.items():
        try:
            for many in hold_changed.many_callbacks(origin):
                many(changes)
        except Exception:
            logger.exception("hold_event_callback_failed", events=len(changes), origin=origin)
            continue
        for change in changes:
            try:
                for callback in hold_changed.callbacks(origin):
                    callback(change)
            except Exception:
                logger.exception(
                    "hold_event_callback_failed", hold_event=change.event_id, origin=origin
                )
                continue
            delivered.append(change.event_id)
    # One UPDATE for the lot: a crash before it delivers them again, which callbacks take.
    return HoldEvent.objects.filter(pk__in=delivered, delivered_at__isnull=True).update(
        delivered_at=timezone.now()
    )
