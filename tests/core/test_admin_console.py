"""The operations console (Django admin): staff only, never a partner user; every change a
staff member makes is an audit event with who, before and after."""

import pytest
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.test import Client

from core.models import AuditEvent, Partner, User
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

# The partner form carries the (read-only) inline of its API users.
NO_INLINE_USERS = {
    "users-TOTAL_FORMS": "0",
    "users-INITIAL_FORMS": "0",
    "users-MIN_NUM_FORMS": "0",
    "users-MAX_NUM_FORMS": "1000",
}


def test_the_dashboard_renders_for_staff_as_the_operations_console(staff_client):
    response = staff_client.get("/admin/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "Clearhouse operations console" in html
    assert 'id="dashboard"' in html
    assert "Active partners" in html
    apps = [app["app_label"] for app in response.context["app_list"]]
    assert apps.index("ledger") < apps.index("core") < apps.index("plumbing")
    assert apps[-1] == "plumbing"  # the business first, the plumbing apart at the end
    models = {
        app["app_label"]: [m["object_name"] for m in app["models"]]
        for app in response.context["app_list"]
    }
    assert {"User", "Group", "IdempotentRequest", "PeriodicTask", "AccessAttempt"} <= set(
        models["plumbing"]
    )
    assert set(models["core"]) == {"Partner", "AuditEvent"}
    assert "auth" not in models and "django_celery_beat" not in models


def test_a_partner_user_cannot_log_into_the_admin(partner_user):
    client = Client()

    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": partner_user.username, "password": PASSWORD},
    )

    assert response.status_code == 200  # the login form again, with an error
    assert "_auth_user_id" not in client.session
    index = client.get("/admin/")
    assert index.status_code == 302
    assert index["Location"].startswith("/admin/login/")


def test_a_partner_user_with_a_session_still_cannot_use_the_admin(partner_user):
    client = Client()
    client.force_login(partner_user)

    response = client.get("/admin/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize("flag", ["is_staff", "is_superuser"])
def test_the_database_refuses_a_partner_user_who_is_staff(partner, flag):
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(username="sneaky", partner=partner, **{flag: True})


def test_the_database_refuses_making_an_existing_partner_user_staff(partner_user):
    partner_user.is_staff = True

    with pytest.raises(IntegrityError), transaction.atomic():
        partner_user.save()


def test_the_user_form_refuses_a_partner_user_who_is_staff(staff_client, partner_user):
    response = staff_client.post(
        f"/admin/core/user/{partner_user.pk}/change/",
        {
            "username": partner_user.username,
            "partner": str(partner_user.partner_id),
            "is_active": "on",
            "is_staff": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
        },
    )

    assert response.status_code == 200  # the form again, with the error: not a 500
    partner_user.refresh_from_db()
    assert partner_user.is_staff is False


def test_adding_a_partner_in_the_admin_writes_an_audit_event(staff_client, staff_user):
    response = staff_client.post(
        "/admin/core/partner/add/",
        {"slug": "gamma", "name": "Gamma Brokers", "is_active": "on", **NO_INLINE_USERS},
    )

    assert response.status_code == 302, response.content
    partner = Partner.objects.get(slug="gamma")
    event = AuditEvent.objects.get(action="partner.created", target_id=str(partner.pk))
    assert event.actor == staff_user
    assert event.target_type == "core.partner"
    assert event.before is None
    assert event.after == {"slug": "gamma", "name": "Gamma Brokers", "is_active": True}
    assert event.trace_id


def test_changing_a_partner_in_the_admin_writes_before_and_after(staff_client, staff_user, partner):
    response = staff_client.post(
        f"/admin/core/partner/{partner.pk}/change/",
        {"slug": "alpha", "name": "Alpha Capital Markets", **NO_INLINE_USERS},  # deactivated
    )

    assert response.status_code == 302, response.content
    event = AuditEvent.objects.get(action="partner.changed", target_id=str(partner.pk))
    assert event.actor == staff_user
    assert event.before == {"slug": "alpha", "name": "Alpha Capital", "is_active": True}
    assert event.after == {"slug": "alpha", "name": "Alpha Capital Markets", "is_active": False}


def test_a_change_of_a_staff_users_groups_shows_in_the_audit_event(staff_client, staff_user):
    colleague = User.objects.create_user(username="ops-jane", password=PASSWORD, is_staff=True)
    risk = Group.objects.get(name="risk")

    response = staff_client.post(
        f"/admin/core/user/{colleague.pk}/change/",
        {
            "username": "ops-jane",
            "is_active": "on",
            "is_staff": "on",
            "groups": [risk.pk],
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
        },
    )

    assert response.status_code == 302, response.content
    event = AuditEvent.objects.get(action="user.changed", target_id=str(colleague.pk))
    assert event.actor == staff_user
    assert event.before["groups"] == []
    assert event.after["groups"] == [str(risk.pk)]
    assert "password" not in event.after


def test_deleting_a_user_in_the_admin_writes_an_audit_event(staff_client, staff_user):
    leaver = User.objects.create_user(username="ops-leaver", password=PASSWORD, is_staff=True)

    response = staff_client.post(
        "/admin/core/user/",
        {"action": "delete_selected", "_selected_action": [leaver.pk], "post": "yes"},
    )

    assert response.status_code == 302
    assert not User.objects.filter(pk=leaver.pk).exists()
    event = AuditEvent.objects.get(action="user.deleted", target_id=str(leaver.pk))
    assert event.actor == staff_user
    assert event.before["username"] == "ops-leaver"


def test_a_password_set_by_staff_is_audited(staff_client, staff_user, partner_user):
    response = staff_client.post(
        f"/admin/core/user/{partner_user.pk}/password/",
        {"password1": "Another-long-passw0rd", "password2": "Another-long-passw0rd"},
    )

    assert response.status_code == 302, response.content
    event = AuditEvent.objects.get(action="user.password_changed")
    assert event.actor == staff_user
    assert event.target_id == str(partner_user.pk)


def test_the_staff_groups_exist_with_their_roles():
    names = set(Group.objects.values_list("name", flat=True))

    assert {"operations", "risk", "settlement", "auditor"} <= names
    auditor = Group.objects.get(name="auditor")
    assert auditor.permissions.exists()
    assert not auditor.permissions.exclude(codename__startswith="view_").exists()


def test_times_in_the_console_carry_seconds_and_their_zone(staff_client, staff_user, partner):
    import re

    from core.services import audit_record

    event = audit_record(actor=staff_user, action="partner.note", target=partner)

    listing = staff_client.get("/admin/core/auditevent/").content.decode()
    page = staff_client.get(f"/admin/core/auditevent/{event.pk}/change/").content.decode()

    for html in (listing, page):
        assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC", html)


def test_staff_who_may_only_view_a_user_are_not_offered_a_password_reset(partner_user):
    from core.services import staff_member_ensure

    operator = staff_member_ensure(username="ops-viewer", password=PASSWORD, group="operations")
    client = Client()
    client.force_login(operator)

    page = client.get(f"/admin/core/user/{partner_user.pk}/change/")

    assert page.status_code == 200
    assert "../password/" not in page.content.decode()  # the button would answer 403
    assert client.get(f"/admin/core/user/{partner_user.pk}/password/").status_code == 403
