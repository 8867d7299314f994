"""X-Trace-ID: kept when well formed, made when absent or garbage, echoed on every response,
in every error body, and carried into Celery tasks' log context."""

import logging
import threading

import pytest
import structlog
from celery.contrib.testing.worker import start_worker
from celery.signals import task_success
from django.conf import settings
from django.test import Client

from config.celery import app as celery_app
from core import tasks
from core.tracing import trace_id_current

pytestmark = pytest.mark.django_db


def test_a_well_formed_incoming_trace_id_is_echoed():
    response = Client().get("/healthz", HTTP_X_TRACE_ID="req-2026-11-26.abc:42")

    assert response["X-Trace-ID"] == "req-2026-11-26.abc:42"


def test_a_uuid_trace_id_is_echoed():
    trace_id = "3f1c9a3e-5b7d-4e2a-9c1f-0d8e7b6a5c4d"

    response = Client().get("/healthz", HTTP_X_TRACE_ID=trace_id)

    assert response["X-Trace-ID"] == trace_id


def test_a_request_without_a_trace_id_gets_a_new_one_each_time():
    first = Client().get("/healthz")["X-Trace-ID"]
    second = Client().get("/healthz")["X-Trace-ID"]

    assert first and second and first != second


@pytest.mark.parametrize(
    "garbage",
    [
        "has spaces in it",
        "x" * 129,
        '"quoted-trace-id"',
        "<script>alert(1)</script>",
        "line\\nbreak-injection",
    ],
    ids=["spaces", "too-long", "quotes", "markup", "backslashes"],
)
def test_a_malformed_incoming_trace_id_is_replaced_by_a_new_one(garbage):
    response = Client().get("/healthz", HTTP_X_TRACE_ID=garbage)

    assert response["X-Trace-ID"] not in ("", garbage)
    assert len(response["X-Trace-ID"]) == 32  # a fresh uuid4 hex


@pytest.mark.parametrize("short", ["a", "abc", "42"])
def test_a_short_trace_id_is_the_callers_own_too(short):
    assert Client().get("/healthz", HTTP_X_TRACE_ID=short)["X-Trace-ID"] == short


def test_the_error_body_carries_the_callers_trace_id(api_client):
    response = api_client.get("/api/v1/me/", HTTP_X_TRACE_ID="partner-request-000123")

    assert response.status_code == 401
    assert response["X-Trace-ID"] == "partner-request-000123"
    assert response.json()["trace_id"] == "partner-request-000123"


def test_the_trace_id_is_on_the_request_log_lines(caplog):
    with caplog.at_level(logging.INFO):
        Client().get("/healthz", HTTP_X_TRACE_ID="trace-in-the-logs-01")

    events = [r.msg for r in caplog.records if isinstance(r.msg, dict)]
    finished = [e for e in events if e.get("event") == "request_finished"]
    assert finished and finished[-1]["trace_id"] == "trace-in-the-logs-01"


def test_an_eager_task_sees_the_callers_trace_id():
    assert celery_app.conf.task_always_eager  # the test default (see tests/conftest.py)

    with structlog.contextvars.bound_contextvars(trace_id="eager-trace-0001"):
        seen = tasks.trace_probe.delay().get()

    assert seen == "eager-trace-0001"


@pytest.mark.urls("tests.core.urls_for_errors")
def test_a_task_enqueued_while_serving_a_request_carries_that_requests_trace_id(partner_api):
    response = partner_api.get("/api/v1/test/trace-probe/", HTTP_X_TRACE_ID="request-to-task-01")

    assert response.status_code == 200
    assert response.json() == {"task_saw": "request-to-task-01"}


class _TaskObserver:
    """What the worker thread saw: trace_probe's return value and its log line."""

    def __init__(self):
        self.done = threading.Event()
        self.result = None
        self.log_events = []

    def on_success(self, sender=None, result=None, **kwargs):
        if sender is not None and sender.name == tasks.trace_probe.name:
            self.result = result
            self.done.set()

    def handler(self):
        observer = self

        class _Capture(logging.Handler):
            def emit(self, record):
                if isinstance(record.msg, dict):
                    observer.log_events.append(dict(record.msg))

        return _Capture(level=logging.INFO)


@pytest.mark.redis
def test_a_real_worker_runs_the_task_in_the_callers_trace_id():
    """A worker thread against the real Redis broker: the trace id travels in the message."""
    celery_app.conf.task_always_eager = False  # restored by the conftest fixture
    assert celery_app.conf.broker_url == settings.CELERY_BROKER_URL == settings.REDIS_URL
    observer = _TaskObserver()
    task_success.connect(observer.on_success, weak=False)
    capture = observer.handler()
    task_logger = logging.getLogger(tasks.__name__)
    try:
        with start_worker(celery_app, perform_ping_check=False, shutdown_timeout=20):
            task_logger.addHandler(capture)  # after the worker set up logging
            with structlog.contextvars.bound_contextvars(trace_id="worker-trace-0001"):
                tasks.trace_probe.delay()
            assert trace_id_current() == ""  # nothing leaked into the caller's context
            assert observer.done.wait(timeout=15), "the worker never ran trace_probe"
    finally:
        task_success.disconnect(observer.on_success)
        task_logger.removeHandler(capture)

    assert observer.result == "worker-trace-0001"
    probe_lines = [e for e in observer.log_events if e.get("event") == "trace_probe"]
    assert probe_lines and probe_lines[0]["trace_id"] == "worker-trace-0001"
    assert probe_lines[0]["task_id"]

    # The worker's signal receivers stay connected in this process: an eager task run
    # afterwards must still see its caller's trace id (and leave the caller's context alone).
    celery_app.conf.task_always_eager = True
    with structlog.contextvars.bound_contextvars(trace_id="after-the-worker-01"):
        assert tasks.trace_probe.delay().get() == "after-the-worker-01"
        assert trace_id_current() == "after-the-worker-01"
