"""Settlement in the operations console: a batch's page with its history, steps and
failures; close/clear/settle/retry actions that run the same services (audited); the
per-partner report; obligations; the dashboard tiles."""

import csv
import io
from datetime import timedelta

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Group
from django.urls import reverse

from core.models import AuditEvent, User
from core.staff_groups import staff_groups_sync
from settlement.dashboard import settlement_tiles
from settlement.models import SettlementBatch
from settlement.services.windows import batch_open_ensure
from tests.conftest import PASSWORD
from tests.settlement.conftest import place

pytestmark = pytest.mark.django_db


@pytest.fixture
def traded(partner, other_partner, acme, fund, business_time):
    business_time(10)  # before the cutoff: today's batch
    fund(partner, "USD", 1_000_000)
    fund(other_partner, "ACME", 100)
    place(partner, acme, cid="b1", side="buy", price=1000, quantity=7)
    place(other_partner, acme, cid="s1", side="sell", price=1000, quantity=7)
    return batch_open_ensure()


@pytest.fixture
def settler(client):
    staff_groups_sync()
    user = User.objects.create_user(username="settler", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name="settlement"))
    client.force_login(user)
    return client


def action(client, name, batches, reason="end of day"):
    data = {
        "action": name,
        ACTION_CHECKBOX_NAME: [str(b.pk) for b in batches],
        "reason": reason,
        "confirmed": "yes",
    }
    url = reverse("admin:settlement_settlementbatch_changelist")
    return client.post(url, data, follow=True)


def test_the_settlement_group_closes_clears_and_settles_a_batch_from_the_console(
    settler, traded, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):  # each step enqueues the next
        action(settler, "close", [traded])
    traded.refresh_from_db()
    # The close starts the chain (at once in the embedded default): clear, settle, reconcile.
    assert traded.state == "settled"
    closed = traded.events.get(to_state="closed")
    assert closed.actor.username == "settler" and closed.via == "console:close"
    assert AuditEvent.objects.filter(
        action="settlement.batch_close_requested", target_id=str(traded.pk)
    ).exists()

    page = settler.get(reverse("admin:settlement_settlementbatch_change", args=[traded.pk]))
    text = page.content.decode()
    assert page.status_code == 200
    assert "History (append-only)" in text and "console:close" in text
    assert "Job steps" in text and "reconcile" in text

    report = settler.get(reverse("admin:settlement_settlementbatch_report", args=[traded.pk]))
    rows = list(csv.reader(io.StringIO(b"".join(report.streaming_content).decode())))
    assert rows[0][:3] == ["partner", "asset", "net_amount"]
    assert sorted((r[0], r[1], r[2], r[6]) for r in rows[1:]) == [
        ("alpha", "ACME", "7", "posted"),
        ("alpha", "USD", "-70.00", "posted"),
        ("beta", "ACME", "-7", "posted"),
        ("beta", "USD", "70.00", "posted"),
    ]


def test_an_action_the_batch_state_does_not_allow_says_so_and_changes_nothing(settler, traded):
    response = action(settler, "settle", [traded])
    assert "Only a cleared batch can settle" in response.content.decode()
    traded.refresh_from_db()
    assert traded.state == "open" and traded.events.count() == 0


def test_the_dashboard_shows_todays_batch_unsettled_obligations_and_breaks(staff_client, traded):
    tiles = {tile["title"]: tile for tile in settlement_tiles(None)}
    assert tiles[f"Batch {traded.business_date}"]["value"] == "Open"
    assert tiles["Unsettled obligations"]["value"] == 0
    assert tiles["Open breaks"]["value"] == 0
    for tile in tiles.values():
        assert staff_client.get(reverse("admin:index") + tile["url"]).status_code == 200
    SettlementBatch.objects.filter(pk=traded.pk).update(state="failed")
    tiles = {tile["title"]: tile for tile in settlement_tiles(None)}
    assert tiles[f"Batch {traded.business_date}"]["status"] == "alert"
    assert "Settlement" in staff_client.get(reverse("admin:index")).content.decode()


def test_after_the_cutoff_the_batch_tile_says_where_trades_go_now(
    partner, other_partner, acme, fund, business_time
):
    business_time(19)
    fund(partner, "USD", 1_000_000)
    fund(other_partner, "ACME", 100)
    place(partner, acme, cid="b1", side="buy", price=1000, quantity=7)
    place(other_partner, acme, cid="s1", side="sell", price=1000, quantity=7)
    tomorrow = batch_open_ensure().business_date

    tiles = {tile["title"]: tile for tile in settlement_tiles(None)}

    today = tomorrow - timedelta(days=1)
    assert tiles[f"Batch {today}"]["value"] == "none"
    assert tiles[f"Batch {today}"]["hint"] == (
        f"no trade before today's cutoff; trades now go to {tomorrow} #1"
    )


def test_the_settlement_group_imports_a_statement_and_resolves_a_break_in_the_console(
    settler, partner
):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone

    from settlement.models import BankStatement, Break
    from tests.settlement.statement_files import BUILDERS

    today = timezone.localdate()
    content = BUILDERS["csv"]("ST-CONSOLE", [(today, "7.77", "NOWHERE")])
    upload = SimpleUploadedFile("statement.csv", content, content_type="text/csv")
    response = settler.post(
        reverse("admin:settlement_bankstatement_import"), {"file": upload}, follow=True
    )
    assert "ST-CONSOLE: 1 lines, 0.0% matched automatically, 1 break(s)." in (
        response.content.decode()
    )
    again = SimpleUploadedFile("statement.csv", content, content_type="text/csv")
    response = settler.post(
        reverse("admin:settlement_bankstatement_import"), {"file": again}, follow=True
    )
    assert "Refused: This statement was imported already." in response.content.decode()
    assert BankStatement.objects.count() == 1

    brk = Break.objects.get()
    statement_page = settler.get(
        reverse("admin:settlement_bankstatement_change", args=[brk.statement_id])
    ).content.decode()
    assert "all 1 lines (1 not matched automatically)" in statement_page
    assert f"?statement__id__exact={brk.statement_id}&amp;status__exact=open" in statement_page
    breaks_page = settler.get(reverse("admin:settlement_break_changelist")).content.decode()
    assert f"#1 {today} 7.77 NOWHERE" in breaks_page  # the line in decimals, not 777
    data = {
        "action": "propose_adjustment",
        ACTION_CHECKBOX_NAME: [str(brk.pk)],
        "reason": "bank fee refund",
        "confirmed": "yes",
    }
    settler.post(reverse("admin:settlement_break_changelist"), data, follow=True)
    brk.refresh_from_db()
    assert brk.status == "adjusting" and brk.adjustment.amount == 777
    assert brk.adjustment.state == "proposed"  # a second person approves it in the ledger
