"""A partner's day over real HTTP against a live server, with a real Celery worker on the
Redis broker running the scheduled ledger jobs: the way partners and beat see the system."""

import json
import time
import urllib.error
import urllib.request
import uuid

import pytest
from celery.contrib.testing.worker import start_worker

from config.celery import app as celery_app
from core.services import partner_create, partner_user_create
from ledger import tasks
from ledger.models import LedgerCheckRun
from ledger.services import account_open
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


class Http:
    def __init__(self, base_url: str):
        self.base_url = base_url
        self.token = None

    def call(self, method: str, path: str, body=None, headers=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                raw = response.read()
                return response.status, (json.loads(raw) if raw else None), response.headers
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read()), error.headers


@pytest.fixture
def day(live_server, fund):
    alpha = partner_create(slug="alpha", name="Alpha Capital")
    beta = partner_create(slug="beta", name="Beta Payments")
    partner_user_create(partner=alpha, username="alpha-e2e", password=PASSWORD)
    alpha_usd = account_open(partner=alpha, asset="USD")
    beta_usd = account_open(partner=beta, asset="USD")
    fund(alpha_usd, 100_000)  # 1,000.00
    return Http(live_server.url), alpha_usd, beta_usd


@pytest.fixture
def worker():
    celery_app.conf.task_always_eager = False  # restored by tests/conftest.py
    with start_worker(celery_app, perform_ping_check=False, shutdown_timeout=20):
        yield


def _wait_for(predicate, *, seconds: float = 15):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_a_partners_day_from_login_to_logout(day, worker):
    http, alpha_usd, beta_usd = day

    status, tokens, headers = http.call(
        "POST", "/api/v1/auth/token/", {"username": "alpha-e2e", "password": PASSWORD}
    )
    assert status == 200 and headers["X-Trace-ID"]
    http.token = tokens["access"]
    status, me, _ = http.call("GET", "/api/v1/me/")
    assert (status, me["partner"]["slug"]) == (200, "alpha")

    status, page, _ = http.call("GET", "/api/v1/ledger/accounts/?asset=USD")
    assert status == 200 and [a["id"] for a in page["results"]] == [str(alpha_usd.pk)]

    payment = {
        "debit_account": str(alpha_usd.pk),
        "credit_account": str(beta_usd.pk),
        "amount": "250.50",
        "asset": "USD",
        "reference": "invoice 7",
    }
    key = {"Idempotency-Key": f"pay-{uuid.uuid4()}"}
    status, paid, _ = http.call("POST", "/api/v1/ledger/transfers/", payment, key)
    assert (status, paid["status"], paid["amount"]) == (201, "posted", "250.50")
    status, again, headers = http.call("POST", "/api/v1/ledger/transfers/", payment, key)
    assert (status, again["id"], headers["Idempotent-Replayed"]) == (201, paid["id"], "true")

    hold = {**payment, "amount": "100.00", "pending": True, "timeout_seconds": 1}
    status, pending, _ = http.call("POST", "/api/v1/ledger/transfers/", hold)
    assert (status, pending["status"]) == (201, "pending")
    status, account, _ = http.call("GET", f"/api/v1/ledger/accounts/{alpha_usd.pk}/")
    assert account["balance"] == {"posted": "749.50", "pending": "-100.00", "available": "649.50"}

    time.sleep(1.2)  # past the timeout; the worker's beat job expires it
    tasks.ledger_pending_expire.delay()
    assert _wait_for(
        lambda: (
            http.call("GET", f"/api/v1/ledger/transfers/{pending['id']}/")[1]["status"] == "expired"
        )
    ), "the worker never expired the pending transfer"
    status, account, _ = http.call("GET", f"/api/v1/ledger/accounts/{alpha_usd.pk}/")
    assert account["balance"] == {"posted": "749.50", "pending": "0.00", "available": "749.50"}

    tasks.ledger_check.delay()
    assert _wait_for(lambda: LedgerCheckRun.objects.exists()), "ledger_check never ran"
    assert LedgerCheckRun.objects.get().ok

    status, _, _ = http.call("POST", "/api/v1/auth/logout/", {"refresh": tokens["refresh"]})
    assert status == 204
    status, error, _ = http.call("GET", "/api/v1/me/")
    assert (status, error["code"]) == (401, "not_authenticated")
