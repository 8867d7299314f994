"""Account statements that add up: each line says what it did to the posted and to the held
money, and a period's lines sum to its closing minus its opening balance.

A line's changes are read from its transfer by the rule the posting engine applies
(ledger.posting.totals_moved); its running balances are the totals its entry recorded. The
two agree on any ledger the invariant checker passes, and tests/ledger keeps it so.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.db.models import OuterRef, QuerySet, Subquery

from core.api.csv import text_cell
from core.api.fields import UTCInstantField
from core.money import from_minor_units
from ledger.instant import one_instant
from ledger.models import Account, Entry, Transfer
from ledger.posting import TOTALS, totals_moved
from ledger.selectors import Balance, entry_balance

RESOLUTIONS = (
    Transfer.Kind.POST_PENDING,
    Transfer.Kind.VOID_PENDING,
    Transfer.Kind.EXPIRE_PENDING,
)


@dataclass(frozen=True)
class Period:
    """Lines created at or after `start` and before `end`; None: open on that side."""

    start: datetime | None = None
    end: datetime | None = None


@dataclass(frozen=True)
class StatementLine:
    """One entry of the account, in minor units, signed from the account's side: money in
    (or a hold coming to it) is positive, money out (or a hold reserving it) negative."""

    entry: Entry
    transfer: Transfer
    posted_delta: int
    held_delta: int
    posted_balance: int  # right after this line
    held_balance: int  # what holds would move, right after this line (balance.pending)
    # A hold or its resolution: how much of the hold was posted and how much released
    # (None for plain transfers and for holds still open).
    hold_posted: int | None
    hold_released: int | None


@dataclass(frozen=True)
class StatementBalances:
    opening: Balance
    closing: Balance


def statement_entries(*, account: Account, period: Period) -> QuerySet[Entry]:
    """The period's entries of the account, newest first, with what each line needs."""
    entries = Entry.objects.filter(account=account)
    if period.start is not None:
        entries = entries.filter(created_at__gte=period.start)
    if period.end is not None:
        entries = entries.filter(created_at__lt=period.end)
    # A hold is posted at most once (a partial unique index serves this lookup).
    posted_part = Transfer.objects.filter(
        pending=OuterRef("transfer_id"), kind=Transfer.Kind.POST_PENDING
    ).values("amount")[:1]
    return (
        entries.select_related("transfer", "transfer__pending")
        .annotate(hold_posted_part=Subquery(posted_part))
        .order_by("-id")
    )


def statement_line(entry: Entry, *, account: Account) -> StatementLine:
    transfer = entry.transfer
    hold_amount = transfer.pending.amount if transfer.pending_id else 0
    moved = totals_moved(kind=transfer.kind, amount=transfer.amount, hold_amount=hold_amount)
    into_account = entry.side == Entry.Side.CREDIT
    sign = 1 if into_account == account.credit_normal else -1
    held_after = entry.credits_pending - entry.debits_pending
    posted_after = entry.credits_posted - entry.debits_posted
    normal = 1 if account.credit_normal else -1  # as Account.posted/pending_balance
    hold_posted, hold_released = _hold_outcome(entry, transfer, hold_amount)
    return StatementLine(
        entry=entry,
        transfer=transfer,
        posted_delta=sign * moved["posted"],
        held_delta=sign * moved["pending"],
        posted_balance=normal * posted_after,
        held_balance=normal * held_after,
        hold_posted=hold_posted,
        hold_released=hold_released,
    )


def _hold_outcome(entry, transfer, hold_amount) -> tuple[int | None, int | None]:
    if transfer.kind in RESOLUTIONS:
        posted = transfer.amount if transfer.kind == Transfer.Kind.POST_PENDING else 0
        return posted, hold_amount - posted
    if transfer.kind == Transfer.Kind.PENDING and transfer.status != Transfer.Status.PENDING:
        posted = getattr(entry, "hold_posted_part", None) or 0
        return posted, transfer.amount - posted
    return None, None


def statement_lines(*, account: Account, period: Period) -> Iterator[StatementLine]:
    """Every line of the period, newest first, read in chunks (a year is fine)."""
    entries = statement_entries(account=account, period=period)
    for entry in entries.iterator(chunk_size=2000):
        yield statement_line(entry, account=account)


def statement_balances(*, account: Account, period: Period) -> StatementBalances:
    """The balances before the period's first instant and after its last one."""
    no_start = period.start is None  # from the account's first line: zero before it
    return StatementBalances(
        opening=entry_balance(entry=None, account=account)
        if no_start
        else _balance_before(account, period.start),
        closing=_balance_before(account, period.end),
    )


def _balance_before(account: Account, moment: datetime | None) -> Balance:
    """After the last entry created before `moment` (any entry if None); zero before the
    first. Entries of one account are written under its row lock, with the time taken
    under it, so time order and statement (id) order agree."""
    entries = Entry.objects.filter(account=account)
    if moment is not None:
        entries = entries.filter(created_at__lt=moment)
    entry = entries.order_by("-created_at", "-id").only(*TOTALS).first()
    return entry_balance(entry=entry, account=account)


# --- As a table (the CSV download of the API and of the console) ---------------------------

CSV_COLUMNS = (
    "created_at",
    "transfer",
    "kind",
    "status",
    "side",
    "code",
    "reference",
    "amount",
    "posted_delta",
    "held_delta",
    "posted_balance",
    "held_balance",
    "posted_amount",
    "released_amount",
)


def statement_table(*, account: Account, period: Period) -> Iterator[list[str]]:
    """The header, a closing_balance row, every line newest first, an opening_balance row:
    the posted_delta (held_delta) column sums to the closing minus the opening balance.
    Amounts are decimal strings in the asset's scale; one instant of the ledger."""
    scale = account.asset.scale

    def amount(minor):
        return "" if minor is None else from_minor_units(minor, scale=scale)

    def balance_row(kind, moment, balance):
        cells = dict.fromkeys(CSV_COLUMNS, "")
        cells.update(
            created_at=_instant(moment) if moment else "",
            kind=kind,
            posted_balance=amount(balance.posted),
            held_balance=amount(balance.pending),
        )
        return list(cells.values())

    with one_instant():
        balances = statement_balances(account=account, period=period)
        yield list(CSV_COLUMNS)
        yield balance_row("closing_balance", period.end, balances.closing)
        for line in statement_lines(account=account, period=period):
            transfer = line.transfer
            yield [
                _instant(line.entry.created_at),
                str(transfer.pk),
                transfer.kind,
                transfer.status,
                "debit" if line.entry.side == Entry.Side.DEBIT else "credit",
                text_cell(transfer.code),
                text_cell(transfer.reference),
                amount(transfer.amount),
                amount(line.posted_delta),
                amount(line.held_delta),
                amount(line.posted_balance),
                amount(line.held_balance),
                amount(line.hold_posted),
                amount(line.hold_released),
            ]
        yield balance_row("opening_balance", period.start, balances.opening)


def _instant(moment: datetime) -> str:
    return UTCInstantField().to_representation(moment)  # as the JSON writes it
