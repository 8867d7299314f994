"""Scheduled jobs: the embedded scheduler runs the beat schedule in-process (so holds expire
under `make run` with no other command), every run is recorded with its result, and the
console shows each job's last run and runs it now for staff with the right."""

import time
from datetime import timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.utils import timezone

from core.admin_jobs import _jobs_tile
from core.models import AuditEvent, JobRun, User
from core.scheduler import ConsoleScheduler, EmbeddedScheduler
from ledger.models import LedgerCheckRun, Transfer
from ledger.services import TransferRequest, account_open, house_accounts_ensure, transfer_create
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db
JOBS = "/admin/core/jobrun/"


@pytest.fixture
def overdue_hold(partner, currencies):
    account = account_open(partner=partner, asset="USD")
    bank = house_accounts_ensure(asset="USD")["settlement_bank"]
    transfer_create(
        request=TransferRequest(
            debit_account_id=bank.pk,
            credit_account_id=account.pk,
            amount=10_000,
            asset="USD",
            code="deposit",
        )
    )
    hold = transfer_create(
        request=TransferRequest(
            debit_account_id=account.pk,
            credit_account_id=bank.pk,
            amount=4_000,
            asset="USD",
            pending=True,
            timeout_seconds=1,
        )
    )
    time.sleep(1.05)  # past its timeout (the journal is never edited, even in a test)
    return hold


@pytest.fixture
def currencies(db):
    from ledger.assets import currency_assets_sync
    from ledger.models import Asset

    currency_assets_sync(Asset)


def _member(group):
    user = User.objects.create_user(username=f"{group}-1", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


# Beat closes "old" database connections between ticks, which ends a test's transaction
# on PostgreSQL: the tests that drive the scheduler commit for real.
@pytest.mark.django_db(transaction=True)
def test_the_embedded_scheduler_runs_the_due_expiry_job_and_records_it(overdue_hold):
    from django_celery_beat.models import PeriodicTask

    from config.celery import app

    EmbeddedScheduler(app=app, lazy=False).close()  # writes the schedule's rows
    PeriodicTask.objects.update(last_run_at=timezone.now() - timedelta(hours=1))  # all due
    scheduler = EmbeddedScheduler(app=app, lazy=False, max_interval=1)
    try:
        for _ in range(10):  # one due job per tick
            scheduler.tick()
    finally:
        scheduler.close()

    overdue_hold.refresh_from_db()
    assert overdue_hold.status == "expired"
    assert Transfer.objects.filter(pending=overdue_hold, kind="expire_pending").count() == 1
    expiry = JobRun.objects.get(job="ledger.tasks.ledger_pending_expire")
    assert (expiry.outcome, expiry.result) == ("ok", "1")
    assert expiry.finished_at >= expiry.started_at
    ran = set(JobRun.objects.values_list("job", flat=True))
    assert ran == {
        "core.tasks.idempotency_keys_purge",
        "ledger.tasks.ledger_pending_expire",
        "ledger.tasks.ledger_check",
        "ledger.tasks.ledger_verify",
        "ledger.tasks.ledger_hold_events_deliver",
        "trading.tasks.trading_holds_release",
        "settlement.tasks.settlement_close_due",
        "settlement.tasks.settlement_batches_advance",
        "risk.tasks.risk_trades_score",
    }
    assert LedgerCheckRun.objects.filter(ok=True).count() == 2  # invariants and chain


@pytest.mark.django_db(transaction=True)
def test_beat_keeps_the_schedule_staff_edited_and_starts_new_entries_at_once():
    """django-celery-beat's own scheduler writes CELERY_BEAT_SCHEDULE over the rows at every
    start: an interval staff changed came back at the next deploy."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    from config.celery import app

    beat = ConsoleScheduler(app=app, lazy=False)
    due = {name for name, entry in beat.schedule.items() if entry.is_due()[0]}
    beat.close()
    assert due >= set(settings.CELERY_BEAT_SCHEDULE)  # installed now, never run: due now
    every_two_minutes, _ = IntervalSchedule.objects.get_or_create(
        every=120, period=IntervalSchedule.SECONDS
    )
    PeriodicTask.objects.filter(name="ledger-check").update(interval=every_two_minutes)
    PeriodicTask.objects.filter(name="settlement-close").update(enabled=False)

    ConsoleScheduler(app=app, lazy=False).close()  # the next deploy's beat

    check = PeriodicTask.objects.get(name="ledger-check")
    assert (check.interval.every, check.task) == (120, "ledger.tasks.ledger_check")
    assert not PeriodicTask.objects.get(name="settlement-close").enabled
    assert PeriodicTask.objects.filter(name__in=settings.CELERY_BEAT_SCHEDULE).count() == len(
        settings.CELERY_BEAT_SCHEDULE
    )


def test_the_scheduler_command_refuses_when_a_broker_runs_the_jobs():
    from config.celery import app

    app.conf.task_always_eager = False  # the autouse fixture puts it back
    with pytest.raises(CommandError, match="celery -A config beat"):
        call_command("run_scheduler", stdout=StringIO())


def test_the_jobs_page_lists_each_job_with_its_last_run(client):
    JobRun.objects.create(
        job="ledger.tasks.ledger_check",
        started_at=timezone.now(),
        finished_at=timezone.now(),
        outcome="ok",
        result="True",
    )
    client.force_login(_member("auditor"))

    page = client.get(JOBS).content.decode()

    for name in (
        "ledger-pending-expire",
        "ledger-check",
        "ledger-verify",
        "idempotency-keys-purge",
    ):
        assert f"job-{name}" in page
    assert "<strong>ok</strong> True" in page
    assert "Run now" not in page  # the auditor reads, it does not run


def test_operations_runs_a_job_now_through_its_task_audited(client, overdue_hold):
    operator = _member("operations")
    client.force_login(operator)

    response = client.post(f"{JOBS}run/ledger-pending-expire/", {"reason": "dashboard said so"})

    assert response.status_code == 302
    overdue_hold.refresh_from_db()
    assert overdue_hold.status == "expired"
    run = JobRun.objects.get()
    assert (run.job, run.outcome, run.result) == ("ledger.tasks.ledger_pending_expire", "ok", "1")
    event = AuditEvent.objects.get(action="job.run_requested")
    assert event.actor == operator
    assert event.target_id == str(run.pk)
    assert event.after == {"job": "ledger-pending-expire", "reason": "dashboard said so"}


def test_a_job_run_now_without_the_right_is_refused(client, overdue_hold):
    client.force_login(_member("auditor"))

    response = client.post(f"{JOBS}run/ledger-pending-expire/")

    assert response.status_code == 403
    overdue_hold.refresh_from_db()
    assert overdue_hold.status == "pending"
    assert not JobRun.objects.exists()


def test_a_failing_job_is_recorded_as_failed_and_turns_the_tile_red(client, monkeypatch):
    import ledger.tasks

    def broken(**kwargs):
        raise RuntimeError("database unreachable")

    monkeypatch.setattr(ledger.tasks, "ledger_check_run", broken)
    client.force_login(_member("operations"))

    client.post(f"{JOBS}run/ledger-check/")

    run = JobRun.objects.get()
    assert run.outcome == "failed"
    assert "RuntimeError: database unreachable" in run.result
    tile = _jobs_tile(None)
    assert tile["status"] == "alert" and "ledger-check" in tile["hint"]


def test_the_jobs_tile_warns_while_a_job_never_ran():
    tile = _jobs_tile(None)

    assert tile["status"] == "warn"
    assert tile["value"] == f"{len(settings.CELERY_BEAT_SCHEDULE)} never run"


# Beat closes "old" database connections between ticks, which ends a test's transaction
# on PostgreSQL: the tests that drive the scheduler commit for real.
@pytest.mark.django_db(transaction=True)
def test_the_scheduler_command_runs_what_never_ran_at_once_then_loops(overdue_hold, monkeypatch):
    """`make run`'s second process: a fresh checkout's jobs run at start, not an interval
    later (the ledger check tile would read "never run" for ten minutes)."""
    import threading
    from types import SimpleNamespace

    from core.management.commands import run_scheduler

    class OneLoop(threading.Event):
        def wait(self, timeout=None):
            if timeout:  # a tick ran nothing (beat runs one due job a tick, then waits 0)
                self.set()  # as if SIGTERM came during the first sleep
            return self.is_set()

    monkeypatch.setattr(run_scheduler, "threading", SimpleNamespace(Event=OneLoop))
    monkeypatch.setattr(run_scheduler.signal, "signal", lambda *args: None)
    out = StringIO()

    call_command("run_scheduler", stdout=out)

    overdue_hold.refresh_from_db()
    assert overdue_hold.status == "expired"
    assert "due now: idempotency-keys-purge, ledger-check" in out.getvalue()
    assert "scheduler: stopped" in out.getvalue()
    assert {kind for kind in LedgerCheckRun.objects.values_list("kind", flat=True)} == {
        "invariants",
        "chain",
    }
    assert _jobs_tile(None)["status"] == "ok"
