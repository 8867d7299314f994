"""The partner API's fast request path keeps every guarantee: the user and partner come
from the token (no query), the token store's check and the partner's rate are one Redis
round trip, and anything that must end a session still ends it on the very next request."""

import time

import pytest
from django.db import close_old_connections, connection
from django.test import override_settings
from rest_framework import serializers
from rest_framework.test import APIClient

from core.api.prebuilt_fields import PrebuiltFieldsMixin
from core.services import partner_user_create, session_logout, user_sessions_revoke_all
from core.sessions import RedisTokenStore, token_store
from tests.conftest import PASSWORD, login
from tests.core.envelope import assert_envelope

pytestmark = pytest.mark.django_db


def _bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def _refused(response, reason: str) -> dict:
    body = assert_envelope(response, status=401, code="not_authenticated")
    assert body["details"] == {"reason": reason}, body
    return body


class _RedisCalls:
    """Counts the commands the token store's Redis client sends (each is a round trip)."""

    def __init__(self, store: RedisTokenStore, monkeypatch):
        self.commands = []
        original = store.client.execute_command

        def counting(*args, **options):
            self.commands.append(args[0])
            return original(*args, **options)

        monkeypatch.setattr(store.client, "execute_command", counting)


def test_an_authenticated_request_reads_neither_the_user_nor_the_partner(
    partner_api, partner_user, django_assert_num_queries
):
    with django_assert_num_queries(0):
        response = partner_api.get("/api/v1/me/")

    assert response.status_code == 200
    assert response.json()["user"]["username"] == partner_user.username
    assert response.json()["partner"]["slug"] == "alpha"


@pytest.mark.redis
def test_on_redis_the_token_check_and_the_partner_rate_are_one_round_trip(partner_api, monkeypatch):
    store = token_store()
    assert isinstance(store, RedisTokenStore)
    calls = _RedisCalls(store, monkeypatch)

    assert partner_api.get("/api/v1/me/").status_code == 200

    assert calls.commands == ["EVALSHA"]


@pytest.mark.redis
def test_on_redis_the_partner_rate_counted_with_the_token_check_refuses_when_spent(
    partner_api, monkeypatch
):
    calls = _RedisCalls(token_store(), monkeypatch)
    with override_settings(API_THROTTLE_RATES={"partner": "2/min", "auth": "100/min"}):
        statuses = [partner_api.get("/api/v1/me/").status_code for _ in range(3)]

    assert statuses == [200, 200, 429]
    assert calls.commands == ["EVALSHA"] * 3  # DRF's own throttle never asked the cache


@pytest.mark.redis
@pytest.mark.parametrize("revoke", ["logout", "revoke_all", "password", "deactivate"])
def test_a_revoked_token_is_refused_on_the_very_next_request_on_the_fast_path(
    partner_api, partner_user, revoke, monkeypatch
):
    calls = _RedisCalls(token_store(), monkeypatch)
    assert partner_api.get("/api/v1/me/").status_code == 200
    assert calls.commands == ["EVALSHA"]  # the fast path is the one in use

    if revoke == "logout":
        from rest_framework_simplejwt.tokens import AccessToken

        session_logout(user=partner_user, access=AccessToken(partner_api.tokens["access"]))
    elif revoke == "revoke_all":
        user_sessions_revoke_all(user=partner_user, acting_user=None)
    elif revoke == "password":
        partner_user.set_password("another-long-passphrase")
        partner_user.save()
    else:
        partner_user.is_active = False
        partner_user.save()

    _refused(partner_api.get("/api/v1/me/"), "token_revoked")


def test_a_deactivated_user_is_refused_on_the_next_request(partner_api, partner_user):
    assert partner_api.get("/api/v1/me/").status_code == 200

    partner_user.is_active = False
    partner_user.save(update_fields=["is_active"])

    _refused(partner_api.get("/api/v1/me/"), "token_revoked")
    login_again = APIClient().post(
        "/api/v1/auth/token/",
        {"username": partner_user.username, "password": PASSWORD},
        format="json",
    )
    assert_envelope(login_again, status=401, code="not_authenticated")


def test_a_deactivated_partner_has_every_users_tokens_refused_on_the_next_request(
    partner, partner_api, other_partner_api
):
    partner_user_create(partner=partner, username="alpha-api-2", password=PASSWORD)
    colleague = _bearer(login(APIClient(), "alpha-api-2")["access"])
    assert colleague.get("/api/v1/me/").status_code == 200

    partner.is_active = False
    partner.save()

    _refused(partner_api.get("/api/v1/me/"), "token_revoked")
    _refused(colleague.get("/api/v1/me/"), "token_revoked")
    assert other_partner_api.get("/api/v1/me/").status_code == 200  # beta is untouched


def test_a_user_moved_to_another_partner_has_its_tokens_refused(
    partner_api, partner_user, other_partner
):
    partner_user.partner = other_partner
    partner_user.save()

    _refused(partner_api.get("/api/v1/me/"), "token_revoked")


def test_a_deleted_user_has_its_tokens_refused(partner_api, partner_user):
    from core.models import AuditEvent

    AuditEvent.objects.filter(actor=partner_user).delete()
    partner_user.delete()

    _refused(partner_api.get("/api/v1/me/"), "token_revoked")


def test_a_rename_does_not_end_sessions(partner_api, partner_user):
    partner_user.email = "ops@alpha.example"
    partner_user.save()

    assert partner_api.get("/api/v1/me/").status_code == 200


def test_the_api_request_log_line_carries_trace_user_and_partner(partner_api, partner_user):
    import logging

    from structlog.testing import capture_logs

    with capture_logs() as events:
        partner_api.get("/api/v1/me/", HTTP_X_TRACE_ID="fast-path-trace-01")

    finished = [e for e in events if e["event"] == "request_finished"]
    assert len(finished) == 1
    line = finished[0]
    assert line["code"] == 200
    assert line["request"] == "GET /api/v1/me/"
    assert line["user_id"] == partner_user.pk
    assert line["partner_id"] == str(partner_user.partner_id)
    assert line["log_level"] == logging.getLevelName(logging.INFO).lower()
    assert not [e for e in events if e["event"] == "request_started"]  # one line, not two


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_connection_the_server_closed_is_replaced_before_the_next_request(partner_api):
    """The health check polls the socket (no SELECT 1 per request), and still notices."""
    assert partner_api.get("/api/v1/ledger/accounts/").status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    assert connection.is_usable()
    killer = connection.copy()
    try:
        with killer.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        killer.close()
    deadline = time.monotonic() + 5
    while connection.is_usable() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not connection.is_usable()

    close_old_connections()  # what WSGIHandler does as a request starts (the test client not)
    assert partner_api.get("/api/v1/ledger/accounts/").status_code == 200


class _WithValidators(PrebuiltFieldsMixin, serializers.Serializer):
    name = serializers.CharField(max_length=3)


def test_prebuilt_fields_are_clones_that_share_no_validator_list():
    first, second = _WithValidators(), _WithValidators()

    first.fields["name"].validators.append(lambda value: None)

    assert len(second.fields["name"].validators) == len(_WithValidators().fields["name"].validators)
    assert first.fields["name"] is not second.fields["name"]
    assert _WithValidators(data={"name": "toolong"}).is_valid() is False
    assert _WithValidators(data={"name": "ok"}).is_valid() is True


@pytest.mark.redis
def test_the_redis_cache_builds_one_client_per_pool_not_one_per_call():
    from django.core.cache import cache

    cache.set("fast-path-probe", 7)

    client = cache._cache.get_client(write=True)
    assert cache._cache.get_client(write=True) is client
    assert cache.get("fast-path-probe") == 7


def test_a_token_verified_once_is_not_decoded_again(partner_api, monkeypatch):
    from rest_framework_simplejwt.state import token_backend

    assert partner_api.get("/api/v1/me/").status_code == 200
    decoded = []
    original = token_backend.decode
    monkeypatch.setattr(
        token_backend, "decode", lambda *a, **kw: decoded.append(1) or original(*a, **kw)
    )
    assert partner_api.get("/api/v1/me/").status_code == 200
    assert decoded == []
    access = partner_api.tokens["access"]
    tampered = access[:-4] + ("AAAA" if access[-4:] != "AAAA" else "BBBB")  # its signature
    _refused(_bearer(tampered).get("/api/v1/me/"), "token_invalid")  # another string: verified


def test_a_verified_token_is_refused_as_expired_once_its_time_is_up(partner_api):
    from rest_framework_simplejwt.tokens import AccessToken

    token = AccessToken(partner_api.tokens["access"])
    token["exp"] = int(time.time()) + 2  # same jti, still in the token store
    client = _bearer(str(token))
    assert client.get("/api/v1/me/").status_code == 200  # verified and kept
    time.sleep(max(token["exp"] - time.time(), 0) + 0.1)
    body = _refused(client.get("/api/v1/me/"), "token_expired")
    assert "expired" in body["message"]
