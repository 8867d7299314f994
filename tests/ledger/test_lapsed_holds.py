"""A hold past its timeout reads expired everywhere (API and console) the moment it lapses,
and its money counts as held no more, before the expiry job has run. The job still resolves
it exactly once, and posting or voiding it meanwhile is still a 409 expired."""

from datetime import timedelta

import pytest
from django.utils import timezone

from ledger.integrity import ledger_check_run
from ledger.models import Account, LedgerCheckRun, Transfer
from ledger.services import (
    TransferRequest,
    house_accounts_ensure,
    pending_transfers_expire,
    transfer_create,
)

TRANSFERS = "/api/v1/ledger/transfers/"
ACCOUNTS = "/api/v1/ledger/accounts/"


@pytest.fixture
def funded(alpha_usd, fund):
    fund(alpha_usd, 100_000)  # 1,000.00
    return alpha_usd


def _hold(account, amount, *, timeout_seconds=60):
    """A hold the partner placed itself (through the API's service call), so it is the
    partner's to post or void."""
    bank = house_accounts_ensure(asset=account.asset_id)["settlement_bank"]
    return transfer_create(
        partner=account.partner,
        request=TransferRequest(
            debit_account_id=account.pk,
            credit_account_id=bank.pk,
            amount=amount,
            asset=account.asset_id,
            code="withdrawal",
            pending=True,
            timeout_seconds=timeout_seconds,
        ),
    )


def _lapse(hold):
    """As if its timeout passed a moment ago and the expiry job has not run since."""
    Transfer.objects.filter(pk=hold.pk).update(expires_at=timezone.now() - timedelta(seconds=1))


def _statuses(client, **params) -> set[str]:
    return {t["id"] for t in client.get(TRANSFERS, params).json()["results"]}


def test_the_api_reads_a_lapsed_hold_as_expired_and_its_money_as_available(partner_api, funded):
    hold = _hold(funded, 30_000)
    live = _hold(funded, 5_000, timeout_seconds=3600)
    before = partner_api.get(f"{ACCOUNTS}{funded.pk}/").json()["balance"]
    assert before == {"posted": "1000.00", "pending": "-350.00", "available": "650.00"}

    _lapse(hold)

    detail = partner_api.get(f"{TRANSFERS}{hold.pk}/").json()
    account = partner_api.get(f"{ACCOUNTS}{funded.pk}/").json()["balance"]
    listed = next(
        a for a in partner_api.get(ACCOUNTS).json()["results"] if a["id"] == str(funded.pk)
    )
    assert detail["status"] == "expired"
    assert account == {"posted": "1000.00", "pending": "-50.00", "available": "950.00"}
    assert listed["balance"] == account
    assert str(hold.pk) in _statuses(partner_api, status="expired")
    assert str(hold.pk) not in _statuses(partner_api, status="pending")
    assert str(live.pk) in _statuses(partner_api, status="pending")
    assert Transfer.objects.get(pk=hold.pk).status == "pending"  # nothing written yet


@pytest.mark.parametrize("resolution", ["post", "void"])
def test_a_lapsed_hold_cannot_be_posted_or_voided_before_the_job_runs(
    partner_api, funded, resolution
):
    hold = _hold(funded, 30_000)
    _lapse(hold)

    response = partner_api.post(f"{TRANSFERS}{hold.pk}/{resolution}/", {}, format="json")

    assert response.status_code == 409
    body = response.json()
    assert (body["code"], body["details"]["reason"]) == ("conflict", "pending_transfer_expired")
    assert Transfer.objects.get(pk=hold.pk).status == "pending"


def test_the_job_then_resolves_it_once_and_the_balances_read_the_same(partner_api, funded):
    hold = _hold(funded, 30_000)
    _lapse(hold)
    read_before = partner_api.get(f"{ACCOUNTS}{funded.pk}/").json()["balance"]

    assert pending_transfers_expire() == 1
    assert pending_transfers_expire() == 0

    hold.refresh_from_db()
    assert hold.status == "expired"
    assert Transfer.objects.filter(pending=hold, kind="expire_pending").count() == 1
    assert partner_api.get(f"{ACCOUNTS}{funded.pk}/").json()["balance"] == read_before
    funded.refresh_from_db()
    assert (funded.debits_pending, funded.available_balance) == (0, 100_000)
    assert ledger_check_run(kind=LedgerCheckRun.Kind.INVARIANTS).ok


def test_the_console_shows_a_lapsed_hold_expired_and_the_money_available(
    client, staff_user, funded
):
    hold = _hold(funded, 30_000)
    _lapse(hold)
    client.force_login(staff_user)

    accounts = client.get("/admin/ledger/account/").content.decode()
    journal = client.get("/admin/ledger/transfer/", {"hold": "overdue"}).content.decode()
    # The account's statement writes the expiry, so its lines agree with its balance.
    account_page = client.get(f"/admin/ledger/account/{funded.pk}/change/").content.decode()

    assert "1,000.00" in accounts and "700.00" not in accounts
    assert 'class="field-available_balance_display">1,000.00' in accounts
    assert ">expired<" in journal
    assert "1,000.00" in account_page and "700.00" not in account_page
    hold.refresh_from_db()
    assert hold.status == Transfer.Status.EXPIRED


def test_the_dashboard_counts_a_lapsed_hold_as_not_held_and_offers_the_expiry_job(funded):
    from ledger.dashboard import pending_transfers_tile

    _hold(funded, 5_000, timeout_seconds=3600)
    _lapse(_hold(funded, 30_000))

    tile = pending_transfers_tile(now=timezone.now())

    assert tile["value"] == 1
    assert tile["hint"].startswith("USD 50.00;")
    assert "1 past its timeout" in tile["hint"]
    assert tile["url"] == "core/jobrun/"
    assert tile["status"] == "warn"


def test_an_account_read_without_the_annotation_still_counts_the_totals(funded):
    """Services work on the raw totals: only readers leave lapsed holds out."""
    _lapse(_hold(funded, 30_000))

    account = Account.objects.get(pk=funded.pk)

    assert account.available_balance == 70_000


def test_money_a_lapsed_hold_no_longer_holds_can_be_spent_before_the_job_runs(
    partner_api, funded, beta_usd
):
    hold = _hold(funded, 30_000)
    _lapse(hold)
    available = partner_api.get(f"{ACCOUNTS}{funded.pk}/").json()["balance"]["available"]
    assert available == "1000.00"

    response = partner_api.post(
        TRANSFERS,
        {
            "debit_account": str(funded.pk),
            "credit_account": str(beta_usd.pk),
            "amount": "1000.00",
            "asset": "USD",
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    hold.refresh_from_db()
    assert hold.status == "expired"
    assert Transfer.objects.filter(pending=hold, kind="expire_pending").count() == 1
    funded.refresh_from_db()
    assert (funded.posted_balance, funded.debits_pending) == (0, 0)
    assert pending_transfers_expire() == 0
    assert ledger_check_run(kind=LedgerCheckRun.Kind.INVARIANTS).ok


def test_an_atomic_batch_may_spend_it_too_and_more_than_there_is_still_fails(
    partner_api, funded, beta_usd
):
    _lapse(_hold(funded, 30_000))
    item = {
        "debit_account": str(funded.pk),
        "credit_account": str(beta_usd.pk),
        "amount": "600.00",
        "asset": "USD",
    }

    ok = partner_api.post(
        f"{TRANSFERS}batch/",
        {"mode": "atomic", "transfers": [item, {**item, "amount": "400.00"}]},
        format="json",
    )
    too_much = partner_api.post(TRANSFERS, {**item, "amount": "0.01"}, format="json")

    assert ok.status_code == 200, ok.content
    assert [r["status"] for r in ok.json()["results"]] == ["created", "created"]
    assert too_much.status_code == 422
    assert too_much.json()["code"] == "insufficient_funds"
    funded.refresh_from_db()
    assert (funded.posted_balance, funded.available_balance) == (0, 0)


def test_a_transfer_refused_even_so_leaves_the_lapsed_hold_to_the_job(
    partner_api, funded, beta_usd
):
    hold = _hold(funded, 30_000)
    _lapse(hold)

    response = partner_api.post(
        TRANSFERS,
        {
            "debit_account": str(funded.pk),
            "credit_account": str(beta_usd.pk),
            "amount": "1000.01",
            "asset": "USD",
        },
        format="json",
    )

    assert response.status_code == 422
    assert response.json()["code"] == "insufficient_funds"
    hold.refresh_from_db()
    assert hold.status == "pending"  # a refusal changes nothing, the expiry included
    assert not Transfer.objects.filter(pending=hold).exists()
    assert pending_transfers_expire() == 1
