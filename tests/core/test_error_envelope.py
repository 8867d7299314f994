"""Every API error, 4xx and 5xx, whoever raised it, is the one envelope of API.md."""

import pytest
from django.test import Client, override_settings
from rest_framework.test import APIClient

from tests.conftest import PASSWORD
from tests.core.envelope import assert_envelope

pytestmark = pytest.mark.django_db


def test_validation_error_is_400_with_the_messages_per_field(api_client):
    response = api_client.post("/api/v1/auth/token/", {"username": "alpha-api"}, format="json")

    body = assert_envelope(response, status=400, code="validation_error")
    assert body["details"] == {"password": ["This field is required."]}


def test_malformed_json_is_a_validation_error(api_client):
    response = api_client.post(
        "/api/v1/auth/token/", data="{not json", content_type="application/json"
    )

    assert_envelope(response, status=400, code="validation_error")


def test_no_token_is_401_not_authenticated_with_a_bearer_challenge(api_client):
    response = api_client.get("/api/v1/me/")

    body = assert_envelope(response, status=401, code="not_authenticated")
    assert body["details"] == {}
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_bad_token_is_401_not_authenticated(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-jwt")

    response = api_client.get("/api/v1/me/")

    assert_envelope(response, status=401, code="not_authenticated")


def test_a_staff_user_cannot_obtain_an_api_token(api_client, staff_user):
    response = api_client.post(
        "/api/v1/auth/token/",
        {"username": staff_user.username, "password": PASSWORD},
        format="json",
    )

    assert_envelope(response, status=401, code="not_authenticated")


def test_an_authenticated_user_without_a_partner_is_403_permission_denied(staff_user):
    client = APIClient()
    client.force_authenticate(user=staff_user)  # past authentication: the permission decides

    response = client.get("/api/v1/me/")

    assert_envelope(response, status=403, code="permission_denied")


@pytest.mark.urls("tests.core.urls_for_errors")
def test_a_domain_permission_error_is_403_permission_denied(partner_api):
    response = partner_api.get("/api/v1/test/forbidden/")

    body = assert_envelope(response, status=403, code="permission_denied")
    assert body["message"] == "Partners may not do this."


@pytest.mark.urls("tests.core.urls_for_errors")
def test_djangos_own_permission_denied_under_api_is_the_envelope():
    response = Client().get("/api/v1/test/django-forbidden/")

    assert_envelope(response, status=403, code="permission_denied")


def test_an_unknown_path_under_the_api_is_404_not_found(partner_api):
    response = partner_api.get("/api/v1/no-such-thing/")

    assert_envelope(response, status=404, code="not_found")


def test_an_unknown_api_version_is_404_not_found(partner_api):
    response = partner_api.get("/api/v3/me/")

    assert_envelope(response, status=404, code="not_found")


def test_outside_the_api_a_404_stays_djangos_own_page():
    response = Client().get("/no-such-page/")

    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_a_wrong_method_is_405_with_the_allowed_methods(partner_api, method):
    response = getattr(partner_api, method)("/api/v1/me/", {}, format="json")

    assert_envelope(response, status=405, code="method_not_allowed")
    allowed = {item.strip() for item in response["Allow"].split(",")}
    assert "GET" in allowed
    assert method.upper() not in allowed


def test_too_many_requests_is_429_throttled_with_retry_after(partner_api):
    with override_settings(API_THROTTLE_RATES={"partner": "2/min", "auth": "100/min"}):
        assert partner_api.get("/api/v1/me/").status_code == 200
        assert partner_api.get("/api/v1/me/").status_code == 200
        response = partner_api.get("/api/v1/me/")

    assert_envelope(response, status=429, code="throttled")
    assert 0 < int(response["Retry-After"]) <= 60


@pytest.mark.urls("tests.core.urls_for_errors")
@pytest.mark.parametrize("debug", [False, True], ids=["production", "debug"])
@pytest.mark.parametrize("path", ["/api/v1/test/drf-boom/", "/api/v1/test/django-boom/"])
def test_a_view_that_raises_is_500_internal_error_and_reveals_nothing(settings, path, debug):
    settings.DEBUG = debug
    client = Client(raise_request_exception=False)

    response = client.get(path, HTTP_X_TRACE_ID="support-ticket-0001")

    body = assert_envelope(response, status=500, code="internal_error")
    assert body["trace_id"] == "support-ticket-0001"
    assert body["details"] == {}
    assert "bug" not in response.content.decode()  # no exception text, no traceback


@pytest.mark.urls("tests.core.urls_for_errors")
def test_an_error_rewritten_under_a_deprecated_version_keeps_the_deprecation_headers(
    settings,
):
    settings.API_DEPRECATED_VERSIONS = {"v1": "2027-06-30"}

    response = Client(raise_request_exception=False).get("/api/v1/test/django-boom/")

    assert_envelope(response, status=500, code="internal_error")
    assert response["Deprecation"] == "true"
    assert "Sunset" in response
