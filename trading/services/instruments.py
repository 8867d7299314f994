"""Instruments: listing one for trading, halting and resuming it."""

from django.db import transaction

from core.errors import ValidationFailed
from core.services import audit_record, snapshot
from trading.errors import InstrumentStatusConflict
from trading.models import Instrument


@transaction.atomic
def instrument_create(
    *,
    symbol: str,
    base_asset: str,
    quote_asset: str,
    tick_size: int,
    lot_size: int,
    collar_low: int,
    collar_high: int,
    acting_user=None,
) -> Instrument:
    if tick_size <= 0 or lot_size <= 0 or not 0 < collar_low <= collar_high:
        raise ValidationFailed(details={"instrument": ["Steps positive, 0 < low <= high."]})
    instrument = Instrument.objects.create(
        symbol=symbol,
        base_asset_id=base_asset,
        quote_asset_id=quote_asset,
        tick_size=tick_size,
        lot_size=lot_size,
        collar_low=collar_low,
        collar_high=collar_high,
    )
    audit_record(
        actor=acting_user,
        action="instrument.created",
        target=instrument,
        after=snapshot(instrument),
    )
    return instrument


def _instrument_status_set(*, instrument: Instrument, status: str, acting_user, reason: str):
    with transaction.atomic():
        locked = Instrument.objects.select_for_update().get(pk=instrument.pk)
        if locked.status == status:
            raise InstrumentStatusConflict(
                f"The instrument is already {status}.", details={"status": status}
            )
        before = {"status": locked.status}
        locked.status = status
        locked.save(update_fields=["status"])
        audit_record(
            actor=acting_user,
            action="instrument.halted"
            if status == Instrument.Status.HALTED
            else "instrument.resumed",
            target=locked,
            before=before,
            after={"status": status, "reason": reason},
        )
    instrument.status = status
    return locked


def instrument_halt(*, instrument: Instrument, acting_user, reason: str = "") -> Instrument:
    """Refuse new orders for `instrument` (409); open orders stay as they are."""
    return _instrument_status_set(
        instrument=instrument,
        status=Instrument.Status.HALTED,
        acting_user=acting_user,
        reason=reason,
    )


def instrument_resume(*, instrument: Instrument, acting_user, reason: str = "") -> Instrument:
    return _instrument_status_set(
        instrument=instrument,
        status=Instrument.Status.TRADING,
        acting_user=acting_user,
        reason=reason,
    )
