"""The ledger's precise result codes (after TigerBeetle's), mapped onto the API's codes.

`code` is the partner contract (API.md); `reason` is the precise cause, sent in
`details.reason` so a client can tell, say, a voided from an expired pending transfer.
"""

from core.errors import (
    ApplicationError,
    BusinessRuleViolation,
    Conflict,
    NotFound,
    ValidationFailed,
)


class LedgerError(ApplicationError):
    reason = "ledger_error"

    def __init__(self, message: str | None = None, *, details: dict | None = None):
        details = dict(details or {})
        if self.code != "validation_error":
            details.setdefault("reason", self.reason)
        super().__init__(message, details=details)


class InsufficientFunds(LedgerError, BusinessRuleViolation):
    code = "insufficient_funds"
    reason = "exceeds_credits"
    default_message = "The debit would exceed the account's credits."


class ExceedsDebits(InsufficientFunds):
    reason = "exceeds_debits"
    default_message = "The credit would exceed the account's debits."


class TotalsOverflow(LedgerError, ValidationFailed):
    """Only an absurd amount gets here (totals are BIGINT): a 400 on the amount."""

    reason = "overflows_totals"
    default_message = "The amount is too large for the accounts' running totals."

    def __init__(self, message: str | None = None, *, details: dict | None = None):
        super().__init__(message, details={"amount": [message or self.default_message]})


class AccountFrozen(LedgerError, BusinessRuleViolation):
    code = "account_frozen"
    reason = "account_frozen"
    default_message = "The account is frozen or closed."


class AccountNotFound(LedgerError, NotFound):
    reason = "account_not_found"
    default_message = "No such account."


class TransferNotFound(LedgerError, NotFound):
    reason = "transfer_not_found"
    default_message = "No such transfer."


class AssetMismatch(LedgerError, ValidationFailed):
    reason = "asset_mismatch"
    default_message = "Both accounts must hold the transfer's asset."


class AccountsMustDiffer(LedgerError, ValidationFailed):
    reason = "accounts_must_be_different"
    default_message = "Debit and credit accounts must differ."


class TransferExistsWithDifferentFields(LedgerError, Conflict):
    reason = "transfer_exists_with_different_fields"
    default_message = "A transfer with this id exists with other fields."


class PendingAlreadyResolved(LedgerError, Conflict):
    reason = "pending_already_resolved"
    default_message = "The pending transfer was already posted, voided or expired."


class PendingTransferExpired(LedgerError, Conflict):
    reason = "pending_transfer_expired"
    default_message = "The pending transfer has expired."


class NotAPendingTransfer(LedgerError, Conflict):
    reason = "transfer_not_pending"
    default_message = "Only a pending transfer can be posted or voided."


class AmountExceedsPending(LedgerError, ValidationFailed):
    reason = "exceeds_pending_amount"
    default_message = "Cannot post more than the pending amount."


class AmountNotPositive(LedgerError, ValidationFailed):
    reason = "amount_must_be_positive"
    default_message = "The amount must be greater than zero."


class HoldOwnedElsewhere(LedgerError, Conflict):
    """The hold was placed by another origin (an order, risk...): only it may release it.
    details.holder names it: {"origin": "order", "ref": "<order id>"}."""

    reason = "hold_owned_elsewhere"
    default_message = "This hold was placed by another origin; only it may post or void it."


class KeepNotLessThanHeld(LedgerError, ValidationFailed):
    reason = "keep_not_less_than_held"
    default_message = "What a hold keeps must be less than what it holds, less what posts."

    def __init__(self, message: str | None = None, *, details: dict | None = None):
        super().__init__(message, details={"keep": [message or self.default_message]})


class OrderHoldTimeout(LedgerError, ValidationFailed):
    reason = "order_hold_has_no_timeout"
    default_message = "An order's hold never expires by itself: it has no timeout."

    def __init__(self, message: str | None = None, *, details: dict | None = None):
        super().__init__(message, details={"timeout_seconds": [message or self.default_message]})


class AccountNotEmpty(LedgerError, Conflict):
    reason = "account_not_empty"
    default_message = "Only an account with zero balances and nothing pending can close."


class AccountStatusConflict(LedgerError, Conflict):
    reason = "account_status"
    default_message = "The account's status does not allow this."


class AlreadyReversed(LedgerError, Conflict):
    reason = "already_reversed"
    default_message = "This transfer has already been reversed."


class ReversalAlreadyProposed(LedgerError, Conflict):
    reason = "reversal_already_proposed"
    default_message = "A reversal of this transfer is already waiting for approval."


class FourEyesViolation(LedgerError, Conflict):
    reason = "four_eyes"
    default_message = "An adjustment must be approved by someone other than its proposer."


class BatchRejected(LedgerError, BusinessRuleViolation):
    """An atomic batch in which some transfer failed: nothing was applied. It answers with
    the failing transfer's own status and code (a batch of one answers as that transfer
    would), with every item's result in details.results."""

    reason = "batch_rejected"

    def __init__(self, results: list, cause: ApplicationError, index: int):
        self.results, self.cause, self.index = results, cause, index
        self.code, self.status = cause.code, cause.status
        if cause.code == "validation_error":  # details map fields to messages, as for any 400
            details = {
                f"transfers[{index}].{field}": messages
                for field, messages in cause.details.items()
                if isinstance(messages, list)
            } or {f"transfers[{index}]": [cause.message]}
        else:
            details = {"results": results}
        super().__init__(
            f"transfers[{index}] (counting from 0, as details do) failed ({cause.message}); "
            "none of the atomic batch was applied.",
            details=details,
        )


def error_result(exc: ApplicationError) -> dict:
    return {"code": exc.code, "reason": getattr(exc, "reason", exc.code), "message": exc.message}
