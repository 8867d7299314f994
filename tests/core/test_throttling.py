"""Rate limits per audience: per partner on the partner API (across its users), per client
address on the token endpoints. Rates are read live from settings.API_THROTTLE_RATES."""

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from core.services import partner_user_create
from tests.conftest import PASSWORD, login
from tests.core.envelope import assert_envelope

pytestmark = pytest.mark.django_db

GENEROUS = "1000/min"


def _token_request(client, username, *, address, forwarded_for=None):
    extra = {"REMOTE_ADDR": address}
    if forwarded_for:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return client.post(
        "/api/v1/auth/token/",
        {"username": username, "password": PASSWORD},
        format="json",
        **extra,
    )


def test_a_partner_over_its_rate_gets_429_throttled_with_retry_after(partner_api):
    with override_settings(API_THROTTLE_RATES={"partner": "3/min", "auth": GENEROUS}):
        statuses = [partner_api.get("/api/v1/me/").status_code for _ in range(3)]
        response = partner_api.get("/api/v1/me/")

    assert statuses == [200, 200, 200]
    assert_envelope(response, status=429, code="throttled")
    assert 1 <= int(response["Retry-After"]) <= 60


def test_the_partner_rate_is_shared_by_all_of_the_partners_users(partner_api, partner):
    partner_user_create(partner=partner, username="alpha-api-2", password=PASSWORD)
    colleague = APIClient()
    tokens = login(colleague, "alpha-api-2")
    colleague.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")

    with override_settings(API_THROTTLE_RATES={"partner": "2/min", "auth": GENEROUS}):
        assert partner_api.get("/api/v1/me/").status_code == 200
        assert colleague.get("/api/v1/me/").status_code == 200
        response = colleague.get("/api/v1/me/")

    assert_envelope(response, status=429, code="throttled")


def test_one_partner_being_throttled_does_not_throttle_another(partner_api, other_partner_api):
    with override_settings(API_THROTTLE_RATES={"partner": "1/min", "auth": GENEROUS}):
        partner_api.get("/api/v1/me/")
        assert partner_api.get("/api/v1/me/").status_code == 429
        assert other_partner_api.get("/api/v1/me/").status_code == 200


def test_a_rate_change_in_settings_applies_to_the_next_request(partner_api):
    with override_settings(API_THROTTLE_RATES={"partner": "1/min", "auth": GENEROUS}):
        partner_api.get("/api/v1/me/")
        assert partner_api.get("/api/v1/me/").status_code == 429
    with override_settings(API_THROTTLE_RATES={"partner": "100/min", "auth": GENEROUS}):
        assert partner_api.get("/api/v1/me/").status_code == 200


def test_the_token_endpoint_is_throttled_per_client_address(partner_user):
    client = APIClient()
    with override_settings(API_THROTTLE_RATES={"partner": GENEROUS, "auth": "2/min"}):
        first = _token_request(client, partner_user.username, address="198.51.100.7")
        second = _token_request(client, partner_user.username, address="198.51.100.7")
        third = _token_request(client, partner_user.username, address="198.51.100.7")
        elsewhere = _token_request(client, partner_user.username, address="203.0.113.9")

    assert (first.status_code, second.status_code) == (200, 200)
    assert_envelope(third, status=429, code="throttled")
    assert int(third["Retry-After"]) >= 1
    assert elsewhere.status_code == 200


def test_the_refresh_endpoint_shares_the_auth_rate(partner_user):
    client = APIClient()
    with override_settings(API_THROTTLE_RATES={"partner": GENEROUS, "auth": "1/min"}):
        tokens = _token_request(client, partner_user.username, address="198.51.100.8").json()
        response = client.post(
            "/api/v1/auth/token/refresh/",
            {"refresh": tokens["refresh"]},
            format="json",
            REMOTE_ADDR="198.51.100.8",
        )

    assert_envelope(response, status=429, code="throttled")


def test_a_client_cannot_dodge_the_auth_rate_with_x_forwarded_for(partner_user):
    client = APIClient()
    with override_settings(API_THROTTLE_RATES={"partner": GENEROUS, "auth": "2/min"}):
        responses = [
            _token_request(
                client,
                partner_user.username,
                address="198.51.100.9",
                forwarded_for=f"10.0.0.{n}",
            )
            for n in range(3)
        ]

    assert [r.status_code for r in responses] == [200, 200, 429]
