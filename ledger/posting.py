"""The posting engine: applies transfers to locked accounts in memory, checking every rule,
and returns the rows to write. No queries here: the services lock, call this, and write.

Keeping the arithmetic in one place means single transfers, batches, resolutions of pending
transfers and the hypothesis model all obey exactly the same rules.
"""

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from core.money import MAX_MINOR_UNITS
from ledger import errors
from ledger.chain import entry_hash, metadata_canonical, transfer_digest
from ledger.models import Account, Entry, Transfer
from ledger.rows import EntryRow, TransferRow

TOTALS = ("debits_pending", "debits_posted", "credits_pending", "credits_posted")
RESOLUTION_STATUS = {
    Transfer.Kind.POST_PENDING: Transfer.Status.POSTED,
    Transfer.Kind.VOID_PENDING: Transfer.Status.VOIDED,
    Transfer.Kind.EXPIRE_PENDING: Transfer.Status.EXPIRED,
}


def totals_moved(*, kind: str, amount: int, hold_amount: int = 0) -> dict[str, int]:
    """What a transfer does to the pending and posted totals of each side it touches (the
    debit side's debits_*, the credit side's credits_*): the one rule the engine applies
    and statements read back. `hold_amount` is the resolved hold's amount."""
    if kind == Transfer.Kind.SINGLE_PHASE:
        return {"pending": 0, "posted": amount}
    if kind == Transfer.Kind.PENDING:
        return {"pending": amount, "posted": 0}
    if kind == Transfer.Kind.POST_PENDING:  # posts `amount`, releases the whole hold
        return {"pending": -hold_amount, "posted": amount}
    return {"pending": -hold_amount, "posted": 0}  # void or expire: released


@dataclass(frozen=True)
class TransferRequest:
    """What a caller asks for; amounts already in minor units."""

    debit_account_id: uuid.UUID
    credit_account_id: uuid.UUID
    amount: int
    asset: str
    id: uuid.UUID | None = None
    code: str = "transfer"
    reference: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    pending: bool = False
    timeout_seconds: int | None = None
    origin_ref: str = ""  # the origin's own id (an order's); the origin is the caller's
    # The caller made `id` just now, or looked it up and found nothing, and answers a
    # duplicate itself: the ledger neither looks for a replay nor takes a savepoint to retry
    # one; a concurrent duplicate is refused by the unique key (IntegrityError), which
    # aborts the caller's transaction.
    replay_checked: bool = False

    def matches(self, transfer: Transfer, *, origin: str | None = None) -> bool:
        """Is `transfer` what this request would have created (an idempotent retry)?"""
        kind = Transfer.Kind.PENDING if self.pending else Transfer.Kind.SINGLE_PHASE
        timeout = self.timeout_seconds if self.pending and self.timeout_seconds else None
        return (
            transfer.kind == kind
            and _timeout_of(transfer) == timeout
            and transfer.debit_account_id == self.debit_account_id
            and transfer.credit_account_id == self.credit_account_id
            and transfer.amount == self.amount
            and transfer.asset_id == self.asset
            and transfer.code == self.code
            and transfer.reference == self.reference
            and metadata_canonical(transfer.metadata) == metadata_canonical(self.metadata)
            and transfer.origin_ref == self.origin_ref
            and (origin is None or transfer.origin == origin)
        )


def _timeout_of(transfer: Transfer) -> int | None:
    if transfer.expires_at is None:
        return None
    return round((transfer.expires_at - transfer.created_at).total_seconds())


@dataclass
class Posting:
    """The rows one applied transfer produces."""

    transfer: Transfer
    entries: list[EntryRow]


class PostingEngine:
    """Applies transfers one after another to `accounts` (locked rows, mutated in place)."""

    def __init__(
        self,
        accounts: dict[uuid.UUID, Account],
        *,
        now: datetime,
        acting_user=None,
        origin: str = Transfer.Origin.SYSTEM,
        light: bool = False,
    ):
        """`light`: make the transfers as ledger.rows stand-ins rather than model instances
        (for callers that answer with ids only): the same values, a fraction of the cost.
        Entries are stand-ins always: nobody is answered with them, the storage writes them."""
        self.accounts = accounts
        self._transfer_row = TransferRow if light else Transfer
        self.origin = origin
        self.now = now
        self.acting_user_id = getattr(acting_user, "pk", None)
        self.touched: dict[uuid.UUID, Account] = {}

    # --- new transfers --------------------------------------------------------------------

    def apply_new(
        self, request: TransferRequest, *, partner_id=None, batch_id=None, reverses_id=None
    ) -> Posting:
        debit = self._account(request.debit_account_id, field="debit_account")
        credit = self._account(request.credit_account_id, field="credit_account")
        if partner_id is not None and debit.partner_id != partner_id:
            # Word for word what an id that exists nowhere gets: existence is not disclosed.
            raise errors.AccountNotFound(details={"debit_account": ["No such account."]})
        _check_amount(request.amount)
        if debit.pk == credit.pk:
            raise errors.AccountsMustDiffer(details={"credit_account": ["Must differ."]})
        if debit.asset_id != request.asset or credit.asset_id != request.asset:
            raise errors.AssetMismatch(
                details={"asset": [f"Both accounts must hold {request.asset}."]}
            )
        for account in (debit, credit):
            if account.status != Account.Status.OPEN:
                raise errors.AccountFrozen(details={"account": str(account.pk)})
        if request.timeout_seconds and self.origin == Transfer.Origin.ORDER:
            raise errors.OrderHoldTimeout()
        kind = Transfer.Kind.PENDING if request.pending else Transfer.Kind.SINGLE_PHASE
        expires_at = None
        if request.pending and request.timeout_seconds:
            expires_at = self.now + timedelta(seconds=request.timeout_seconds)
        transfer = self._transfer_row(
            id=request.id or uuid.uuid4(),
            kind=kind,
            status=Transfer.Status.PENDING if request.pending else Transfer.Status.POSTED,
            debit_account_id=debit.pk,
            credit_account_id=credit.pk,
            asset_id=request.asset,
            amount=request.amount,
            code=request.code,
            reference=request.reference,
            metadata=request.metadata,
            batch_id=batch_id,
            reverses_id=reverses_id,
            origin=self.origin,
            origin_ref=request.origin_ref,
            expires_at=expires_at,
            created_at=self.now,
            created_by_id=self.acting_user_id,
        )
        self._move(debit, credit, **totals_moved(kind=kind, amount=request.amount))
        return self._post(transfer, debit, credit)

    def apply_reversal(self, original: Transfer, *, transfer_id=None, reference="") -> Posting:
        """A new transfer that undoes `original` (credit back what was debited)."""
        request = TransferRequest(
            id=transfer_id,
            debit_account_id=original.credit_account_id,
            credit_account_id=original.debit_account_id,
            amount=original.amount,
            asset=original.asset_id,
            code="reversal",
            reference=reference or f"reversal of {original.id}",
        )
        return self.apply_new(request, reverses_id=original.pk)

    # --- resolving a pending transfer -----------------------------------------------------

    def apply_resolution(
        self,
        pending: Transfer,
        *,
        kind: str,
        amount: int | None = None,
        transfer_id=None,
        origin_ref: str = "",
    ) -> Posting:
        if pending.kind != Transfer.Kind.PENDING:
            raise errors.NotAPendingTransfer()
        if pending.status != Transfer.Status.PENDING:
            if pending.status == Transfer.Status.EXPIRED and kind != Transfer.Kind.EXPIRE_PENDING:
                raise errors.PendingTransferExpired(details={"status": pending.status})
            raise errors.PendingAlreadyResolved(details={"status": pending.status})
        expired = pending.expires_at is not None and pending.expires_at <= self.now
        if expired and kind != Transfer.Kind.EXPIRE_PENDING:
            raise errors.PendingTransferExpired()
        debit = self._account(pending.debit_account_id)
        credit = self._account(pending.credit_account_id)
        if kind == Transfer.Kind.POST_PENDING:
            amount = pending.amount if amount is None else amount
            _check_amount(amount)
            if amount > pending.amount:
                raise errors.AmountExceedsPending(
                    details={"amount": ["Cannot post more than the pending amount."]}
                )
            for account in (debit, credit):
                if account.status != Account.Status.OPEN:
                    raise errors.AccountFrozen(details={"account": str(account.pk)})
        else:  # void or expire releases the whole reservation, frozen or not
            amount = pending.amount
        self._move(
            debit, credit, **totals_moved(kind=kind, amount=amount, hold_amount=pending.amount)
        )
        transfer = self._transfer_row(
            id=transfer_id or uuid.uuid4(),
            kind=kind,
            status=RESOLUTION_STATUS[kind],  # what it did: posted, voided or expired
            debit_account_id=debit.pk,
            credit_account_id=credit.pk,
            asset_id=pending.asset_id,
            amount=amount,
            code=pending.code,
            reference=pending.reference,
            metadata={},
            pending_id=pending.pk,
            origin=self.origin,
            origin_ref=origin_ref,
            created_at=self.now,
            created_by_id=self.acting_user_id,
        )
        pending.status = RESOLUTION_STATUS[kind]
        return self._post(transfer, debit, credit)

    def apply_successor(self, resolved: Transfer, *, amount: int, successor_id=None) -> Posting:
        """Hold `amount` again, in place of `resolved` (just posted or voided: see
        ledger.services.holds): same accounts, terms and origin, linked by `replaces`. It
        holds no more than was just released, so it passes any balance limit, and it is
        allowed on a frozen account (it keeps a reservation, it takes no new money)."""
        _check_amount(amount)
        debit = self._account(resolved.debit_account_id)
        credit = self._account(resolved.credit_account_id)
        self._move(debit, credit, pending=amount)
        transfer = self._transfer_row(
            id=successor_id or uuid.uuid4(),
            kind=Transfer.Kind.PENDING,
            status=Transfer.Status.PENDING,
            debit_account_id=debit.pk,
            credit_account_id=credit.pk,
            asset_id=resolved.asset_id,
            amount=amount,
            code=resolved.code,
            reference=resolved.reference,
            metadata=resolved.metadata,
            replaces_id=resolved.pk,
            origin=resolved.origin,
            origin_ref=resolved.origin_ref,
            expires_at=resolved.expires_at,
            created_at=self.now,
            created_by_id=self.acting_user_id,
        )
        return self._post(transfer, debit, credit)

    # --- internals ------------------------------------------------------------------------

    def _account(self, account_id, *, field: str = "account") -> Account:
        try:
            return self.accounts[account_id]
        except KeyError:
            raise errors.AccountNotFound(details={field: ["No such account."]}) from None

    def _move(self, debit: Account, credit: Account, *, pending: int = 0, posted: int = 0):
        """Change both sides' totals, then check both balance limits; undo on failure."""
        before = [(a, [getattr(a, t) for t in TOTALS]) for a in (debit, credit)]
        debit.debits_pending += pending
        debit.debits_posted += posted
        credit.credits_pending += pending
        credit.credits_posted += posted
        try:
            _check_limits(debit)
            _check_limits(credit)
        except errors.LedgerError:
            for account, totals in before:
                for name, value in zip(TOTALS, totals, strict=True):
                    setattr(account, name, value)
            raise

    def _post(self, transfer: Transfer, debit: Account, credit: Account) -> Posting:
        transfer.digest = transfer_digest(transfer)
        entries = [self._entry(transfer, debit, Entry.Side.DEBIT)]
        entries.append(self._entry(transfer, credit, Entry.Side.CREDIT))
        return Posting(transfer=transfer, entries=entries)

    def _entry(self, transfer: Transfer, account: Account, side: str) -> EntryRow:
        totals = tuple(getattr(account, t) for t in TOTALS)
        account.chain_head = entry_hash(
            previous=account.chain_head or "",
            transfer_digest=transfer.digest,
            side=side,
            totals=totals,
        )
        self.touched[account.pk] = account
        return EntryRow(
            account_id=account.pk,
            transfer_id=transfer.pk,
            side=side,
            created_at=self.now,
            debits_pending=totals[0],
            debits_posted=totals[1],
            credits_pending=totals[2],
            credits_posted=totals[3],
            hash=account.chain_head,
        )


def _check_amount(amount: int) -> None:
    """The database refuses it too (CHECK amount > 0), but as an IntegrityError that would
    sink a whole independent batch or be mistaken for a racing resolution."""
    if amount <= 0:
        raise errors.AmountNotPositive(details={"amount": ["Must be greater than zero."]})


# What a transfer's `code` (why it moved: deposit, fee...) may look like, wherever it is typed.
TRANSFER_CODE_PATTERN = r"^[a-z0-9_.-]+$"

MAX_TOTAL = MAX_MINOR_UNITS  # the totals are BIGINT columns too


def _check_limits(account: Account) -> None:
    # The balance limit first: a huge debit from a funded account is insufficient funds.
    if account.debits_must_not_exceed_credits and (
        account.debits_pending + account.debits_posted > account.credits_posted
    ):
        raise errors.InsufficientFunds(details={"account": str(account.pk)})
    if account.credits_must_not_exceed_debits and (
        account.credits_pending + account.credits_posted > account.debits_posted
    ):
        raise errors.ExceedsDebits(details={"account": str(account.pk)})
    if any(getattr(account, total) > MAX_TOTAL for total in TOTALS) or (
        account.debits_pending + account.debits_posted > MAX_TOTAL
        or account.credits_pending + account.credits_posted > MAX_TOTAL
    ):
        raise errors.TotalsOverflow()
