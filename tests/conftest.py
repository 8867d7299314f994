"""Shared fixtures. Tests that need PostgreSQL or Redis carry the `postgres` / `redis`
marker: without the service they skip locally, and fail under CI=true."""

import os

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from core.services import partner_create, partner_user_create

PASSWORD = "correct-horse-battery"
UNDER_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _missing_service(item) -> str | None:
    if item.get_closest_marker("postgres") and connection.vendor != "postgresql":
        return "needs PostgreSQL: set DATABASE_URL"
    if item.get_closest_marker("redis") and not settings.REDIS_URL:
        return "needs Redis: set REDIS_URL"
    return None


def pytest_runtest_setup(item):
    reason = _missing_service(item)
    if reason:
        if UNDER_CI:
            pytest.fail(f"{reason} (CI=true: a missing service is a failure)")
        pytest.skip(reason)


def _captures_start_after_deferred_writes():
    """A statement count (CaptureQueriesContext, django_assert_num_queries) starts with the
    writes deferred before it sent: core.postgresql sends a deferred write with the next
    statement or the COMMIT, and in a test, whose transaction never commits, the next one
    may be the first of the code being counted."""
    enter = CaptureQueriesContext.__enter__

    def entered(self):
        send = getattr(self.connection, "deferred_send", None)
        if send is not None and self.connection.connection is not None:
            send()
        return enter(self)

    CaptureQueriesContext.__enter__ = entered


_captures_start_after_deferred_writes()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Logins are part of most API tests; a deliberately slow hash only slows the suite."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Token store, throttle counters and velocity counters start empty in every test, and
    so do the kept account ids: a test that runs its on-commit callbacks by hand keeps ids
    of accounts its rollback then removes."""
    from ledger.selectors import account_ids_forget

    cache.clear()
    account_ids_forget()
    yield
    cache.clear()
    account_ids_forget()


@pytest.fixture
def partner(db):
    return partner_create(slug="alpha", name="Alpha Capital")


@pytest.fixture
def other_partner(db):
    return partner_create(slug="beta", name="Beta Payments")


@pytest.fixture
def partner_user(partner):
    return partner_user_create(partner=partner, username="alpha-api", password=PASSWORD)


@pytest.fixture
def other_partner_user(other_partner):
    return partner_user_create(partner=other_partner, username="beta-api", password=PASSWORD)


@pytest.fixture
def api_client():
    return APIClient()


def login(client: APIClient, username: str, password: str = PASSWORD) -> dict:
    response = client.post(
        "/api/v1/auth/token/", {"username": username, "password": password}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture
def partner_api(partner_user):
    """An API client logged in as the partner user (Bearer access token set)."""
    client = APIClient()
    tokens = login(client, partner_user.username)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    client.tokens = tokens
    return client


@pytest.fixture
def other_partner_api(other_partner_user):
    client = APIClient()
    tokens = login(client, other_partner_user.username)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    client.tokens = tokens
    return client


@pytest.fixture
def staff_user(db):
    from core.models import User

    return User.objects.create_user(
        username="ops", password=PASSWORD, is_staff=True, is_superuser=True
    )


@pytest.fixture
def second_staff_user(db):
    from core.models import User

    return User.objects.create_user(
        username="ops2", password=PASSWORD, is_staff=True, is_superuser=True
    )


@pytest.fixture(autouse=True)
def _celery_runs_tasks_in_process():
    """Tasks run eagerly in tests, whatever broker REDIS_URL configures: nothing is left
    queued in Redis for a worker that never comes. A test that needs a real worker says so
    (see tests/core/test_trace_id.py) and switches this off for itself."""
    from config.celery import app

    saved = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = saved


@pytest.fixture
def staff_client(staff_user):
    """A browser session logged into the admin as a superuser."""
    from django.test import Client

    client = Client()
    client.force_login(staff_user)
    return client
