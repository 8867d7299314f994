"""The ledger's invariants, checked from the rows themselves (DESIGN.md, "Ledger"):

1. per asset, total debits == total credits, posted and pending;
2. each account's running totals == the sum of its transfers (and == its latest entry);
3. no account breaks its balance-limit flag;
4. a pending transfer is resolved at most once, and its status says how;
   a hold kept in part (shrunk, or partly posted) is replaced once, by a hold on the same
   accounts and terms that keeps at most what was neither posted nor released; each
   hold change's outbox event names the transfers that made it;
5. every transfer's digest and every account's entry chain are intact (ledger_verify).

Each run is recorded as a LedgerCheckRun; a failed run is an alert on the dashboard.
"""

from collections.abc import Callable

import structlog
from django.db import transaction
from django.db.models import Count, F, OuterRef, Q, Subquery, Sum
from django.utils import timezone

from core.services import audit_record
from ledger.chain import entry_hash, transfer_digest, transfer_digest_matches
from ledger.instant import one_instant
from ledger.models import Account, Entry, HoldEvent, LedgerCheckRun, Transfer
from ledger.posting import RESOLUTION_STATUS, TOTALS

logger = structlog.get_logger(__name__)
Progress = Callable[[str], None]

POSTED_KINDS = (Transfer.Kind.SINGLE_PHASE, Transfer.Kind.POST_PENDING)


def ledger_invariants_violations(*, progress: Progress | None = None) -> list[dict]:
    with one_instant():
        return _invariants_violations(progress=progress)


def _invariants_violations(*, progress: Progress | None) -> list[dict]:
    say = progress or (lambda message: None)
    violations = []
    say("1/5 debits equal credits per asset")
    violations += _asset_balance_violations()
    say("2/5 account totals equal the sum of their transfers")
    violations += _account_total_violations()
    say("3/5 balance limits")
    violations += _balance_limit_violations()
    say("4/5 pending transfers resolved at most once")
    violations += _pending_resolution_violations()
    say("5/5 a shrunk hold keeps no more than it held, on the same terms")
    violations += _hold_successor_violations()
    violations += _hold_event_violations()
    return violations


def _asset_balance_violations() -> list[dict]:
    sums = Account.objects.values("asset_id").annotate(**{t: Sum(t) for t in TOTALS})
    found = []
    for row in sums:
        for phase in ("posted", "pending"):
            debits, credits = row[f"debits_{phase}"], row[f"credits_{phase}"]
            if debits != credits:
                found.append(
                    {
                        "check": "debits_equal_credits",
                        "asset": row["asset_id"],
                        "phase": phase,
                        "debits": debits,
                        "credits": credits,
                    }
                )
    return found


def _sums_by(account_field: str, condition: Q) -> dict:
    rows = (
        Transfer.objects.filter(condition)
        .values(account_field)
        .annotate(total=Sum("amount"))
        .values_list(account_field, "total")
    )
    return dict(rows)


def _account_total_violations() -> list[dict]:
    posted = Q(kind__in=POSTED_KINDS)
    open_pending = Q(kind=Transfer.Kind.PENDING, status=Transfer.Status.PENDING)
    expected = {
        "debits_posted": _sums_by("debit_account_id", posted),
        "credits_posted": _sums_by("credit_account_id", posted),
        "debits_pending": _sums_by("debit_account_id", open_pending),
        "credits_pending": _sums_by("credit_account_id", open_pending),
    }
    latest = Entry.objects.filter(account=OuterRef("pk")).order_by("-id")
    accounts = Account.objects.annotate(
        **{f"entry_{t}": Subquery(latest.values(t)[:1]) for t in TOTALS}
    ).values("pk", *TOTALS, *(f"entry_{t}" for t in TOTALS))
    found = []
    for account in accounts.iterator(chunk_size=2000):
        for total in TOTALS:
            from_transfers = expected[total].get(account["pk"], 0)
            from_entry = account[f"entry_{total}"]
            if account[total] != from_transfers or (
                from_entry is not None and from_entry != account[total]
            ):
                found.append(
                    {
                        "check": "account_totals",
                        "account": str(account["pk"]),
                        "total": total,
                        "account_value": account[total],
                        "from_transfers": from_transfers,
                        "latest_entry": from_entry,
                    }
                )
    return found


def _balance_limit_violations() -> list[dict]:
    broken = Account.objects.filter(
        Q(
            debits_must_not_exceed_credits=True,
            credits_posted__lt=F("debits_posted") + F("debits_pending"),
        )
        | Q(
            credits_must_not_exceed_debits=True,
            debits_posted__lt=F("credits_posted") + F("credits_pending"),
        )
    ).values_list("pk", flat=True)
    return [{"check": "balance_limit", "account": str(pk)} for pk in broken]


def _pending_resolution_violations() -> list[dict]:
    resolution_kind = Transfer.objects.filter(pending=OuterRef("pk")).values("kind")[:1]
    pendings = (
        Transfer.objects.filter(kind=Transfer.Kind.PENDING)
        .annotate(resolutions_count=Count("resolutions"))
        .annotate(resolution_kind=Subquery(resolution_kind))
        .values("pk", "status", "resolutions_count", "resolution_kind")
    )
    found = []
    for row in pendings.iterator(chunk_size=2000):
        expected_status = RESOLUTION_STATUS.get(row["resolution_kind"], Transfer.Status.PENDING)
        if row["resolutions_count"] > 1 or row["status"] != expected_status:
            found.append(
                {
                    "check": "pending_resolution",
                    "transfer": str(row["pk"]),
                    "status": row["status"],
                    "resolutions": row["resolutions_count"],
                }
            )
    return found


SAME_TERMS = ("debit_account_id", "credit_account_id", "asset_id", "origin", "origin_ref")


def _hold_successor_violations() -> list[dict]:
    successors = Transfer.objects.filter(replaces__isnull=False).select_related("replaces")
    posted = dict(
        Transfer.objects.filter(
            kind=Transfer.Kind.POST_PENDING, pending__successors__isnull=False
        ).values_list("pending_id", "amount")
    )
    found = []
    for successor in successors.iterator(chunk_size=2000):
        held = successor.replaces
        resolved = {Transfer.Status.VOIDED: 1, Transfer.Status.POSTED: 0}.get(held.status)
        most = None if resolved is None else held.amount - posted.get(held.pk, 0) - resolved
        if (
            held.kind != Transfer.Kind.PENDING
            or most is None
            or successor.amount > most
            or any(getattr(successor, f) != getattr(held, f) for f in SAME_TERMS)
        ):
            found.append(
                {
                    "check": "hold_successor",
                    "transfer": str(successor.pk),
                    "replaces": str(held.pk),
                }
            )
    return found


def _hold_event_violations() -> list[dict]:
    """Each outbox event names the transfer that resolved its hold, and its successor."""
    wrong = HoldEvent.objects.exclude(resolution__pending_id=F("hold_id")) | (
        HoldEvent.objects.filter(successor__isnull=False).exclude(
            successor__replaces_id=F("hold_id")
        )
    )
    return [{"check": "hold_event", "event": pk} for pk in wrong.values_list("pk", flat=True)]


# --- The hash chain ------------------------------------------------------------------------


def ledger_chain_violations(*, progress: Progress | None = None) -> list[dict]:
    """Recompute every transfer digest and walk every account's entry chain."""
    with one_instant():
        return _chain_violations(progress=progress)


def _chain_violations(*, progress: Progress | None) -> list[dict]:
    say = progress or (lambda message: None)
    found = []
    transfers = Transfer.objects.order_by("created_at", "id")
    total = transfers.count()
    for done, transfer in enumerate(transfers.iterator(chunk_size=2000), start=1):
        if transfer_digest_matches(transfer) is None:
            found.append({"check": "transfer_digest", "transfer": str(transfer.pk)})
        if done % 10_000 == 0:
            say(f"transfers {done}/{total}")
    say(f"transfers {total}/{total} digests checked")

    heads = dict(Account.objects.values_list("pk", "chain_head"))
    previous_account, previous_hash = None, ""
    entries = Entry.objects.select_related("transfer").order_by("account_id", "id")
    for entry in entries.iterator(chunk_size=2000):
        if entry.account_id != previous_account:
            _close_chain(found, previous_account, previous_hash, heads)
            previous_account, previous_hash = entry.account_id, ""
        # A row from before origins chains its old-formula digest (ledger.chain).
        digest = transfer_digest_matches(entry.transfer) or transfer_digest(entry.transfer)
        expected = entry_hash(
            previous=previous_hash,
            transfer_digest=digest,
            side=entry.side,
            totals=(
                entry.debits_pending,
                entry.debits_posted,
                entry.credits_pending,
                entry.credits_posted,
            ),
        )
        if entry.created_at != entry.transfer.created_at:  # as_of answers read it
            found.append(
                {"check": "entry_time", "account": str(entry.account_id), "entry": entry.pk}
            )
        if expected != entry.hash:
            found.append(
                {
                    "check": "entry_chain",
                    "account": str(entry.account_id),
                    "entry": entry.pk,
                    "transfer": str(entry.transfer_id),
                }
            )
        previous_hash = entry.hash
    _close_chain(found, previous_account, previous_hash, heads)
    for account_id, head in heads.items():  # accounts whose entries are all gone
        if head:
            found.append({"check": "chain_head", "account": str(account_id)})
    say("account chains walked")

    without_both_entries = Transfer.objects.annotate(n=Count("entries")).exclude(n=2)
    found += [
        {"check": "transfer_entries", "transfer": str(pk)}
        for pk in without_both_entries.values_list("pk", flat=True)
    ]
    return found


def _close_chain(found, account_id, last_hash, heads) -> None:
    if account_id is None:
        return
    if heads.pop(account_id, None) != last_hash:
        found.append({"check": "chain_head", "account": str(account_id)})


# --- Runs ----------------------------------------------------------------------------------


def ledger_check_run(*, kind: str, progress: Progress | None = None) -> LedgerCheckRun:
    """Run one check and record it (the record is the alert when it fails)."""
    started_at = timezone.now()
    if kind == LedgerCheckRun.Kind.INVARIANTS:
        violations = ledger_invariants_violations(progress=progress)
    else:
        violations = ledger_chain_violations(progress=progress)
    run = LedgerCheckRun.objects.create(
        kind=kind,
        started_at=started_at,
        finished_at=timezone.now(),
        ok=not violations,
        violations=violations[:1000],
    )
    if violations:
        logger.error("ledger_check_failed", kind=kind, violations=len(violations))
    else:
        logger.info("ledger_check_passed", kind=kind)
    return run


def ledger_check_acknowledge(*, run: LedgerCheckRun, acting_user) -> LedgerCheckRun:
    """A staff member has looked into a failed run: it stops being an alert on the
    dashboard (a later passing run does not clear it: a tamper alarm must be seen)."""
    with transaction.atomic():
        locked = LedgerCheckRun.objects.select_for_update().get(pk=run.pk)
        if locked.ok or locked.acknowledged_by_id is not None:
            return locked
        locked.acknowledged_by = acting_user
        locked.save(update_fields=["acknowledged_by"])
        audit_record(
            actor=acting_user,
            action="ledger_check.acknowledged",
            target=locked,
            after={"kind": locked.kind, "violations": len(locked.violations or ())},
        )
    return locked
