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
from ledger.services import (
    TransferRequest,
    account_freeze,
    house_accounts_ensure,
    pending_transfer_post,
    pending_transfer_void,
    pending_transfers_expire,
    transfer_create,
    transfer_reverse,
)

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


def _row(response, obj) -> str:
    """The changelist row of one object (found by its action checkbox)."""
    rows = _result_rows(response).split("<tr")
    return next(row for row in rows if f'value="{obj.pk}"' in row)


def _change_url(obj) -> str:
    return f"/admin/ledger/{obj._meta.model_name}/{obj.pk}/change/"


# What the confirmation page posts back: "Yes", with the reason it asks for.
CONFIRMED = {"confirmed": "yes", "reason": "checked with the client"}


def _confirm(client, asked, reason=None):
    """Press the confirmation page's "Yes" button, with the reason typed there (or the one
    it kept from the action bar)."""
    data = dict_of_lists(_hidden_inputs(asked))
    kept = re.search(r'<textarea name="reason"[^>]*>([^<]*)</textarea>', asked.content.decode())
    data["reason"] = [reason if reason is not None else kept.group(1)]
    return client.post(asked.wsgi_request.path, data)


def _refresh(*objects):
    for obj in objects:
        obj.refresh_from_db()


def _hold(account, amount, *, timeout_seconds=None):
    """A hold on `account`'s money, towards the house settlement bank (a withdrawal)."""
    bank = house_accounts_ensure(asset=account.asset_id)["settlement_bank"]
    return transfer_create(
        request=TransferRequest(
            debit_account_id=account.pk,
            credit_account_id=bank.pk,
            amount=amount,
            asset=account.asset_id,
            code="withdrawal",
            pending=True,
            timeout_seconds=timeout_seconds,
        )
    )


def _overdue(hold):
    """As if the expirer had not run since the hold's expiry (it is a minute past)."""
    Transfer.objects.filter(pk=hold.pk).update(expires_at=timezone.now() - timedelta(minutes=1))


# --- Accounts ------------------------------------------------------------------------------


def test_account_list_shows_owner_and_balances_in_the_asset_scale(ops, alpha_usd, fund):
    fund(alpha_usd, 150_050)

    response = ops.get(ACCOUNTS)

    html = response.content.decode()
    assert response.status_code == 200
    assert "1,500.50" in html  # alpha's posted and available balance, grouped
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
    asked = _action(ops, ACCOUNTS, "freeze", [alpha_usd])
    alpha_usd.refresh_from_db()
    assert asked.status_code == 200 and "Yes, freeze them" in asked.content.decode()
    assert alpha_usd.status == Account.Status.OPEN
    unexplained = _confirm(ops, asked, reason="  ")
    alpha_usd.refresh_from_db()
    assert unexplained.status_code == 200 and "Say why" in unexplained.content.decode()
    assert alpha_usd.status == Account.Status.OPEN

    response = _confirm(ops, asked, reason="court order")

    assert response.status_code == 302
    alpha_usd.refresh_from_db()
    assert alpha_usd.status == Account.Status.FROZEN
    event = AuditEvent.objects.get(action="account.frozen", target_id=str(alpha_usd.pk))
    assert event.actor == staff_user
    assert event.after["reason"] == "court order"


def test_a_refused_status_change_is_an_error_message_not_a_500(ops, alpha_usd, fund):
    fund(alpha_usd, 100)

    unfreeze = _action(ops, ACCOUNTS, "unfreeze", [alpha_usd], **CONFIRMED)  # it is open
    close = _action(ops, ACCOUNTS, "close", [alpha_usd], **CONFIRMED)  # not empty

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

    confirmed = _confirm(ops, asked)  # "Yes, close them", the reason kept from the action bar

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
    _action(client, ACCOUNTS, "freeze", [alpha_usd], **CONFIRMED)

    assert page.status_code == listing.status_code == 200
    assert 'name="action"' not in listing.content.decode()  # no actions offered
    alpha_usd.refresh_from_db()
    assert alpha_usd.status == Account.Status.OPEN


def test_unfreeze_reopens_a_frozen_account(ops, alpha_usd, staff_user):
    account_freeze(account=alpha_usd, acting_user=staff_user)

    _action(ops, ACCOUNTS, "unfreeze", [alpha_usd], **CONFIRMED)

    alpha_usd.refresh_from_db()
    assert alpha_usd.status == Account.Status.OPEN


def test_accounts_cannot_be_added_edited_or_deleted_from_the_console(ops, alpha_usd):
    url = f"{ACCOUNTS}{alpha_usd.pk}/"

    assert ops.get(f"{ACCOUNTS}add/").status_code == 403
    assert ops.post(f"{url}change/", {"status": "closed", "code": "x"}).status_code == 403
    assert ops.post(f"{url}delete/", {"post": "yes"}).status_code == 403
    alpha_usd.refresh_from_db()
    assert (alpha_usd.status, alpha_usd.code) == (Account.Status.OPEN, "main")


def test_account_list_groups_amounts_and_explains_the_sign_of_holds(ops, alpha_usd, fund):
    fund(alpha_usd, 123_456_789)
    _hold(alpha_usd, 300_000)

    response = ops.get(ACCOUNTS)

    table = _result_rows(response)
    row = _row(response, alpha_usd)
    assert "Held (- out / + in)" in table
    assert "column-kind" not in table  # the kind is a filter, not a column
    assert "1,234,567.89" in row  # posted
    assert "-3,000.00" in row  # held for an outgoing transfer
    assert "1,231,567.89" in row  # available = posted - outgoing holds


def test_account_page_links_to_all_its_transfers_in_the_journal(ops, alpha_usd, beta_usd, fund):
    fund(alpha_usd, 10_000)
    out = transfer_create(
        request=TransferRequest(
            debit_account_id=alpha_usd.pk,
            credit_account_id=beta_usd.pk,
            amount=1_000,
            asset="USD",
        )
    )

    page = ops.get(_change_url(alpha_usd)).content.decode()

    journal = f"{TRANSFERS}?account={alpha_usd.pk}"
    assert f'<a href="{journal}">All 2 transfers of this account in the journal →</a>' in page
    listed = ops.get(journal)
    beta_only = fund(beta_usd, 700)
    rows = _result_rows(ops.get(journal))
    assert str(out.pk) in rows and "100.00 USD" in rows  # debit side and credit side
    assert str(beta_only.pk) not in rows
    assert str(alpha_usd) in listed.content.decode()  # the sidebar names the account
    counted = ops.get(journal, {"_facets": "True", "hold": "open"})
    assert counted.status_code == 200


# --- Transfer journal ----------------------------------------------------------------------


def test_transfer_journal_lists_transfers_with_formatted_amounts(ops, alpha_usd, fund):
    transfer = fund(alpha_usd, 123_456)

    listing = ops.get(TRANSFERS)
    detail = ops.get(f"{TRANSFERS}{transfer.pk}/change/")

    assert listing.status_code == detail.status_code == 200
    assert "1,234.56 USD" in listing.content.decode()
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
    own = _action(client, ADJUSTMENTS, "approve", [proposal], **CONFIRMED)
    assert any("someone other than its proposer" in m for m in _messages(own))
    alpha_usd.refresh_from_db()
    assert alpha_usd.posted_balance == 700

    client.force_login(second_staff_user)
    _action(client, ADJUSTMENTS, "approve", [proposal], **CONFIRMED)

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


def test_journal_names_kinds_in_staff_words_and_what_became_of_each_hold(
    ops, alpha_usd, fund, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    fund(alpha_usd, 100_000)
    posted = _hold(alpha_usd, 3_000)
    post = pending_transfer_post(pending_id=posted.pk, amount=1_200)
    with CaptureQueriesContext(connection) as one_resolved:
        ops.get(TRANSFERS)
    voided = _hold(alpha_usd, 500)
    void = pending_transfer_void(pending_id=voided.pk)
    expired = _hold(alpha_usd, 400, timeout_seconds=60)
    _overdue(expired)
    pending_transfers_expire()
    still_open = _hold(alpha_usd, 250)

    with django_assert_max_num_queries(len(one_resolved)):  # no query per hold
        response = ops.get(TRANSFERS)

    assert "Hold" in _row(response, posted) and "posted 12.00 of 30.00" in _row(response, posted)
    assert "Hold posted" in _row(response, post)
    assert "voided" in _row(response, voided)
    assert "Hold released (void)" in _row(response, void)
    assert "expired" in _row(response, expired)
    assert "Hold expired" in _row(response, Transfer.objects.get(pending=expired))
    assert "pending" in _row(response, still_open)
    assert "single_phase" not in _result_rows(response)
    assert ">Transfer<" in _result_rows(response)  # the deposit


def test_journal_rows_link_their_accounts_and_show_amount_with_asset(ops, alpha_usd, fund):
    transfer = fund(alpha_usd, 120_000)

    response = ops.get(TRANSFERS)

    row = _row(response, transfer)
    assert f'href="{_change_url(alpha_usd)}"' in row
    assert f'href="{_change_url(transfer.debit_account)}"' in row
    assert "1,200.00 USD" in row
    assert "column-asset" not in _result_rows(response)  # merged into the amount


def test_a_transfer_page_links_its_hold_resolution_reversal_and_accounts(
    ops, alpha_usd, fund, staff_user
):
    fund(alpha_usd, 10_000)
    hold = _hold(alpha_usd, 3_000)
    post = pending_transfer_post(pending_id=hold.pk)
    deposit = fund(alpha_usd, 500)
    reversal = transfer_reverse(transfer=deposit, acting_user=staff_user)

    hold_page = ops.get(_change_url(hold)).content.decode()
    post_page = ops.get(_change_url(post)).content.decode()
    deposit_page = ops.get(_change_url(deposit)).content.decode()
    reversal_page = ops.get(_change_url(reversal)).content.decode()

    assert "Resolved by" in hold_page and f'href="{_change_url(post)}"' in hold_page
    assert "posted 30.00 of 30.00" in hold_page
    assert f'href="{_change_url(hold)}"' in post_page  # its hold
    assert f'href="{_change_url(alpha_usd)}"' in post_page  # and its accounts
    assert "Reversed by" in deposit_page and f'href="{_change_url(reversal)}"' in deposit_page
    assert f'href="{_change_url(deposit)}"' in reversal_page


def test_journal_filters_open_and_overdue_holds(ops, alpha_usd, fund):
    fund(alpha_usd, 10_000)
    overdue = _hold(alpha_usd, 100, timeout_seconds=60)
    _overdue(overdue)
    running = _hold(alpha_usd, 200, timeout_seconds=3600)
    posted = _hold(alpha_usd, 300, timeout_seconds=60)
    pending_transfer_post(pending_id=posted.pk)

    open_rows = _result_rows(ops.get(TRANSFERS, {"hold": "open"}))
    overdue_rows = _result_rows(ops.get(TRANSFERS, {"hold": "overdue"}))

    assert str(overdue.pk) in open_rows and str(running.pk) in open_rows
    assert str(posted.pk) not in open_rows
    # Past its timeout it reads expired at once, though the expiry job has not run yet.
    assert str(overdue.pk) in overdue_rows and ">expired<" in overdue_rows
    assert str(running.pk) not in overdue_rows and str(posted.pk) not in overdue_rows


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
    assert AuditEvent.objects.filter(action="adjustment.proposed").count() == 1
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

    own = _action(client, ADJUSTMENTS, "approve", [adjustment], **CONFIRMED)

    assert own.status_code == 302
    assert any("someone other than its proposer" in m for m in _messages(own))
    _refresh(adjustment, alpha_usd)
    assert adjustment.state == Adjustment.State.PROPOSED and adjustment.transfer is None
    assert not Transfer.objects.exists()
    assert alpha_usd.posted_balance == 0

    client.force_login(second_staff_user)
    asked = _action(client, ADJUSTMENTS, "approve", [adjustment])
    assert asked.status_code == 200 and "wire received, ref 778" in asked.content.decode()
    approved = _action(client, ADJUSTMENTS, "approve", [adjustment], **CONFIRMED)

    assert approved.status_code == 302
    _refresh(adjustment, alpha_usd, bank_usd)
    assert adjustment.state == Adjustment.State.APPROVED
    assert adjustment.decided_by == second_staff_user
    transfer = adjustment.transfer
    assert (transfer.status, transfer.amount, transfer.code) == ("posted", 100_000, "deposit")
    assert (transfer.debit_account_id, transfer.credit_account_id) == (bank_usd.pk, alpha_usd.pk)
    assert alpha_usd.posted_balance == 100_000
    assert bank_usd.posted_balance == 100_000

    again = _action(client, ADJUSTMENTS, "approve", [adjustment], **CONFIRMED)
    assert any("already approved" in m for m in _messages(again))
    assert Transfer.objects.count() == 1


def test_rejecting_an_adjustment_posts_nothing(
    client, staff_user, second_staff_user, bank_usd, alpha_usd
):
    client.force_login(staff_user)
    _propose(client, bank_usd, alpha_usd)
    adjustment = Adjustment.objects.get()
    client.force_login(second_staff_user)

    asked = _action(client, ADJUSTMENTS, "reject", [adjustment])
    adjustment.refresh_from_db()
    assert asked.status_code == 200 and "Yes, reject them" in asked.content.decode()
    assert adjustment.state == Adjustment.State.PROPOSED
    response = _confirm(client, asked, reason="duplicate of an earlier proposal")

    assert response.status_code == 302
    adjustment.refresh_from_db()
    assert adjustment.state == Adjustment.State.REJECTED
    assert adjustment.decided_by == second_staff_user
    event = AuditEvent.objects.get(action="adjustment.rejected")
    assert event.after["reason"] == "duplicate of an earlier proposal"
    assert not Transfer.objects.exists()


def test_an_approval_the_ledger_refuses_leaves_the_adjustment_proposed(
    client, staff_user, second_staff_user, alpha_usd, beta_usd
):
    client.force_login(staff_user)
    _propose(client, alpha_usd, beta_usd, amount="5.00", code="correction")  # alpha holds 0
    adjustment = Adjustment.objects.get()
    client.force_login(second_staff_user)

    response = _action(client, ADJUSTMENTS, "approve", [adjustment], **CONFIRMED)

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


def test_adjustment_list_is_compact(client, staff_user, bank_usd, alpha_usd):
    client.force_login(staff_user)
    _propose(client, bank_usd, alpha_usd, amount="1250.50", reason="x" * 30 + " and more " * 5)

    response = client.get(ADJUSTMENTS)

    table = _result_rows(response)
    assert "1,250.50 USD" in table
    assert f'href="{_change_url(alpha_usd)}"' in table
    assert "column-transfer" not in table and "column-asset" not in table
    assert "x" * 30 + " and more…" in table  # the reason cut at 40 characters


def test_the_proposer_is_told_at_once_they_cannot_decide_their_own_adjustments(
    client, staff_user, second_staff_user, bank_usd, alpha_usd
):
    client.force_login(staff_user)
    _propose(client, bank_usd, alpha_usd)
    own = Adjustment.objects.get()

    for action in ("approve", "reject"):
        response = _action(client, ADJUSTMENTS, action, [own])
        assert response.status_code == 302  # no confirmation page to click through
        assert any("someone other than its proposer" in m for m in _messages(response))

    client.force_login(second_staff_user)
    _propose(client, bank_usd, alpha_usd)
    theirs = Adjustment.objects.exclude(pk=own.pk).get()
    client.force_login(staff_user)
    mixed = _action(client, ADJUSTMENTS, "reject", [own, theirs])
    assert mixed.status_code == 200 and "Yes, reject them" in mixed.content.decode()


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
    assert tiles["Ledger checks"]["value"] == "1 failed run"
    assert tiles["Ledger checks"]["status"] == "alert"


def test_dashboard_page_shows_the_ledger_tiles(ops, busy_day):
    response = ops.get("/admin/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "Ledger" in html
    assert "Partner balances USD" in html and "200.00" in html
    assert "Transfers today" in html
    assert "Adjustments awaiting approval" in html
    assert "1 failed run" in html and "status-alert" in html


def test_dashboard_says_when_the_ledger_check_never_ran(db, rf):
    tiles = {tile["title"]: tile for tile in ledger_tiles(rf.get("/admin/"))}

    assert tiles["Ledger checks"]["value"] == "never run"
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


def test_the_dashboards_partner_filter_selects_every_partner_not_the_house(ops, alpha_usd, fund):
    fund(alpha_usd, 100)

    response = ops.get(ACCOUNTS, {"partner__isnull": "False", "asset__code__exact": "USD"})

    html = response.content.decode()
    assert "settlement_bank" not in _result_rows(response) and "alpha" in _result_rows(response)
    selected = re.findall(r'<li class="selected">\s*<a[^>]*>([^<]+)</a>', html)
    assert "every partner" in selected and "house" not in selected


def test_an_accounts_audit_trail_is_one_click_away(ops, staff_user, alpha_usd):
    account_freeze(account=alpha_usd, acting_user=staff_user, reason="court order 17")

    page = ops.get(f"{ACCOUNTS}{alpha_usd.pk}/change/").content.decode()
    trail_url = re.search(r'href="(/admin/core/auditevent/\?[^"]+)"', page).group(1)
    trail = ops.get(trail_url.replace("&amp;", "&")).content.decode()

    assert "account.frozen" in trail and "account.opened" in trail
    assert f'href="/admin/ledger/account/{alpha_usd.pk}/change/"' in trail


@pytest.mark.parametrize("value", ["00000000-0000-0000-0000-000000000000", "not-a-uuid"])
def test_a_mistyped_account_in_the_journal_filter_shows_nothing_not_everything(
    ops, alpha_usd, fund, value
):
    fund(alpha_usd, 100)

    response = ops.get(TRANSFERS, {"account": value})

    assert response.status_code == 200
    assert response.context["cl"].result_count == 0
    assert "no such account" in response.content.decode()
