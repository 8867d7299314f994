"""JWT sessions: token -> me -> logout, refresh rotation, and every way a session ends at
once (logout, password change, staff "revoke all sessions")."""

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from core.models import AuditEvent
from tests.conftest import PASSWORD, login
from tests.core.envelope import assert_envelope

pytestmark = pytest.mark.django_db


def _bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def _refresh(refresh: str):
    return APIClient().post("/api/v1/auth/token/refresh/", {"refresh": refresh}, format="json")


def test_a_partner_user_gets_a_token_pair_and_sees_itself_and_its_partner(partner_user):
    tokens = login(APIClient(), partner_user.username)

    response = _bearer(tokens["access"]).get("/api/v1/me/")

    assert response.status_code == 200
    assert response.json() == {
        "user": {"id": partner_user.pk, "username": "alpha-api", "email": ""},
        "partner": {
            "id": str(partner_user.partner_id),
            "slug": "alpha",
            "name": "Alpha Capital",
        },
    }


def test_a_login_records_last_login_and_a_refresh_does_not(partner_user):
    assert partner_user.last_login is None
    tokens = login(APIClient(), partner_user.username)
    partner_user.refresh_from_db()
    logged_in_at = partner_user.last_login
    assert logged_in_at is not None

    assert _refresh(tokens["refresh"]).status_code == 200

    partner_user.refresh_from_db()
    assert partner_user.last_login == logged_in_at


def test_wrong_password_is_401_not_authenticated(partner_user):
    response = APIClient().post(
        "/api/v1/auth/token/",
        {"username": partner_user.username, "password": "wrong-password"},
        format="json",
    )

    assert_envelope(response, status=401, code="not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_user_of_an_inactive_partner_cannot_log_in(partner_user):
    partner_user.partner.is_active = False
    partner_user.partner.save(update_fields=["is_active"])

    response = APIClient().post(
        "/api/v1/auth/token/",
        {"username": partner_user.username, "password": PASSWORD},
        format="json",
    )

    assert_envelope(response, status=401, code="not_authenticated")


def test_after_logout_the_same_access_token_is_refused(partner_user):
    tokens = login(APIClient(), partner_user.username)
    client = _bearer(tokens["access"])
    assert client.get("/api/v1/me/").status_code == 200

    response = client.post("/api/v1/auth/logout/", {"refresh": tokens["refresh"]}, format="json")

    assert response.status_code == 204
    assert response.content == b""
    assert_envelope(client.get("/api/v1/me/"), status=401, code="not_authenticated")


def test_the_refresh_token_given_to_logout_is_refused_on_refresh(partner_user):
    tokens = login(APIClient(), partner_user.username)
    _bearer(tokens["access"]).post(
        "/api/v1/auth/logout/", {"refresh": tokens["refresh"]}, format="json"
    )

    assert_envelope(_refresh(tokens["refresh"]), status=401, code="not_authenticated")


def test_logout_without_a_refresh_token_ends_only_the_access_token(partner_user):
    tokens = login(APIClient(), partner_user.username)

    assert _bearer(tokens["access"]).post("/api/v1/auth/logout/").status_code == 204

    assert _bearer(tokens["access"]).get("/api/v1/me/").status_code == 401
    assert _refresh(tokens["refresh"]).status_code == 200


def test_logout_cannot_end_another_users_refresh_token(partner_user, other_partner_user):
    mine = login(APIClient(), partner_user.username)
    theirs = login(APIClient(), other_partner_user.username)

    _bearer(mine["access"]).post("/api/v1/auth/logout/", {"refresh": theirs["refresh"]})

    assert _refresh(theirs["refresh"]).status_code == 200


def test_refresh_gives_a_new_pair_and_the_old_refresh_token_is_refused(partner_user):
    tokens = login(APIClient(), partner_user.username)

    response = _refresh(tokens["refresh"])

    assert response.status_code == 200
    rotated = response.json()
    assert set(rotated) == {"access", "refresh"}
    assert rotated["refresh"] != tokens["refresh"]
    assert _bearer(rotated["access"]).get("/api/v1/me/").status_code == 200
    assert_envelope(_refresh(tokens["refresh"]), status=401, code="not_authenticated")
    # Presenting the rotated token again was reuse: its family, the new pair included, is
    # revoked (tests/core/test_token_lifecycle.py).
    assert _refresh(rotated["refresh"]).status_code == 401


def test_an_access_token_is_not_a_refresh_token(partner_user):
    tokens = login(APIClient(), partner_user.username)

    assert_envelope(_refresh(tokens["access"]), status=401, code="not_authenticated")


def test_a_password_change_refuses_every_existing_token(partner_user):
    tokens = login(APIClient(), partner_user.username)

    partner_user.set_password("a-brand-new-password")
    partner_user.save()

    assert_envelope(
        _bearer(tokens["access"]).get("/api/v1/me/"), status=401, code="not_authenticated"
    )
    assert_envelope(_refresh(tokens["refresh"]), status=401, code="not_authenticated")
    assert login(APIClient(), partner_user.username, "a-brand-new-password")["access"]


def test_the_staff_revoke_all_sessions_action_refuses_the_users_tokens_at_once(
    partner_user, staff_client, staff_user
):
    first = login(APIClient(), partner_user.username)
    second = login(APIClient(), partner_user.username)

    action = {"action": "revoke_all_sessions", "_selected_action": [partner_user.pk]}
    asked = staff_client.post("/admin/core/user/", action)
    assert asked.status_code == 200 and "Yes, revoke their sessions" in asked.content.decode()
    assert _bearer(first["access"]).get("/api/v1/me/").status_code == 200  # not yet

    response = staff_client.post(
        "/admin/core/user/", {**action, "confirmed": "yes", "reason": "leaked credential"}
    )

    assert response.status_code == 302
    for tokens in (first, second):
        assert_envelope(
            _bearer(tokens["access"]).get("/api/v1/me/"), status=401, code="not_authenticated"
        )
        assert_envelope(_refresh(tokens["refresh"]), status=401, code="not_authenticated")
    event = AuditEvent.objects.get(action="user.sessions_revoked")
    assert event.actor == staff_user
    assert event.target_type == "core.user"
    assert event.target_id == str(partner_user.pk)
    assert event.after == {"reason": "leaked credential"}
    # A new login afterwards works: revocation ends sessions, not the account.
    fresh = login(APIClient(), partner_user.username)
    assert _bearer(fresh["access"]).get("/api/v1/me/").status_code == 200


def test_revoking_one_users_sessions_leaves_other_users_alone(
    partner_user, other_partner_user, staff_client
):
    theirs = login(APIClient(), other_partner_user.username)

    mine = login(APIClient(), partner_user.username)

    staff_client.post(
        "/admin/core/user/",
        {
            "action": "revoke_all_sessions",
            "_selected_action": [partner_user.pk],
            "confirmed": "yes",
            "reason": "leaked credential",
        },
    )

    assert _bearer(mine["access"]).get("/api/v1/me/").status_code == 401
    assert _bearer(theirs["access"]).get("/api/v1/me/").status_code == 200


def test_an_access_token_lives_five_minutes_by_default(partner_user):
    tokens = login(APIClient(), partner_user.username)

    access = AccessToken(tokens["access"])

    assert access["exp"] - access["iat"] == 300
    assert RefreshToken(tokens["refresh"])["user_id"] == access["user_id"]


def test_a_token_for_a_user_without_a_partner_is_refused(staff_user):
    """Even a correctly signed, stored token is refused when its user is not a partner's."""
    from core.sessions import session_token_register

    access = AccessToken.for_user(staff_user)
    session_token_register(access)

    assert_envelope(_bearer(str(access)).get("/api/v1/me/"), status=401, code="not_authenticated")


def test_a_signed_token_that_was_never_issued_is_refused(partner_user):
    forged = AccessToken.for_user(partner_user)  # valid signature, but not in the token store

    assert_envelope(_bearer(str(forged)).get("/api/v1/me/"), status=401, code="not_authenticated")
