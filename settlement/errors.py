"""Settlement's domain errors (stable codes for the console and the API envelope)."""

from core.errors import Conflict, NotFound, ValidationFailed


class BatchNotFound(NotFound):
    default_message = "No such settlement batch."


class BatchStateConflict(Conflict):
    code = "conflict"
    default_message = "The batch's state does not allow that."


class ClearingMismatch(Conflict):
    """Clearing's own checks failed: the batch fails loudly, nothing is kept."""

    code = "conflict"
    default_message = "Clearing did not balance."


class StatementRefused(ValidationFailed):
    default_message = "The statement was refused."
