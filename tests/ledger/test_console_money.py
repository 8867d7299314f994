"""The console for people who run money: statements that add up on an account's page (with
a period and a CSV), the partner page, search by label and partner name, journal filters and
exports, Approve / Reject on an adjustment's page, and the guided bank deposit/withdrawal."""

import csv
import io
import re
from datetime import UTC, datetime

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from core.models import Partner
from ledger.admin.filters import business_day_start
from ledger.dashboard import transfers_today_tile
from ledger.models import Adjustment, Transfer
from ledger.services import (
    TransferRequest,
    house_accounts_ensure,
    pending_transfer_post,
    transfer_create,
)

ACCOUNTS = "/admin/ledger/account/"
TRANSFERS = "/admin/ledger/transfer/"
ADJUSTMENTS = "/admin/ledger/adjustment/"


@pytest.fixture
def ops(staff_user):
    client = Client()
    client.force_login(staff_user)
    return client


@pytest.fixture
def ops2(second_staff_user):
    client = Client()
    client.force_login(second_staff_user)
    return client


@pytest.fixture
def named(partner, other_partner):
    Partner.objects.filter(pk=partner.pk).update(name="Alpha Capital")
    Partner.objects.filter(pk=other_partner.pk).update(name="Beta Payments")


def _move(debit, credit, amount, **kw):
    return transfer_create(
        request=TransferRequest(
            debit_account_id=debit.pk,
            credit_account_id=credit.pk,
            amount=amount,
            asset=debit.asset_id,
            **kw,
        )
    )


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _rows(response) -> str:
    html = response.content.decode()
    if 'id="result_list"' not in html:  # nothing matched: no table at all
        return ""
    start = html.index('id="result_list"')
    return html[start : html.index("</table>", start)]


def _csv(response) -> list[dict]:
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def _statement_table(page: str) -> str:
    start = page.index('class="statement"')
    return page[start : page.index("</table>", start)]


# --- An account's statement -----------------------------------------------------------------


def test_the_account_page_says_what_each_line_did_and_adds_up(ops, alpha_usd, beta_usd, fund):
    fund(alpha_usd, 1_000_000)
    hold = _move(alpha_usd, beta_usd, 1_000_000 // 10, pending=True)
    pending_transfer_post(pending_id=hold.pk, amount=60_000)

    page = ops.get(f"{ACCOUNTS}{alpha_usd.pk}/change/").content.decode()
    table = _statement_table(page)

    assert "posted change" in table and "held change" in table
    assert "-600.00" in table and "+1,000.00" in table  # the post: out of posted, hold released
    assert "-1,000.00" in table  # the hold reserving money
    assert "posted 600.00, released 400.00" in table
    assert "+10,000.00" in table  # the deposit
    closing = re.search(r"Closing balance.*?<strong>([^<]+)</strong>", table, re.S).group(1)
    opening = re.search(r"Opening balance.*?<strong>([^<]+)</strong>", table, re.S).group(1)
    assert (closing, opening) == ("9,400.00", "0.00")


def test_the_account_page_shows_a_period_and_downloads_it_as_csv(
    ops, alpha_usd, beta_usd, fund, monkeypatch, settings
):
    settings.BUSINESS_TIME_ZONE = "UTC"
    moments = iter(
        [
            datetime(2026, 10, 30, 12, tzinfo=UTC),
            datetime(2026, 11, 3, 12, tzinfo=UTC),
            datetime(2026, 11, 20, 12, tzinfo=UTC),
        ]
    )
    monkeypatch.setattr("django.utils.timezone.now", lambda: next(moments))
    fund(alpha_usd, 100_000)
    _move(alpha_usd, beta_usd, 2_500, reference="=cmd")
    _move(alpha_usd, beta_usd, 500)
    monkeypatch.undo()

    page = ops.get(f"{ACCOUNTS}{alpha_usd.pk}/change/", {"from": "2026-11-01", "to": "2026-11-10"})
    table = _statement_table(page.content.decode())
    assert table.count("-25.00") == 1 and "-5.00" not in table and "+1,000.00" not in table
    assert re.search(r"Opening balance of the period.*?<strong>1,000.00<", table, re.S)
    assert re.search(r"Closing balance of the period.*?<strong>975.00<", table, re.S)

    download = ops.get(
        f"{ACCOUNTS}{alpha_usd.pk}/statement.csv", {"from": "2026-11-01", "to": "2026-11-10"}
    )
    rows = _csv(download)
    assert [row["kind"] for row in rows] == ["closing_balance", "single_phase", "opening_balance"]
    assert (rows[0]["posted_balance"], rows[1]["posted_delta"], rows[2]["posted_balance"]) == (
        "975.00",
        "-25.00",
        "1000.00",
    )
    assert rows[1]["reference"] == "'=cmd"

    bad = ops.get(f"{ACCOUNTS}{alpha_usd.pk}/change/", {"from": "soon"}).content.decode()
    assert "from: give a date" in bad


def test_the_statement_csv_needs_the_console(client, alpha_usd):
    response = client.get(f"{ACCOUNTS}{alpha_usd.pk}/statement.csv")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


# --- Partner page and search -------------------------------------------------------------------


def test_the_partner_page_shows_accounts_holds_transfers_and_audit_trail(
    ops, partner, named, alpha_usd, beta_usd, fund, staff_user
):
    from ledger.services import account_freeze

    fund(alpha_usd, 500_000)
    hold = _move(alpha_usd, beta_usd, 12_345, pending=True, reference="order 77")
    _move(alpha_usd, beta_usd, 1_000, reference="invoice 9")
    account_freeze(account=beta_usd, acting_user=staff_user, reason="not alpha's")

    page = ops.get(f"/admin/core/partner/{partner.pk}/change/").content.decode()

    accounts = page[page.index('id="partner-accounts"') : page.index('id="partner-holds"')]
    assert "alpha/USD/main" in accounts and "4,990.00" in accounts and "-123.45" in accounts
    holds = page[page.index('id="partner-holds"') : page.index('id="partner-transfers"')]
    assert "Open holds (1)" in holds and str(hold.pk)[:8] in holds and "order 77" in holds
    transfers = page[page.index('id="partner-transfers"') : page.index('id="partner-audit"')]
    assert "invoice 9" in transfers and f"{TRANSFERS}?partner={partner.pk}" in transfers
    audit = page[page.index('id="partner-audit"') :]
    assert "account.opened" in audit and "alpha/USD/main" in audit
    assert "not alpha" not in audit  # beta's account is not alpha's trail


def test_an_account_is_found_by_its_label_or_its_partners_name(
    ops, named, alpha_usd, beta_usd, house_usd
):
    def found(query):
        return _rows(ops.get(ACCOUNTS, {"q": query}))

    for query in ("alpha/USD/main", "alpha/usd", "Alpha Capital", "alpha"):
        rows = found(query)
        assert str(alpha_usd.pk)[:8] in rows, query
        assert str(beta_usd.pk)[:8] not in rows, query
    assert str(house_usd["settlement_bank"].pk)[:8] in found("house/USD/settlement")
    assert str(alpha_usd.pk)[:8] not in found("alpha/EUR")


def test_the_journal_finds_transfers_by_account_label_and_partner_name(
    ops, named, alpha_usd, beta_usd, fund
):
    deposit = fund(alpha_usd, 10_000)
    payment = _move(alpha_usd, beta_usd, 1_000)
    house_only = fund(beta_usd, 5_000)

    for query in ("alpha/USD/main", "Alpha Capital"):
        rows = _rows(ops.get(TRANSFERS, {"q": query}))
        assert str(deposit.pk) in rows and str(payment.pk) in rows, query
        assert str(house_only.pk) not in rows, query
    rows = _rows(ops.get(TRANSFERS, {"q": "beta/USD/main"}))
    assert str(payment.pk) in rows and str(deposit.pk) not in rows


def test_the_journal_filters_by_partner_and_business_dates(
    ops, partner, alpha_usd, beta_usd, fund, monkeypatch, settings
):
    settings.BUSINESS_TIME_ZONE = "America/New_York"  # UTC-5 in November
    moments = iter(
        [
            datetime(2026, 11, 2, 4, 0, tzinfo=UTC),  # 1 November, 23:00 in New York
            datetime(2026, 11, 2, 6, 0, tzinfo=UTC),  # 2 November, 01:00
            datetime(2026, 11, 3, 6, 0, tzinfo=UTC),  # 3 November
        ]
    )
    monkeypatch.setattr("django.utils.timezone.now", lambda: next(moments))
    first = fund(alpha_usd, 10_000)
    second = fund(beta_usd, 10_000)
    third = fund(alpha_usd, 10_000)
    monkeypatch.undo()

    day = _rows(ops.get(TRANSFERS, {"created_from": "2026-11-02", "created_to": "2026-11-02"}))
    assert str(second.pk) in day and str(first.pk) not in day and str(third.pk) not in day
    alpha = _rows(ops.get(TRANSFERS, {"partner": str(partner.pk), "created_from": "2026-11-02"}))
    assert str(third.pk) in alpha and str(second.pk) not in alpha and str(first.pk) not in alpha
    bad = ops.get(TRANSFERS, {"created_from": "2-11-2026"})
    assert bad.status_code == 302 and "e=1" in bad["Location"]


def test_transfers_today_links_to_todays_journal(ops, alpha_usd, fund, settings):
    settings.BUSINESS_TIME_ZONE = "UTC"
    today = fund(alpha_usd, 1_000)
    Transfer.objects.filter(pk=fund(alpha_usd, 2_000).pk).update(
        created_at=datetime(2020, 1, 1, tzinfo=UTC)
    )
    tile = transfers_today_tile(now=today.created_at)
    day = business_day_start(today.created_at.date())
    assert tile["url"] == f"ledger/transfer/?created_from={day.date().isoformat()}"
    rows = _rows(ops.get(f"/admin/{tile['url']}"))
    assert str(today.pk) in rows and rows.count('name="_selected_action"') == 1


def test_the_journal_downloads_as_csv_with_its_filters(ops, partner, alpha_usd, beta_usd, fund):
    fund(alpha_usd, 150_050)
    _move(alpha_usd, beta_usd, 1_000, reference="@SUM(A1)")
    fund(beta_usd, 7)

    page = ops.get(TRANSFERS, {"partner": str(partner.pk)}).content.decode()
    assert f'href="export.csv?partner={partner.pk}"' in page
    rows = _csv(ops.get(f"{TRANSFERS}export.csv", {"partner": str(partner.pk)}))

    assert [row["amount"] for row in rows] == ["10.00", "1500.50"]
    assert rows[0]["debit_account"] == "alpha/USD/main"
    assert rows[0]["reference"] == "'@SUM(A1)"
    assert rows[1]["created_at"].startswith(str(datetime.now(UTC).year))


def test_exports_need_the_view_permission(client, alpha_usd):
    from django.contrib.auth.models import Group

    from core.models import User

    nobody = User.objects.create_user(username="intern", password="x" * 12, is_staff=True)
    nobody.groups.add(Group.objects.create(name="empty"))
    client.force_login(nobody)
    assert client.get(f"{TRANSFERS}export.csv").status_code == 403
    assert client.get("/admin/core/auditevent/export.csv").status_code == 403


# --- Amounts as staff type them ---------------------------------------------------------------


def test_an_adjustment_takes_the_amount_as_the_console_shows_it(ops, house_usd, alpha_usd):
    bank = house_usd["settlement_bank"]
    data = {
        "debit_account": str(bank.pk),
        "credit_account": str(alpha_usd.pk),
        "code": "deposit",
        "reason": "wire 778",
    }
    ops.post(f"{ADJUSTMENTS}add/", {**data, "amount": "5,000.00"})
    assert Adjustment.objects.get().amount == 500_000
    refused = ops.post(f"{ADJUSTMENTS}add/", {**data, "amount": "5,00.00"})
    assert "commas may only group thousands" in refused.content.decode()
    assert Adjustment.objects.count() == 1


# --- An adjustment's own page ------------------------------------------------------------------


def test_an_adjustment_page_has_approve_and_reject_and_then_links_the_transfer(
    ops, ops2, house_usd, alpha_usd, staff_user
):
    from ledger.adjustments import adjustment_propose

    adjustment = adjustment_propose(
        debit_account=house_usd["settlement_bank"],
        credit_account=alpha_usd,
        amount=500_000,
        reason="wire 1",
        acting_user=staff_user,
        code="deposit",
    )
    url = f"{ADJUSTMENTS}{adjustment.pk}/change/"

    own = ops.get(url).content.decode()
    assert "you proposed it" in own and 'value="approve"' not in own

    page = ops2.get(url).content.decode()
    forms = re.findall(r'<form method="post" action="([^"]+)">(.*?)</form>', page, re.S)
    buttons = {
        re.search(r'name="action" value="(\w+)"', body).group(1): (action, body)
        for action, body in forms
        if 'name="action"' in body
    }
    assert set(buttons) == {"approve", "reject"}
    action, body = buttons["approve"]
    assert action == ADJUSTMENTS
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', body))
    asked = ops2.post(action, fields)  # the list's own action: its confirmation step
    assert asked.status_code == 200
    hidden = re.findall(
        r'<input type="hidden" name="([^"]+)" value="([^"]*)"', asked.content.decode()
    )
    data: dict[str, list[str]] = {}
    for name, value in hidden:
        data.setdefault(name, []).append(value)
    data["reason"] = ["wire seen on the bank statement"]
    ops2.post(ADJUSTMENTS, data)

    adjustment.refresh_from_db()
    assert adjustment.state == Adjustment.State.APPROVED
    alpha_usd.refresh_from_db()
    assert alpha_usd.posted_balance == 500_000
    after = ops2.get(url).content.decode()
    assert f'href="{TRANSFERS}{adjustment.transfer_id}/change/"' in after
    assert 'value="approve"' not in after


# --- Guided bank deposit / withdrawal ------------------------------------------------------------


@pytest.mark.parametrize("direction", ["deposit", "withdrawal"])
def test_the_bank_form_says_which_side_is_the_bank_and_files_a_proposal(
    ops, named, alpha_usd, direction, staff_user
):
    form = ops.get(f"{ADJUSTMENTS}bank/").content.decode()
    assert "settlement_bank" in form and "alpha/USD/main (Alpha Capital)" in form

    response = ops.post(
        f"{ADJUSTMENTS}bank/",
        {
            "account": str(alpha_usd.pk),
            "direction": direction,
            "amount": "5,000.00",
            "reason": "wire ref 42",
        },
    )

    adjustment = Adjustment.objects.get()
    assert response.status_code == 302 and str(adjustment.pk) in response["Location"]
    bank = house_accounts_ensure(asset="USD")["settlement_bank"]
    sides = (adjustment.debit_account_id, adjustment.credit_account_id)
    expected = (bank.pk, alpha_usd.pk) if direction == "deposit" else (alpha_usd.pk, bank.pk)
    assert sides == expected
    assert (adjustment.amount, adjustment.code, adjustment.state) == (
        500_000,
        direction,
        "proposed",
    )
    assert adjustment.proposed_by == staff_user
    alpha_usd.refresh_from_db()
    assert alpha_usd.posted_balance == 0  # nothing moves before a second person approves


def test_the_bank_form_refuses_a_mistyped_amount(ops, alpha_usd):
    response = ops.post(
        f"{ADJUSTMENTS}bank/",
        {"account": str(alpha_usd.pk), "direction": "deposit", "amount": "1.234", "reason": "x"},
    )
    assert response.status_code == 200 and "At most 2 decimal places" in response.content.decode()
    assert not Adjustment.objects.exists()
