"""A version marked deprecated in settings answers with Deprecation and Sunset headers."""

from email.utils import parsedate_to_datetime

import pytest
from django.test import override_settings

pytestmark = pytest.mark.django_db


@override_settings(API_DEPRECATED_VERSIONS={"v1": "2027-06-30"})
def test_a_deprecated_version_carries_deprecation_and_a_sunset_http_date(partner_api):
    response = partner_api.get("/api/v1/me/")

    assert response.status_code == 200
    assert response["Deprecation"] == "true"
    assert response["Sunset"] == "Wed, 30 Jun 2027 00:00:00 GMT"
    assert parsedate_to_datetime(response["Sunset"]).year == 2027


@override_settings(API_DEPRECATED_VERSIONS={"v1": "2027-06-30"})
def test_the_current_version_carries_neither_header(partner_api):
    response = partner_api.get("/api/v2/me/")

    assert response.status_code == 200
    assert "Deprecation" not in response
    assert "Sunset" not in response


@override_settings(API_DEPRECATED_VERSIONS={"v1": "2027-06-30"})
def test_errors_of_a_deprecated_version_carry_the_headers_too(api_client):
    response = api_client.get("/api/v1/me/")

    assert response.status_code == 401
    assert response["Deprecation"] == "true"


def test_no_version_is_deprecated_by_default(partner_api):
    response = partner_api.get("/api/v1/me/")

    assert "Deprecation" not in response
    assert "Sunset" not in response
