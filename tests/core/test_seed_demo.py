"""`seed_demo` makes the demo staff user, partners and their users, and is idempotent."""

from io import StringIO

import pytest
from django.core.management import call_command

from core.models import Partner, User

pytestmark = pytest.mark.django_db


def _seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_seed_demo_twice_leaves_one_admin_two_partners_and_their_users(settings):
    settings.DEMO_PASSWORD = "demo-password-123"

    first = _seed()
    second = _seed()

    admin = User.objects.get(username="admin")
    assert admin.is_staff and admin.is_superuser and admin.partner is None
    assert sorted(Partner.objects.values_list("slug", flat=True)) == ["alpha", "beta"]
    assert User.objects.count() == 4  # admin, ops, alpha, beta
    ops = User.objects.get(username="ops")
    assert ops.is_staff and not ops.is_superuser and ops.partner is None
    assert list(ops.groups.values_list("name", flat=True)) == ["operations"]
    assert ops.check_password("demo-password-123")
    for slug in ("alpha", "beta"):
        user = User.objects.get(username=slug)
        assert user.partner.slug == slug
        assert not user.is_staff
        assert user.check_password("demo-password-123")
    assert admin.check_password("demo-password-123")
    for output in (first, second):
        assert "admin / demo-password-123" in output
        assert "ops / demo-password-123" in output
        assert "alpha / demo-password-123" in output
        assert "beta / demo-password-123" in output


def test_without_a_demo_password_it_makes_one_and_prints_it(settings):
    settings.DEMO_PASSWORD = ""

    output = _seed()

    line = next(line for line in output.splitlines() if "login: admin / " in line)
    password = line.rsplit(" / ", 1)[1].strip()
    assert len(password) >= 12
    assert User.objects.get(username="admin").check_password(password)
    assert User.objects.get(username="alpha").check_password(password)


def test_the_demo_partner_users_can_use_the_api(settings, api_client):
    settings.DEMO_PASSWORD = "demo-password-123"
    _seed()

    response = api_client.post(
        "/api/v1/auth/token/",
        {"username": "alpha", "password": "demo-password-123"},
        format="json",
    )

    assert response.status_code == 200
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")
    assert api_client.get("/api/v1/me/").json()["partner"]["slug"] == "alpha"
