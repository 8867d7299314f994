"""Audit events as staff read them: the target's label linked to its page, what changed as
"field: before → after", one past-tense form for action names, and a CSV of the log."""

import csv
import importlib
import io

import pytest
from django.apps import apps

from core.models import AuditEvent
from core.services import audit_record, partner_create
from ledger.services import account_freeze, account_open, account_unfreeze

AUDIT = "/admin/core/auditevent/"
pytestmark = pytest.mark.django_db


def _rows(response) -> str:
    html = response.content.decode()
    start = html.index('id="result_list"')
    return html[start : html.index("</table>", start)]


def test_an_event_shows_its_targets_label_linked_and_what_changed(staff_client, staff_user):
    partner = partner_create(slug="gamma", name="Gamma Trading")
    account = account_open(partner=partner, asset="USD")
    account_freeze(account=account, acting_user=staff_user, reason="court order 17")

    rows = _rows(staff_client.get(AUDIT, {"action": "account.frozen"}))

    assert f'<a href="/admin/ledger/account/{account.pk}/change/"' in rows
    assert "gamma/USD/main</a>" in rows
    assert "status: open → frozen; reason: — → court order 17" in rows

    event = AuditEvent.objects.get(action="account.frozen")
    page = staff_client.get(f"{AUDIT}{event.pk}/change/").content.decode()
    assert '<table class="audit-changes">' in page
    assert "<tr><th>status</th><td>open</td><td>frozen</td></tr>" in page


def test_a_deleted_target_keeps_its_bare_id(staff_client, staff_user):
    audit_record(actor=staff_user, action="partner.deleted", target=_gone_partner())
    rows = _rows(staff_client.get(AUDIT, {"action": "partner.deleted"}))
    assert "00000000-0000-0000-0000-0000000000aa" in rows
    assert "/admin/core/partner/00000000" not in rows


def _gone_partner():
    from core.models import Partner

    return Partner(pk="00000000-0000-0000-0000-0000000000aa", slug="gone", name="Gone")


def test_action_names_read_as_what_happened(staff_user):
    partner = partner_create(slug="delta", name="Delta", acting_user=staff_user)
    account = account_open(partner=partner, asset="USD", acting_user=staff_user)
    account_freeze(account=account, acting_user=staff_user, reason="r")
    account_unfreeze(account=account, acting_user=staff_user, reason="r")
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["partner.created", "account.opened", "account.frozen", "account.unfrozen"]


def test_the_migration_renames_the_old_action_names(staff_user):
    partner = partner_create(slug="eps", name="Eps")
    account = account_open(partner=partner, asset="USD")
    old = {
        "account.open": ({"status": "frozen"}, account),  # an unfreeze, as it used to read
        "user.sessions_revoke_all": (None, account),
        "partner.change": (None, partner),
        "adjustment.propose": (None, account),
    }
    AuditEvent.objects.all().delete()
    for action, (before, target) in old.items():
        audit_record(actor=staff_user, action=action, target=target, before=before)
    audit_record(actor=staff_user, action="account.open", target=account)  # an opening

    migration = importlib.import_module("core.migrations.0002_audit_actions_past_tense")
    migration.forwards(apps, None)

    assert sorted(AuditEvent.objects.values_list("action", flat=True)) == [
        "account.opened",
        "account.unfrozen",
        "adjustment.proposed",
        "partner.changed",
        "user.sessions_revoked",
    ]


def test_the_audit_log_downloads_as_csv_as_filtered(staff_client, staff_user):
    partner = partner_create(slug="zeta", name="Zeta")
    account = account_open(partner=partner, asset="USD")
    account_freeze(account=account, acting_user=staff_user, reason="=1+1")

    page = staff_client.get(AUDIT, {"action": "account.frozen"}).content.decode()
    assert 'href="export.csv?action=account.frozen"' in page
    response = staff_client.get(f"{AUDIT}export.csv", {"action": "account.frozen"})

    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 1
    (row,) = rows
    assert (row["actor"], row["action"], row["target_id"]) == (
        "ops",
        "account.frozen",
        str(account.pk),
    )
    assert "status: open → frozen" in row["changes"]
    assert '"reason": "=1+1"' in row["after"]
