"""Liveness (/healthz) and readiness (/readyz: database, cache, broker)."""

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from core.middleware import error_envelope


@require_GET
def healthz(request):
    return JsonResponse({"status": "ok"})


def _check_database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_cache():
    cache.set("readyz", "1", timeout=5)
    if cache.get("readyz") != "1":
        raise RuntimeError("cache did not return what was written")


def _check_broker():
    url = settings.CELERY_BROKER_URL  # read live: the broker the settings name now
    if not url:
        return  # eager mode: tasks run in-process
    from config.celery import app

    # One quick retry, no back-off sleep: a probe must answer within its own timeout.
    with app.connection_for_write(url, connect_timeout=2) as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)


@require_GET
def readyz(request):
    checks = {}
    for name, check in (
        ("database", _check_database),
        ("cache", _check_cache),
        ("broker", _check_broker),
    ):
        try:
            check()
            checks[name] = "ok"
        except Exception as exc:  # any failure means "not ready", and says which
            checks[name] = f"error: {exc.__class__.__name__}"
    failed = [name for name, result in checks.items() if result != "ok"]
    if failed:
        body = error_envelope(
            code="service_unavailable",
            message=f"Not ready: {', '.join(failed)} unreachable.",
            details={"checks": checks},
            trace_id=getattr(request, "trace_id", ""),
        )
        return JsonResponse(body, status=503)
    return JsonResponse({"status": "ok", "checks": checks})
