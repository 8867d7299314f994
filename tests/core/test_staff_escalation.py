"""Staff cannot escalate: the case that was found (an operations member ticking "Superuser
status" on its own page), its neighbours (groups, permissions, other users), and the roles'
own work going through. The page-by-page walk is tests/core/test_role_matrix.py."""

import pytest
from django.contrib.auth.models import Group

from core.models import AuditEvent, User
from core.services import partner_create, partner_user_create
from ledger.models import Account, Adjustment
from tests.conftest import PASSWORD
from tests.core.test_role_matrix import _account_and_transfer, _member

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator():
    return _member("operations")


def _user_form(user, **changes):
    data = {
        "username": user.username,
        "is_active": "on",
        "is_staff": "on",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
        **changes,
    }
    return data


def test_operations_cannot_make_itself_superuser_from_its_own_user_page(client, operator):
    client.force_login(operator)
    url = f"/admin/core/user/{operator.pk}/change/"

    page = client.get(url)
    response = client.post(url, _user_form(operator, is_superuser="on"))

    assert page.status_code == 200  # it may see itself, read-only
    assert 'name="is_superuser"' not in page.content.decode()
    assert response.status_code == 403
    operator.refresh_from_db()
    assert not operator.is_superuser
    assert list(operator.groups.values_list("name", flat=True)) == ["operations"]
    assert not AuditEvent.objects.filter(action="user.change").exists()


def test_operations_cannot_give_itself_a_group_or_a_permission(client, operator):
    from django.contrib.auth.models import Permission

    client.force_login(operator)
    everything = list(Permission.objects.values_list("pk", flat=True))
    risk = Group.objects.get(name="risk")
    operations = Group.objects.get(name="operations")

    own = client.post(
        f"/admin/core/user/{operator.pk}/change/",
        _user_form(operator, groups=[risk.pk], user_permissions=everything),
    )
    group = client.post(
        f"/admin/auth/group/{operations.pk}/change/",
        {"name": "operations", "permissions": everything},
    )
    new_group = client.post("/admin/auth/group/add/", {"name": "mine", "permissions": everything})

    assert own.status_code == group.status_code == new_group.status_code == 403
    operator.refresh_from_db()
    assert not operator.user_permissions.exists()
    assert list(operator.groups.values_list("name", flat=True)) == ["operations"]
    assert not operations.permissions.filter(codename="change_user").exists()
    assert not Group.objects.filter(name="mine").exists()


def test_operations_cannot_create_users_or_edit_another_staff_user(client, operator):
    colleague = User.objects.create_user(username="colleague", password=PASSWORD, is_staff=True)
    client.force_login(operator)

    add = client.post(
        "/admin/core/user/add/",
        {
            "username": "second-eyes",
            "password1": "A-long-passw0rd!",
            "password2": "A-long-passw0rd!",
        },
    )
    edit = client.post(
        f"/admin/core/user/{colleague.pk}/change/", _user_form(colleague, is_superuser="on")
    )
    password = client.post(
        f"/admin/core/user/{colleague.pk}/password/",
        {"password1": "A-long-passw0rd!", "password2": "A-long-passw0rd!"},
    )

    assert add.status_code == edit.status_code == password.status_code == 403
    assert not User.objects.filter(username="second-eyes").exists()
    colleague.refresh_from_db()
    assert not colleague.is_superuser and colleague.check_password(PASSWORD)


def test_even_a_group_given_change_user_by_hand_cannot_touch_privileges(client, operator):
    from django.contrib.auth.models import Permission

    operator.user_permissions.add(Permission.objects.get(codename="change_user"))
    partner_user = partner_user_create(
        partner=partner_create(slug="zeta", name="Zeta"), username="zeta", password=PASSWORD
    )
    client.force_login(operator)

    own = client.post(
        f"/admin/core/user/{operator.pk}/change/", _user_form(operator, is_superuser="on")
    )
    theirs = client.post(
        f"/admin/core/user/{partner_user.pk}/change/",
        {
            "username": "zeta",
            "is_active": "on",
            "is_staff": "on",
            "is_superuser": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
        },
    )

    assert own.status_code == 403
    assert theirs.status_code == 302  # saved, but without the fields it may not touch
    operator.refresh_from_db()
    partner_user.refresh_from_db()
    assert not operator.is_superuser
    assert not partner_user.is_staff and not partner_user.is_superuser
    assert partner_user.partner.slug == "zeta"


def test_risk_freezes_an_account_with_its_reason_in_the_audit_log(client):
    _bank, account, _deposit = _account_and_transfer()
    risk = _member("risk")
    client.force_login(risk)

    response = client.post(
        "/admin/ledger/account/",
        {
            "action": "freeze",
            "_selected_action": [str(account.pk)],
            "confirmed": "yes",
            "reason": "suspicious pattern",
        },
    )

    assert response.status_code == 302
    account.refresh_from_db()
    assert account.status == Account.Status.FROZEN
    event = AuditEvent.objects.get(action="account.frozen")
    assert event.actor == risk and event.after["reason"] == "suspicious pattern"


def test_two_operations_members_run_a_four_eyes_deposit(client):
    """Not all refusals: operations' own job goes through, one proposing, one approving."""
    bank, account, _deposit = _account_and_transfer()
    proposer = _member("operations")
    approver = User.objects.create_user(username="ops-two", password=PASSWORD, is_staff=True)
    approver.groups.add(Group.objects.get(name="operations"))
    client.force_login(proposer)
    proposed = client.post(
        "/admin/ledger/adjustment/add/",
        {
            "debit_account": str(bank.pk),
            "credit_account": str(account.pk),
            "amount": "25.00",
            "code": "deposit",
            "reason": "wire 991",
        },
    )
    assert proposed.status_code == 302, proposed.content
    adjustment = Adjustment.objects.get()
    client.force_login(approver)

    approved = client.post(
        "/admin/ledger/adjustment/",
        {
            "action": "approve",
            "_selected_action": [str(adjustment.pk)],
            "confirmed": "yes",
            "reason": "matches the bank statement",
        },
    )

    assert approved.status_code == 302
    account.refresh_from_db()
    assert account.posted_balance == 10_000 + 2_500
    event = AuditEvent.objects.get(action="adjustment.approved")
    assert event.actor == approver and event.after["reason"] == "matches the bank statement"


def test_the_operations_guide_shows_the_same_role_table():
    from pathlib import Path

    from core.staff_groups import role_table_markdown

    guide = (Path(__file__).resolve().parents[2] / "docs" / "operations.md").read_text()

    assert role_table_markdown() in guide, "docs/operations.md: paste role_table_markdown()"


def test_dashboard_tiles_link_only_to_pages_the_role_may_open(client):
    client.force_login(_member("risk"))  # sees accounts and transfers, not check runs or jobs

    html = client.get("/admin/").content.decode()

    assert 'href="/admin/ledger/transfer/' in html
    assert 'href="/admin/ledger/ledgercheckrun/' not in html
    assert 'href="/admin/core/jobrun/' not in html
    assert "Ledger checks" in html and "Scheduled jobs" in html  # the figures stay
