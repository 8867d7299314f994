"""Domain errors. Services raise these; the API turns them into the error envelope.

Each has a stable `code` (part of the partner contract) and an HTTP status.
"""


class ApplicationError(Exception):
    code = "application_error"
    status = 400
    default_message = "The request could not be completed."

    def __init__(self, message: str | None = None, *, details: dict | None = None):
        self.message = message or self.default_message
        self.details = details or {}
        super().__init__(self.message)


class ValidationFailed(ApplicationError):
    code = "validation_error"
    status = 400
    default_message = "Invalid input."


class NotFound(ApplicationError):
    code = "not_found"
    status = 404
    default_message = "Not found."


class PermissionDenied(ApplicationError):
    code = "permission_denied"
    status = 403
    default_message = "You do not have permission to perform this action."


class Conflict(ApplicationError):
    """The resource's state does not allow the operation."""

    code = "conflict"
    status = 409
    default_message = "The resource's state does not allow this."


class IdempotencyInProgress(ApplicationError):
    code = "idempotency_in_progress"
    status = 409
    default_message = "A request with this Idempotency-Key is still being processed."


class IdempotencyKeyReused(ApplicationError):
    code = "idempotency_key_reused"
    status = 422
    default_message = "This Idempotency-Key was used with a different request."


class BusinessRuleViolation(ApplicationError):
    """Well-formed, but the business rules refuse it."""

    code = "unprocessable"
    status = 422
    default_message = "The request breaks a business rule."


class Throttled(ApplicationError):
    code = "throttled"
    status = 429
    default_message = "Too many requests."

    def __init__(self, message=None, *, retry_after: int | None = None, details=None):
        self.retry_after = retry_after
        super().__init__(message, details=details)


class ServiceUnavailable(ApplicationError):
    """A part the request needs is overloaded or down (an instrument's matcher, say): the
    client should retry after `retry_after` seconds (the Retry-After header)."""

    code = "service_unavailable"
    status = 503
    default_message = "Temporarily unavailable; retry later."

    def __init__(self, message=None, *, retry_after: int = 1, details=None):
        self.retry_after = retry_after
        super().__init__(message, details=details)
