"""The ledger's operations console: staff read balances and statements, act through the
services (freeze, four-eyes adjustments and reversals), and never edit a ledger row by hand."""

import re
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone

from core.models import AuditEvent
from ledger.dashboard import ledger_tiles
from ledger.models import Account, Adjustment, LedgerCheckRun, Transfer
from ledger.services import TransferRequest, account_freeze, transfer_create

ACCOUNTS = "/admin/ledger/account/"
TRANSFERS = "/admin/ledger/transfer/"
ADJUSTMENTS = "/admin/ledger/adjustment/"


@pytest.fixture
def ops(client, staff_user):
    client.force_login(staff_user)
    return client


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _action(client, url, action, objects, **extra):
    data = {"action": action, "_selected_action": [str(o.pk) for o in objects], **extra}
    return client.post(url, data)


def _result_rows(response) -> str:
    """The changelist's table alone (the filter sidebar names every partner too)."""
    html = response.content.decode()
    start = html.index('id="result_list"')
    return html[start : html.index("</table>", start)]


def _refresh(*objects):
    for obj in objects:
        obj.refresh_from_db()


# --- Accounts ------------------------------------------------------------------------------


def test_account_list_shows_owner_and_balances_in_the_asset_scale(ops, alpha_usd, fund):
    fund(alpha_usd, 150_050)

    response = ops.get(ACCOUNTS)

    html = response.content.decode()
    assert response.status_code == 200
    assert "1500.50" in html  # alpha's posted and available balance
    assert "alpha" in html
    assert "house" in html  # the settlement bank account, the other side of the deposit


def test_account_list_filters_by_owner_and_searches_by_slug(ops, alpha_usd, beta_usd, fund):
    fund(alpha_usd, 100)
    fund(beta_usd, 200)

    house = _result_rows(ops.get(ACCOUNTS, {"partner__isnull": "True"}))
    beta = _result_rows(ops.get(ACCOUNTS, {"q": "beta"}))
    by_id = _result_rows(ops.get(ACCOUNTS, {"q": str(alpha_usd.pk)[:8]}))

    assert "settlement_bank" in house and "alpha" not in house
    assert "2.00" in beta and "1.00" not in beta
    assert "1.00" in by_id and "2.00" not in by_id


def test_account_page_shows_its_statement_with_running_balances(ops, alpha_usd, beta_usd, fund):
    first = fund(alpha_usd, 10_000)
    second = fund(alpha_usd, 2_550)
    out = transfer_create(
        request=TransferRequest(
            debit_account_id=alpha_usd.pk,
            credit_account_id=beta_usd.pk,
            amount=1_000,
            asset="USD",
            code="payout",
            reference="invoice 42",
        )
    )

    response = ops.get(f"{ACCOUNTS}{alpha_usd.pk}/change/")

    html = response.content.decode()
    assert response.status_code == 200
    for transfer in (first, second, out):
        assert str(transfer.pk) in html
    for running_balance in ("100.00", "125.50", "115.50"):
        assert running_balance in html
    assert "invoice 42" in html and "payout" in html
    assert html.index(str(out.pk)) < html.index(str(first.pk))  # newest first


def test_freeze_action_freezes_the_account_and_writes_an_audit_event(ops, alpha_usd, staff_user):
    response = _action(ops, ACCOUNTS, "freeze", [alpha_usd], reason="court order")

    assert response.status_code == 302
    alpha_usd.refresh_from_db()
    assert alpha_usd.status == Account.Status.FROZEN
    event = AuditEvent.objects.get(action="account.frozen", target_id=str(alpha_usd.pk))
    assert event.actor == staff_user
    assert event.after["reason"] == "court order"


def test_a_refused_status_change_is_an_error_message_not_a_500(ops, alpha_usd, fund):
    fund(alpha_usd, 100)

    unfreeze = _action(ops, ACCOUNTS, "unfreeze", [alpha_usd])  # it is open, not frozen
    close = _action(ops, ACCOUNTS, "close", [alpha_usd], confirmed="yes")  # not empty

    assert unfreeze.status_code == close.status_code == 302
    assert any("Cannot go from open to open" in m for m in _messages(unfreeze))
    assert any("zero balances" in m for m in _messages(close))
    alpha_usd.refresh_from_db()
    assert alpha_usd.status == Account.Status.OPEN


def _hidden_inputs(response) -> list[tuple[str, str]]:
    html = response.content.decode()
    return re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html)


def test_close_asks_for_confirmation_before_closing_an_empty_account(ops, alpha_usd):
    asked = _action(ops, ACCOUNTS, "close", [alpha_usd], reason="client left")
    alpha_usd.refresh_from_db()
    assert asked.status_code == 200 and "never be reopened" in asked.content.decode()
    assert alpha_usd.status == Account.Status.OPEN

    confirmed = ops.post(ACCOUNTS, dict_of_lists(_hidden_inputs(asked)))  # "Yes, close them"

    assert confirmed.status_code == 302
    alpha_usd.refresh_from_db()
    assert alpha_usd.status == Account.Status.CLOSED
    event = AuditEvent.objects.get(action="account.closed")
    assert event.after["reason"] == "client left"


def dict_of_lists(pairs) -> dict[str, list[str]]:
    data: dict[str, list[str]] = {}
    for name, value in pairs:
        data.setdefault(name, []).append(value)
    return data


def test_view_only_staff_see_accounts_but_cannot_freeze_them(client, alpha_usd):
    from django.contrib.auth.models import Group

    from core.models import User
    from core.staff_groups import staff_groups_sync

    staff_groups_sync()  # core syncs on its own post_migrate, before the ledger has perms
    auditor = User.objects.create_user(username="auditor", is_staff=True)
    auditor.groups.add(Group.objects.get(name="auditor"))
    client.force_login(auditor)

    page = client.get(f"{ACCOUNTS}{alpha_usd.pk}/change/")
    listing = client.get(ACCOUNTS)
    _action(client, ACCOUNTS, "freeze", [alpha_usd])

    assert page.status_code == listing.status_code == 200
    assert 'name="action"' not in listing.content.decode()  # no actions offered
    alpha_usd.refresh_from_db()
    assert alpha_usd.status == Account.Status.OPEN


def test_unfreeze_reopens_a_frozen_account(ops, alpha_usd, staff_user):
    account_freeze(account=alpha_usd, acting_user=staff_user)

    _action(ops, ACCOUNTS, "unfreeze", [alpha_usd])

    alpha_usd.refresh_from_db()
    assert alpha_usd.status == Account.Status.OPEN


def test_accounts_cannot_be_added_edited_or_deleted_from_the_console(ops, alpha_usd):
    url = f"{ACCOUNTS}{alpha_usd.pk}/"

    assert ops.get(f"{ACCOUNTS}add/").status_code == 403
    assert ops.post(f"{url}change/", {"status": "closed", "code": "x"}).status_code == 403
    assert ops.post(f"{url}delete/", {"post": "yes"}).status_code == 403
    alpha_usd.refresh_from_db()
    assert (alpha_usd.status, alpha_usd.code) == (Account.Status.OPEN, "main")


# --- Transfer journal ----------------------------------------------------------------------


def test_transfer_journal_lists_transfers_with_formatted_amounts(ops, alpha_usd, fund):
    transfer = fund(alpha_usd, 123_456)

    listing = ops.get(TRANSFERS)
    detail = ops.get(f"{TRANSFERS}{transfer.pk}/change/")

    assert listing.status_code == detail.status_code == 200
    assert "1234.56" in listing.content.decode()
    assert "deposit" in listing.content.decode()
    assert str(transfer.pk) in detail.content.decode()


def test_transfer_journal_refuses_add_change_and_delete(ops, alpha_usd, fund):
    transfer = fund(alpha_usd, 500)
    url = f"{TRANSFERS}{transfer.pk}/"

    assert ops.get(f"{TRANSFERS}add/").status_code == 403
    assert ops.post(f"{url}change/", {"amount": 1, "code": "x"}).status_code == 403
    assert ops.post(f"{url}delete/", {"post": "yes"}).status_code == 403
    _action(ops, TRANSFERS, "delete_selected", [transfer], post="yes")  # no such action
    transfer.refresh_from_db()
    assert (transfer.amount, transfer.code) == (500, "deposit")


def test_a_reversal_is_proposed_in_the_journal_and_posts_on_a_second_approval(
    client, staff_user, second_staff_user, alpha_usd, fund, house_usd
):
    transfer = fund(alpha_usd, 700)
    client.force_login(staff_user)

    unexplained = _action(client, TRANSFERS, "propose_reversal", [transfer])
    assert any("Give a reason" in m for m in _messages(unexplained))
    assert not Adjustment.objects.exists()

    _action(client, TRANSFERS, "propose_reversal", [transfer], reason="wire bounced")
    proposal = Adjustment.objects.get()
    assert (proposal.reverses_id, proposal.state, proposal.amount) == (
        transfer.pk,
        Adjustment.State.PROPOSED,
        700,
    )
    assert not Transfer.objects.filter(reverses=transfer).exists()
    twice = _action(client, TRANSFERS, "propose_reversal", [transfer], reason="again")
    assert any("already waiting for approval" in m for m in _messages(twice))
    own = _action(client, ADJUSTMENTS, "approve", [proposal], confirmed="yes")
    assert any("someone other than its proposer" in m for m in _messages(own))
    alpha_usd.refresh_from_db()
    assert alpha_usd.posted_balance == 700

    client.force_login(second_staff_user)
    _action(client, ADJUSTMENTS, "approve", [proposal], confirmed="yes")

    reversal = Transfer.objects.get(reverses=transfer)
    assert (reversal.debit_account_id, reversal.credit_account_id) == (
        alpha_usd.pk,
        house_usd["settlement_bank"].pk,
    )
    alpha_usd.refresh_from_db()
    assert alpha_usd.posted_balance == 0
    again = _action(client, TRANSFERS, "propose_reversal", [transfer], reason="once more")
    assert any("already been reversed" in m for m in _messages(again))
    assert Adjustment.objects.count() == 1
    page = client.get(f"{ADJUSTMENTS}{proposal.pk}/change/").content.decode()
    assert str(transfer.pk) in page and "wire bounced" in page


# --- Adjustments (four-eyes) ---------------------------------------------------------------


def _propose(client, debit, credit, amount="250.50", **extra):
    data = {
        "debit_account": str(debit.pk),
        "credit_account": str(credit.pk),
        "amount": amount,
        "code": "deposit",
        "reason": "wire received, ref 778",
        **extra,
    }
    return client.post(f"{ADJUSTMENTS}add/", data)


@pytest.fixture
def bank_usd(house_usd):
    return house_usd["settlement_bank"]


def test_staff_propose_an_adjustment_as_a_decimal_amount(ops, bank_usd, alpha_usd, staff_user):
    response = _propose(ops, bank_usd, alpha_usd)

    assert response.status_code == 302
    adjustment = Adjustment.objects.get()
    assert (adjustment.amount, adjustment.state) == (25_050, Adjustment.State.PROPOSED)
    assert adjustment.proposed_by == staff_user
    assert adjustment.transfer is None
    assert AuditEvent.objects.filter(action="adjustment.propose").count() == 1
    listing = ops.get(ADJUSTMENTS).content.decode()
    assert "250.50" in listing and "proposed" in listing


@pytest.mark.parametrize(
    "amount", ["250.505", "0", "-5.00", "1e3", "abc", "99999999999999999999999"]
)
def test_an_amount_the_asset_cannot_hold_is_a_form_error(ops, bank_usd, alpha_usd, amount):
    response = _propose(ops, bank_usd, alpha_usd, amount=amount)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["amount"]
    assert not Adjustment.objects.exists()


def test_accounts_of_different_assets_cannot_be_adjusted_together(ops, bank_usd, partner):
    from ledger.services import account_open

    alpha_eur = account_open(partner=partner, asset="EUR")

    response = _propose(ops, bank_usd, alpha_eur)

    assert response.status_code == 200
    assert "Must hold USD" in response.content.decode()
    assert not Adjustment.objects.exists()


def test_nobody_approves_their_own_adjustment_and_another_staff_member_posts_it(
    client, staff_user, second_staff_user, bank_usd, alpha_usd
):
    client.force_login(staff_user)
    _propose(client, bank_usd, alpha_usd, amount="1000.00")
    adjustment = Adjustment.objects.get()

    own = _action(client, ADJUSTMENTS, "approve", [adjustment], confirmed="yes")

    assert own.status_code == 302
    assert any("someone other than its proposer" in m for m in _messages(own))
    _refresh(adjustment, alpha_usd)
    assert adjustment.state == Adjustment.State.PROPOSED and adjustment.transfer is None
    assert not Transfer.objects.exists()
    assert alpha_usd.posted_balance == 0

    client.force_login(second_staff_user)
    asked = _action(client, ADJUSTMENTS, "approve", [adjustment])
    assert asked.status_code == 200 and "wire received, ref 778" in asked.content.decode()
    approved = _action(client, ADJUSTMENTS, "approve", [adjustment], confirmed="yes")

    assert approved.status_code == 302
    _refresh(adjustment, alpha_usd, bank_usd)
    assert adjustment.state == Adjustment.State.APPROVED
    assert adjustment.decided_by == second_staff_user
    transfer = adjustment.transfer
    assert (transfer.status, transfer.amount, transfer.code) == ("posted", 100_000, "deposit")
    assert (transfer.debit_account_id, transfer.credit_account_id) == (bank_usd.pk, alpha_usd.pk)
    assert alpha_usd.posted_balance == 100_000
    assert bank_usd.posted_balance == 100_000

    again = _action(client, ADJUSTMENTS, "approve", [adjustment], confirmed="yes")
    assert any("already approved" in m for m in _messages(again))
    assert Transfer.objects.count() == 1


def test_rejecting_an_adjustment_posts_nothing(
    client, staff_user, second_staff_user, bank_usd, alpha_usd
):
    client.force_login(staff_user)
    _propose(client, bank_usd, alpha_usd)
    adjustment = Adjustment.objects.get()
    client.force_login(second_staff_user)

    response = _action(client, ADJUSTMENTS, "reject", [adjustment])

    assert response.status_code == 302
    adjustment.refresh_from_db()
    assert adjustment.state == Adjustment.State.REJECTED
    assert adjustment.decided_by == second_staff_user
    assert not Transfer.objects.exists()


def test_an_approval_the_ledger_refuses_leaves_the_adjustment_proposed(
    client, staff_user, second_staff_user, alpha_usd, beta_usd
):
    client.force_login(staff_user)
    _propose(client, alpha_usd, beta_usd, amount="5.00", code="correction")  # alpha holds 0
    adjustment = Adjustment.objects.get()
    client.force_login(second_staff_user)

    response = _action(client, ADJUSTMENTS, "approve", [adjustment], confirmed="yes")

    assert response.status_code == 302
    assert any("exceed" in m for m in _messages(response))
    adjustment.refresh_from_db()
    assert adjustment.state == Adjustment.State.PROPOSED
    assert not Transfer.objects.exists()


def test_a_proposed_adjustment_cannot_be_edited_or_deleted(ops, bank_usd, alpha_usd):
    _propose(ops, bank_usd, alpha_usd)
    adjustment = Adjustment.objects.get()
    url = f"{ADJUSTMENTS}{adjustment.pk}/"

    view = ops.get(f"{url}change/")
    edit = ops.post(f"{url}change/", {"amount": "9999.00", "reason": "more"})
    delete = ops.post(f"{url}delete/", {"post": "yes"})

    assert view.status_code == 200 and "250.50" in view.content.decode()
    assert edit.status_code == delete.status_code == 403
    adjustment.refresh_from_db()
    assert (adjustment.amount, adjustment.state) == (25_050, Adjustment.State.PROPOSED)


# --- Checker runs and the dashboard --------------------------------------------------------


def _check_run(*, ok, violations=(), minutes_ago=5):
    started = timezone.now() - timedelta(minutes=minutes_ago)
    return LedgerCheckRun.objects.create(
        kind=LedgerCheckRun.Kind.INVARIANTS,
        started_at=started,
        finished_at=started + timedelta(seconds=1),
        ok=ok,
        violations=list(violations),
    )


def test_check_runs_are_listed_read_only(ops):
    run = _check_run(ok=False, violations=[{"check": "totals", "asset": "USD"}])

    listing = ops.get("/admin/ledger/ledgercheckrun/")
    detail = ops.get(f"/admin/ledger/ledgercheckrun/{run.pk}/change/")

    assert listing.status_code == detail.status_code == 200
    assert "totals" in detail.content.decode()
    assert ops.get("/admin/ledger/ledgercheckrun/add/").status_code == 403


@pytest.fixture
def busy_day(alpha_usd, beta_usd, fund, staff_user, partner):
    """Partners hold USD 150.00 + 50.00 and EUR 10.00; 5.00 USD is pending; one adjustment
    awaits approval; the latest invariant check found two violations."""
    from ledger.adjustments import adjustment_propose
    from ledger.services import account_open

    fund(alpha_usd, 15_000)
    fund(beta_usd, 5_000)
    fund(account_open(partner=partner, asset="EUR"), 1_000)
    transfer_create(
        request=TransferRequest(
            debit_account_id=alpha_usd.pk,
            credit_account_id=beta_usd.pk,
            amount=500,
            asset="USD",
            pending=True,
        )
    )
    adjustment_propose(
        debit_account=alpha_usd,
        credit_account=beta_usd,
        amount=100,
        reason="fee refund",
        acting_user=staff_user,
    )
    _check_run(ok=True, minutes_ago=60)
    _check_run(ok=False, violations=["a", "b"], minutes_ago=1)


def test_dashboard_tiles_count_the_day_in_a_few_queries(
    busy_day, rf, django_assert_max_num_queries
):
    with django_assert_max_num_queries(5):
        tiles = {tile["title"]: tile for tile in ledger_tiles(rf.get("/admin/"))}

    assert tiles["Partner balances USD"]["value"] == "200.00"  # pending does not count
    assert tiles["Partner balances EUR"]["value"] == "10.00"
    assert tiles["Transfers today"]["value"] == 4
    assert tiles["Pending transfers"]["value"] == 1
    assert tiles["Pending transfers"]["hint"] == "USD 5.00"
    assert tiles["Adjustments awaiting approval"]["value"] == 1
    assert tiles["Last ledger check"]["value"] == "2 violations"
    assert tiles["Last ledger check"]["status"] == "alert"


def test_dashboard_page_shows_the_ledger_tiles(ops, busy_day):
    response = ops.get("/admin/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "Ledger" in html
    assert "Partner balances USD" in html and "200.00" in html
    assert "Transfers today" in html
    assert "Adjustments awaiting approval" in html
    assert "2 violations" in html and "status-alert" in html


def test_dashboard_says_when_the_ledger_check_never_ran(db, rf):
    tiles = {tile["title"]: tile for tile in ledger_tiles(rf.get("/admin/"))}

    assert tiles["Last ledger check"]["value"] == "never run"
    assert tiles["Partner balances"]["value"] == "none"
    assert tiles["Transfers today"]["value"] == 0


# --- Forged posts --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "action"),
    [(ACCOUNTS, "freeze"), (TRANSFERS, "propose_reversal"), (ADJUSTMENTS, "approve")],
)
def test_an_action_on_ids_that_are_not_ids_is_a_message_not_a_500(ops, url, action):
    data = {"action": action, "_selected_action": ["not-a-uuid"], "reason": "x"}

    response = ops.post(url, data)

    assert response.status_code == 302
    assert "Some selected rows do not exist." in _messages(response)


def test_the_proposal_form_survives_account_ids_that_are_not_ids(ops, alpha_usd):
    response = _propose(ops, alpha_usd, alpha_usd, debit_account="not-a-uuid")

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "debit_account" in errors
    assert errors["amount"] == ["Choose both accounts: the amount is in their asset."]
    assert not Adjustment.objects.exists()


def test_a_proposal_code_follows_the_transfer_code_rules(ops, bank_usd, alpha_usd):
    response = _propose(ops, bank_usd, alpha_usd, code="bogus code")

    assert response.status_code == 200
    assert "code" in response.context["adminform"].form.errors
    assert not Adjustment.objects.exists()
