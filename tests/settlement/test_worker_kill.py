"""On PostgreSQL with a REAL Celery worker process on the Redis broker (not eager): the
chain close -> clear -> settle runs on the worker; the worker is SIGKILLed in the middle of
settlement, then the job is retried on a new worker: every obligation posted exactly once,
holds released as the fills consumed, the ledger's invariants hold."""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.db import connection
from django.utils import timezone

from config.celery import app as celery_app
from core.services import partner_create
from ledger.integrity import ledger_check_run
from ledger.models import LedgerCheckRun
from ledger.selectors import account_balance, account_list, transfers_in_batch
from settlement import tasks
from settlement.models import Obligation, SettlementBatch, StepRun
from settlement.services.windows import batch_open_ensure
from tests.settlement.conftest import place

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]
SELLERS = 8


def _worker():
    """`celery -A config worker` against this test's database, one task at a time, slowed
    between partners so the kill lands mid-settlement."""
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "REDIS_URL": settings.REDIS_URL,
        "DEBUG": "false",
        "SECRET_KEY": os.environ.get("SECRET_KEY", "test-only-secret-key-not-for-production"),
        "SETTLEMENT_PARTNER_PAUSE_MS": "400",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "-l", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _test_database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


def _wait_for(predicate, seconds=60.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def market(partner, acme, fund):
    """alpha buys 1 ACME from each of eight sellers; its order stays open for 2 more."""
    fund(partner, "USD", 1_000_000)
    buy = place(partner, acme, cid="b1", side="buy", price=1000, quantity=SELLERS + 2)
    for n in range(SELLERS):
        seller = partner_create(slug=f"seller-{n}", name=f"Seller {n}")
        fund(seller, "ACME", 5)
        place(seller, acme, cid=f"s{n}", side="sell", price=1000, quantity=1)
    return buy


@pytest.fixture
def broker():
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.flushdb()  # our own db number: no message left from an earlier run
    celery_app.conf.task_always_eager = False  # restored by tests/conftest.py
    yield
    client.flushdb()


def test_a_worker_killed_mid_settlement_then_retried_posts_every_obligation_once(
    market, broker, partner
):
    batch = batch_open_ensure()
    SettlementBatch.objects.filter(pk=batch.pk).update(cutoff=timezone.now() - timedelta(minutes=1))
    worker = _worker()
    try:
        tasks.settlement_close_due.delay()
        posted = Obligation.objects.filter(batch=batch, status="posted")
        assert _wait_for(lambda: posted.count() >= 2), "the worker never started settling"
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
    total = Obligation.objects.filter(batch=batch).count()
    done_before = posted.count()
    assert total == 2 + SELLERS * 2 and 2 <= done_before < total
    batch.refresh_from_db()
    assert batch.state == "cleared"  # stuck mid-settlement: the job must be retried

    worker = _worker()
    try:
        tasks.settlement_batches_advance.delay()  # what beat's sweep sends
        reconciled = StepRun.objects.filter(batch=batch, step="reconcile", outcome="done")
        assert _wait_for(reconciled.exists, seconds=90), "the retry never finished"
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(20)

    batch.refresh_from_db()
    assert batch.state == "settled"
    assert StepRun.objects.get(batch=batch, step="settle").attempts == 2
    assert posted.count() == total
    postings = transfers_in_batch(batch_id=batch.pk).filter(kind="single_phase")
    assert postings.count() == total  # no obligation nets to zero here: one posting each
    assert sorted(postings.values_list("pk", flat=True)) == sorted(
        Obligation.objects.filter(batch=batch).values_list("transfer_id", flat=True)
    )
    alpha_usd = account_list(partner=partner).get(asset_id="USD", code="main")
    alpha_acme = account_list(partner=partner).get(asset_id="ACME", code="main")
    assert account_balance(account=alpha_usd).posted == 1_000_000 - SELLERS * 1000
    assert account_balance(account=alpha_usd).available == 1_000_000 - (SELLERS + 2) * 1000
    assert account_balance(account=alpha_acme).posted == SELLERS
    assert ledger_check_run(kind=LedgerCheckRun.Kind.INVARIANTS).ok
