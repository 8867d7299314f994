"""Brute-force protection (django-axes) on the token endpoint and the admin login: after
AXES_FAILURE_LIMIT wrong passwords, even the right one is refused for the cool-off."""

import pytest
from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient

from tests.conftest import PASSWORD
from tests.core.envelope import assert_envelope

pytestmark = pytest.mark.django_db


def _token(username, password, address="192.0.2.10"):
    return APIClient().post(
        "/api/v1/auth/token/",
        {"username": username, "password": password},
        format="json",
        REMOTE_ADDR=address,
    )


def _admin_login(client, username, password, address="192.0.2.20"):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": password},
        REMOTE_ADDR=address,
    )


def test_the_token_endpoint_locks_a_username_out_after_the_failure_limit(partner_user):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert_envelope(
            _token(partner_user.username, "wrong"), status=401, code="not_authenticated"
        )
    last_failure = _token(partner_user.username, "wrong")

    right_password = _token(partner_user.username, PASSWORD)

    assert_envelope(last_failure, status=429, code="throttled")
    body = assert_envelope(right_password, status=429, code="throttled")
    assert "try again later" in body["message"]
    assert int(right_password["Retry-After"]) == settings.AXES_COOLOFF_TIME.total_seconds()
    assert "access" not in right_password.json()


def test_a_lockout_is_per_username_and_address(partner_user, other_partner_user):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _token(partner_user.username, "wrong")

    assert _token(other_partner_user.username, PASSWORD).status_code == 200
    assert _token(partner_user.username, PASSWORD, address="192.0.2.99").status_code == 200


def test_a_successful_login_forgets_earlier_failures(partner_user):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _token(partner_user.username, "wrong")
    assert _token(partner_user.username, PASSWORD).status_code == 200

    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _token(partner_user.username, "wrong")

    assert _token(partner_user.username, PASSWORD).status_code == 200


def test_the_admin_login_locks_a_staff_user_out_after_the_failure_limit(staff_user):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _admin_login(client, staff_user.username, "wrong").status_code == 200  # form again

    last_failure = _admin_login(client, staff_user.username, "wrong")
    right_password = _admin_login(client, staff_user.username, PASSWORD)

    assert last_failure.status_code == 429
    assert right_password.status_code == 429
    assert int(right_password["Retry-After"]) == settings.AXES_COOLOFF_TIME.total_seconds()
    index = client.get("/admin/")
    assert index.status_code == 302
    assert index["Location"].startswith("/admin/login/")


def test_the_admin_login_works_before_any_lockout(staff_user):
    client = Client()

    response = _admin_login(client, staff_user.username, PASSWORD)

    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200
