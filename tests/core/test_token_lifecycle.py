"""Refresh-token rotation with reuse detection (OAuth 2.0 security BCP: presenting a
rotated refresh token revokes its whole family), and refused tokens that say why:
expired, revoked, reused or invalid, each its own `details.reason`."""

import time

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from core.models import AuditEvent
from tests.conftest import login
from tests.core.envelope import assert_envelope

pytestmark = pytest.mark.django_db


def _bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def _refresh(refresh: str):
    return APIClient().post("/api/v1/auth/token/refresh/", {"refresh": refresh}, format="json")


def _refused(response, reason: str) -> dict:
    body = assert_envelope(response, status=401, code="not_authenticated")
    assert body["details"] == {"reason": reason}, body
    return body


def _expired(raw: str, token_class) -> str:
    """The same token (same jti, still in the token store) re-signed as expired."""
    token = token_class(raw)
    token["exp"] = int(time.time()) - 10
    return str(token)


def test_presenting_a_rotated_refresh_token_again_revokes_its_whole_family(partner_user):
    first = login(APIClient(), partner_user.username)
    second = _refresh(first["refresh"]).json()
    third = _refresh(second["refresh"]).json()
    assert _bearer(third["access"]).get("/api/v1/me/").status_code == 200

    replay = _refresh(first["refresh"])  # a stolen copy of the first refresh token

    body = _refused(replay, "token_reused")
    assert "already used" in body["message"]
    for descendant in (second, third):  # everything issued from that login is refused now
        _refused(_bearer(descendant["access"]).get("/api/v1/me/"), "token_revoked")
    _refused(_refresh(third["refresh"]), "token_revoked")
    event = AuditEvent.objects.get(action="user.refresh_token_reused")
    assert event.target_id == str(partner_user.pk)
    assert event.after["family"] == RefreshToken(first["refresh"])["family"]


def test_a_reused_refresh_token_leaves_the_users_other_sessions_alone(partner_user):
    stolen = login(APIClient(), partner_user.username)
    other_device = login(APIClient(), partner_user.username)
    _refresh(stolen["refresh"])

    _refused(_refresh(stolen["refresh"]), "token_reused")

    assert _bearer(other_device["access"]).get("/api/v1/me/").status_code == 200
    assert _refresh(other_device["refresh"]).status_code == 200


def test_rotation_keeps_the_family_and_the_partner_in_the_new_tokens(partner_user):
    first = login(APIClient(), partner_user.username)

    rotated = _refresh(first["refresh"]).json()

    family = RefreshToken(first["refresh"])["family"]
    assert RefreshToken(rotated["refresh"])["family"] == family
    assert AccessToken(rotated["access"])["family"] == family
    assert AccessToken(rotated["access"])["partner_id"] == str(partner_user.partner_id)


def test_a_logged_out_refresh_token_is_refused_without_revoking_anything_else(partner_user):
    tokens = login(APIClient(), partner_user.username)
    rotated = _refresh(tokens["refresh"]).json()
    logout = _bearer(rotated["access"]).post(
        "/api/v1/auth/logout/", {"refresh": rotated["refresh"]}, format="json"
    )
    assert logout.status_code == 204

    _refused(_refresh(rotated["refresh"]), "token_revoked")


def test_an_expired_access_token_says_it_expired(partner_user):
    tokens = login(APIClient(), partner_user.username)

    response = _bearer(_expired(tokens["access"], AccessToken)).get("/api/v1/me/")

    body = _refused(response, "token_expired")
    assert "expired" in body["message"]
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_an_expired_refresh_token_says_it_expired(partner_user):
    tokens = login(APIClient(), partner_user.username)

    body = _refused(_refresh(_expired(tokens["refresh"], RefreshToken)), "token_expired")

    assert "expired" in body["message"]


def test_a_revoked_token_says_it_was_revoked_not_that_it_expired(partner_user):
    tokens = login(APIClient(), partner_user.username)
    client = _bearer(tokens["access"])
    client.post("/api/v1/auth/logout/")

    body = _refused(client.get("/api/v1/me/"), "token_revoked")

    assert "expired" not in body["message"]


@pytest.mark.parametrize(
    "token",
    ["not-a-jwt", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30.forged-signature"],
    ids=["garbage", "three-parts", "bad-signature"],
)
def test_a_malformed_or_forged_token_is_invalid(partner_user, token):
    _refused(_bearer(token).get("/api/v1/me/"), "token_invalid")


def test_a_refresh_token_used_as_an_access_token_is_invalid(partner_user):
    tokens = login(APIClient(), partner_user.username)

    _refused(_bearer(tokens["refresh"]).get("/api/v1/me/"), "token_invalid")


def test_tokens_carry_no_password_hash(partner_user):
    tokens = login(APIClient(), partner_user.username)

    for token in (AccessToken(tokens["access"]), RefreshToken(tokens["refresh"])):
        assert "hash_password" not in token.payload
        assert not any("password" in claim for claim in token.payload)
