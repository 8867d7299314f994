"""Scheduled ledger jobs: thin, idempotent wrappers over services (safe to retry)."""

from celery import shared_task

from ledger.hooks import hold_events_deliver
from ledger.integrity import ledger_check_run
from ledger.models import LedgerCheckRun
from ledger.services import pending_transfers_expire


@shared_task
def ledger_pending_expire() -> int:
    return pending_transfers_expire()


# An event still undelivered this long after its commit was missed (a crash between the
# commit and its on-commit delivery, or a callback that raised): deliver it again.
HOLD_EVENT_REDELIVER_AFTER_SECONDS = 30


@shared_task
def ledger_hold_events_deliver() -> int:
    return hold_events_deliver(older_than=HOLD_EVENT_REDELIVER_AFTER_SECONDS)


@shared_task
def ledger_check() -> bool:
    return ledger_check_run(kind=LedgerCheckRun.Kind.INVARIANTS).ok


@shared_task
def ledger_verify() -> bool:
    return ledger_check_run(kind=LedgerCheckRun.Kind.CHAIN).ok
