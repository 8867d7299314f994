"""/healthz (the process is up) and /readyz (database, cache and broker reachable). The
failures here are real failed connections to a port nobody listens on, not mocks."""

import pytest
from django.conf import settings
from django.test import Client, override_settings

from tests.core.envelope import assert_envelope

pytestmark = pytest.mark.django_db

UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"
UNREACHABLE_CACHE = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": UNREACHABLE_REDIS,
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}


def test_healthz_answers_200_without_touching_any_service():
    response = Client().get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["X-Trace-ID"]


def test_readyz_is_200_when_database_cache_and_broker_answer():
    response = Client().get("/readyz")

    assert response.status_code == 200, response.content
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok", "broker": "ok"},
    }


@pytest.mark.redis
def test_readyz_checks_the_real_redis_broker_when_one_is_configured():
    assert settings.CELERY_BROKER_URL.startswith("redis://")

    assert Client().get("/readyz").status_code == 200


def test_readyz_is_503_naming_the_cache_when_redis_is_down():
    with override_settings(CACHES=UNREACHABLE_CACHE):
        response = Client().get("/readyz")

    body = assert_envelope(response, status=503, code="service_unavailable")
    assert "cache" in body["message"]
    checks = body["details"]["checks"]
    assert checks["database"] == "ok"
    assert checks["cache"].startswith("error: ")
    assert checks["broker"] == "ok"


def test_readyz_is_503_naming_the_broker_when_it_is_down():
    with override_settings(CELERY_BROKER_URL=UNREACHABLE_REDIS):
        response = Client().get("/readyz")

    body = assert_envelope(response, status=503, code="service_unavailable")
    assert "broker" in body["message"] and "cache" not in body["message"]
    assert body["details"]["checks"]["broker"].startswith("error: ")
    assert body["details"]["checks"]["cache"] == "ok"


def test_readyz_names_every_failed_dependency_at_once():
    with override_settings(CACHES=UNREACHABLE_CACHE, CELERY_BROKER_URL=UNREACHABLE_REDIS):
        response = Client().get("/readyz")

    body = assert_envelope(response, status=503, code="service_unavailable")
    assert body["message"] == "Not ready: cache, broker unreachable."
