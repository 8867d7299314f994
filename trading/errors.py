"""Trading's domain errors (stable codes, part of the partner contract)."""

from core.errors import Conflict, NotFound


class OrderStatusConflict(Conflict):
    default_message = "The order's status does not allow this."


class OrderNotCancellable(Conflict):
    default_message = "The order can no longer be cancelled."


class InstrumentHalted(Conflict):
    default_message = "The instrument is halted: it accepts no orders."


class InstrumentNotFound(NotFound):
    default_message = "No such instrument."


class OrderNotFound(NotFound):
    default_message = "No such order."


class ClientOrderIdReused(Conflict):
    """Same client_order_id, another order: a 409, as a transfer id reused with other fields."""

    default_message = "This client_order_id was used for a different order."


class InstrumentStatusConflict(Conflict):
    default_message = "The instrument is already in that status."
