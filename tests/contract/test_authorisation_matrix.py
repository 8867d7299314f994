"""The authorisation matrix, generated from the URL configuration (tests/contract/urlconf.py):

- every partner endpoint refuses no token, an expired token, a revoked token and a refresh
  token used as an access token, each with the 401 envelope;
- every partner endpoint that names a resource answers partner beta 404 on alpha's, and
  alpha's money, transfers and orders are as they were after beta tried every method on
  it (what names a shared thing, an instrument's symbol, answers beta 200 instead);
- every admin URL refuses an anonymous visitor and a partner user (to the login page, or
  403/404/405), for reading and for writing.

An endpoint whose URL arguments have no resource in `alpha_resources` fails the test."""

from datetime import timedelta

import pytest
from django.test import Client
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from tests.conftest import login
from tests.contract.conftest import SHARED_RESOURCES
from tests.contract.urlconf import admin_paths, api_endpoints
from tests.core.envelope import assert_envelope

pytestmark = pytest.mark.django_db

VERSIONS = ("v1", "v2")


def _call(client, method: str, path: str):
    return getattr(client, method)(path, {}, format="json")


def _bad_tokens(username: str) -> dict[str, str | None]:
    fresh = login(APIClient(), username)
    expired = AccessToken(fresh["access"])  # still live in the token store: only its exp
    expired.set_exp(lifetime=timedelta(seconds=-60))
    revoked = login(APIClient(), username)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {revoked['access']}")
    assert client.post("/api/v1/auth/logout/", {}, format="json").status_code == 204
    return {
        "no token": None,
        "expired token": str(expired),
        "revoked token": revoked["access"],
        "refresh token as access token": fresh["refresh"],
    }


def _partner_endpoints():
    return [e for e in api_endpoints(*VERSIONS) if e.is_partner]


def test_every_partner_endpoint_has_a_resource_for_its_url_arguments(alpha_resources):
    uncovered = [
        f"{endpoint} needs {sorted(set(endpoint.kwargs) - set(alpha_resources))}"
        for endpoint in _partner_endpoints()
        if set(endpoint.kwargs) - set(alpha_resources)
    ]
    assert _partner_endpoints(), "no partner endpoint found: the URL walk is broken"
    assert not uncovered, "add them to tests/contract/conftest.py alpha_resources"


def test_every_partner_endpoint_refuses_missing_expired_revoked_and_refresh_tokens(
    partner_user, alpha_resources, capsys
):
    tokens = _bad_tokens(partner_user.username)
    endpoints = _partner_endpoints()
    cases = 0
    for endpoint in endpoints:
        path = endpoint.path(**{name: alpha_resources[name] for name in endpoint.kwargs})
        for method in endpoint.methods:
            for label, token in tokens.items():
                client = APIClient()
                if token:
                    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
                response = _call(client, method, path)
                assert response.status_code == 401, (str(endpoint), method, label, response)
                assert_envelope(response, status=401, code="not_authenticated")
                cases += 1
    operations = sum(len(e.methods) for e in endpoints)
    assert cases == operations * len(tokens)
    with capsys.disabled():
        print(
            f"\nauthorisation matrix, tokens: {len(endpoints)} partner endpoints, "
            f"{operations} operations, {cases} refused-token cases"
        )


def test_partner_beta_gets_404_on_every_resource_of_alpha_and_changes_nothing(
    partner, alpha_resources, other_partner_api, capsys
):
    from ledger.models import Account, Transfer
    from trading.models import Order

    def state():
        accounts = Account.objects.filter(partner=partner).order_by("pk")
        return (
            list(accounts.values_list("pk", "debits_posted", "credits_posted", "debits_pending")),
            list(Transfer.objects.order_by("pk").values_list("pk", "status")),
            list(Order.objects.order_by("pk").values_list("pk", "status", "filled_quantity")),
        )

    before = state()
    naming = [e for e in _partner_endpoints() if set(e.kwargs) - SHARED_RESOURCES]
    shared = [e for e in _partner_endpoints() if e.kwargs and set(e.kwargs) <= SHARED_RESOURCES]
    for endpoint in shared:  # what every partner may see: beta sees it too
        path = endpoint.path(**{name: alpha_resources[name] for name in endpoint.kwargs})
        assert other_partner_api.get(path).status_code == 200, str(endpoint)
    cases = 0
    for endpoint in naming:
        path = endpoint.path(**{name: alpha_resources[name] for name in endpoint.kwargs})
        for method in endpoint.methods:
            response = _call(other_partner_api, method, path)
            assert response.status_code == 404, (str(endpoint), method, response)
            assert_envelope(response, status=404, code="not_found")
            cases += 1
    assert state() == before
    assert naming, "no partner endpoint names a resource: the URL walk is broken"
    with capsys.disabled():
        print(
            f"\nauthorisation matrix, tenancy: {len(naming)} endpoints naming a resource, "
            f"{cases} cross-partner cases"
        )


def test_every_admin_url_refuses_anonymous_visitors_and_partner_users(partner_user, capsys):
    anonymous = Client()
    partner_browser = Client()
    partner_browser.force_login(partner_user)
    # The doors: logging in and out act on the visitor's own session and show nothing.
    paths = [(name, path) for name, path in admin_paths() if name not in ("login", "logout")]
    cases = 0
    for name, path in paths:
        for who, client in (("anonymous", anonymous), ("partner user", partner_browser)):
            for method in ("get", "post"):
                response = getattr(client, method)(path)
                refused = response.status_code in (403, 404, 405) or (
                    response.status_code == 302 and "/admin/login/" in response["Location"]
                )
                assert refused, (name, path, who, method, response.status_code)
                cases += 1
    assert len(paths) > 20, "the admin's URLs were not found"
    with capsys.disabled():
        print(f"\nauthorisation matrix, admin: {len(paths)} admin URLs, {cases} refused cases")
