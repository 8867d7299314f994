"""Scheduled ledger jobs: thin, idempotent wrappers over services (safe to retry)."""

from celery import shared_task

from ledger.integrity import ledger_check_run
from ledger.models import LedgerCheckRun
from ledger.services import pending_transfers_expire


@shared_task
def ledger_pending_expire() -> int:
    return pending_transfers_expire()


@shared_task
def ledger_check() -> bool:
    return ledger_check_run(kind=LedgerCheckRun.Kind.INVARIANTS).ok


@shared_task
def ledger_verify() -> bool:
    return ledger_check_run(kind=LedgerCheckRun.Kind.CHAIN).ok
