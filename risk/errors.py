from core.errors import ApplicationError, Conflict


class RiskRejected(ApplicationError):
    """A risk rule or control rejected it; details.rules lists the reason codes."""

    code = "risk_rejected"
    status = 422
    default_message = "Risk rejected it."


class ReviewCaseConflict(Conflict):
    default_message = "The review case does not allow that now."
