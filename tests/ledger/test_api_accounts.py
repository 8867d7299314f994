"""The partner API for accounts: list, open, detail with balances (now and as of an
instant), and the statement with its running balance."""

from datetime import timedelta

import pytest

from ledger.models import Account
from ledger.services import TransferRequest, account_open, transfer_create

ACCOUNTS = "/api/v1/ledger/accounts/"


def _pay(debit, credit, amount, **kw):
    return transfer_create(
        request=TransferRequest(
            debit_account_id=debit.pk,
            credit_account_id=credit.pk,
            amount=amount,
            asset=debit.asset_id,
            **kw,
        )
    )


# --- list --------------------------------------------------------------------------------


def test_the_list_shows_only_the_partners_own_accounts_with_balances(
    partner_api, alpha_usd, beta_usd, fund
):
    fund(alpha_usd, 150_050)
    response = partner_api.get(ACCOUNTS)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"next", "previous", "results"}
    assert [a["id"] for a in body["results"]] == [str(alpha_usd.pk)]
    (account,) = body["results"]
    assert account["code"] == "main"
    assert account["asset"] == "USD"
    assert account["kind"] == "liability"
    assert account["status"] == "open"
    assert account["balance"] == {"posted": "1500.50", "pending": "0.00", "available": "1500.50"}
    assert account["created_at"].endswith("Z")


def test_the_list_filters_by_asset_and_paginates(partner_api, partner, alpha_usd):
    eur = account_open(partner=partner, asset="EUR")
    jpy = account_open(partner=partner, asset="JPY")

    response = partner_api.get(ACCOUNTS, {"asset": "EUR"})
    assert [a["id"] for a in response.json()["results"]] == [str(eur.pk)]

    first = partner_api.get(ACCOUNTS, {"limit": 2}).json()
    assert [a["id"] for a in first["results"]] == [str(jpy.pk), str(eur.pk)]  # newest first
    assert first["previous"] is None
    second = partner_api.get(first["next"]).json()
    assert [a["id"] for a in second["results"]] == [str(alpha_usd.pk)]
    assert second["next"] is None


def test_the_list_needs_a_token(api_client, alpha_usd):
    response = api_client.get(ACCOUNTS)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


# --- open --------------------------------------------------------------------------------


def test_a_partner_opens_another_account_in_an_asset(partner_api, partner, alpha_usd):
    response = partner_api.post(ACCOUNTS, {"asset": "USD", "code": "savings"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    account = Account.objects.get(pk=body["id"])
    assert (account.partner_id, account.asset_id, account.code) == (partner.pk, "USD", "savings")
    assert account.debits_must_not_exceed_credits  # a partner's account never goes below zero
    assert body["balance"] == {"posted": "0.00", "pending": "0.00", "available": "0.00"}
    assert body["status"] == "open"


def test_opening_without_a_code_opens_main(partner_api, partner):
    response = partner_api.post(ACCOUNTS, {"asset": "JPY"}, format="json")
    assert response.status_code == 201
    assert response.json()["code"] == "main"
    assert response.json()["balance"]["posted"] == "0"  # JPY has no minor unit


def test_a_code_already_used_in_that_asset_is_a_conflict(partner_api, alpha_usd):
    response = partner_api.post(ACCOUNTS, {"asset": "USD", "code": "main"}, format="json")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "conflict"
    assert body["details"]["reason"] == "account_exists"
    assert Account.objects.filter(partner=alpha_usd.partner).count() == 1


def test_opening_in_an_unknown_asset_is_a_validation_error(partner_api, partner):
    response = partner_api.post(ACCOUNTS, {"asset": "XYZ"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert "asset" in response.json()["details"]
    assert not Account.objects.filter(partner=partner).exists()


def test_opening_is_idempotent_under_an_idempotency_key(partner_api, partner):
    headers = {"Idempotency-Key": "open-eur-1"}
    first = partner_api.post(ACCOUNTS, {"asset": "EUR"}, format="json", headers=headers)
    again = partner_api.post(ACCOUNTS, {"asset": "EUR"}, format="json", headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert Account.objects.filter(partner=partner, asset="EUR").count() == 1


# --- detail ------------------------------------------------------------------------------


def test_the_detail_shows_posted_pending_and_available(partner_api, alpha_usd, beta_usd, fund):
    fund(alpha_usd, 100_000)
    _pay(alpha_usd, beta_usd, 30_000, pending=True)
    response = partner_api.get(f"{ACCOUNTS}{alpha_usd.pk}/")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"id", "code", "asset", "kind", "status", "balance", "created_at"}
    assert body["balance"] == {"posted": "1000.00", "pending": "-300.00", "available": "700.00"}


def test_another_partners_account_is_not_found(partner_api, other_partner_api, alpha_usd, beta_usd):
    for path in (f"{ACCOUNTS}{beta_usd.pk}/", f"{ACCOUNTS}{beta_usd.pk}/entries/"):
        response = partner_api.get(path)
        assert response.status_code == 404, path
        assert response.json()["code"] == "not_found"
    assert other_partner_api.get(f"{ACCOUNTS}{alpha_usd.pk}/").status_code == 404


def test_an_unknown_or_malformed_account_id_is_not_found(partner_api, alpha_usd):
    assert partner_api.get(f"{ACCOUNTS}00000000-0000-0000-0000-000000000000/").status_code == 404
    response = partner_api.get(f"{ACCOUNTS}not-a-uuid/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_as_of_gives_the_balance_at_that_instant(partner_api, alpha_usd, beta_usd, fund):
    deposit = fund(alpha_usd, 100_000)
    payment = _pay(alpha_usd, beta_usd, 25_000)
    _pay(alpha_usd, beta_usd, 10_000, pending=True)
    url = f"{ACCOUNTS}{alpha_usd.pk}/"

    def balance_as_of(instant):
        response = partner_api.get(url, {"as_of": instant.isoformat()})
        assert response.status_code == 200, response.content
        return response.json()["balance"]

    before = deposit.created_at - timedelta(microseconds=1)
    assert balance_as_of(before) == {"posted": "0.00", "pending": "0.00", "available": "0.00"}
    assert balance_as_of(deposit.created_at)["posted"] == "1000.00"  # at the instant: included
    assert balance_as_of(payment.created_at) == {
        "posted": "750.00",
        "pending": "0.00",
        "available": "750.00",
    }
    now = balance_as_of(payment.created_at + timedelta(days=1))
    assert now == {"posted": "750.00", "pending": "-100.00", "available": "650.00"}
    assert partner_api.get(url).json()["balance"] == now


def test_as_of_accepts_utc_with_z_and_refuses_garbage(partner_api, alpha_usd, fund):
    deposit = fund(alpha_usd, 500)
    url = f"{ACCOUNTS}{alpha_usd.pk}/"
    instant = deposit.created_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert partner_api.get(url, {"as_of": instant}).json()["balance"]["posted"] == "5.00"

    response = partner_api.get(url, {"as_of": "yesterday"})
    assert response.status_code == 400
    assert "as_of" in response.json()["details"]


# --- entries -----------------------------------------------------------------------------


def test_the_statement_lists_lines_newest_first_with_the_running_balance(
    partner_api, alpha_usd, beta_usd, fund
):
    deposit = fund(alpha_usd, 100_000)
    payment = _pay(alpha_usd, beta_usd, 25_050, reference="invoice 7")
    pending = _pay(alpha_usd, beta_usd, 10_000, pending=True)

    response = partner_api.get(f"{ACCOUNTS}{alpha_usd.pk}/entries/")
    assert response.status_code == 200
    lines = response.json()["results"]
    assert [line["transfer"] for line in lines] == [
        str(pending.pk),
        str(payment.pk),
        str(deposit.pk),
    ]
    assert [line["side"] for line in lines] == ["debit", "debit", "credit"]
    assert [line["amount"] for line in lines] == ["100.00", "250.50", "1000.00"]
    assert [line["posted_balance"] for line in lines] == ["749.50", "749.50", "1000.00"]
    assert [line["kind"] for line in lines] == ["pending", "single_phase", "single_phase"]
    assert [line["status"] for line in lines] == ["pending", "posted", "posted"]
    assert lines[1]["reference"] == "invoice 7"
    assert lines[2]["code"] == "deposit"
    assert lines[0]["created_at"].endswith("Z")


def test_the_statement_of_the_credited_side_counts_up(
    partner_api, other_partner_api, alpha_usd, beta_usd, fund
):
    fund(alpha_usd, 100_000)
    _pay(alpha_usd, beta_usd, 1_000)
    _pay(alpha_usd, beta_usd, 2_000)
    lines = other_partner_api.get(f"{ACCOUNTS}{beta_usd.pk}/entries/").json()["results"]
    assert [(line["side"], line["posted_balance"]) for line in lines] == [
        ("credit", "30.00"),
        ("credit", "10.00"),
    ]


def test_the_statement_paginates(partner_api, alpha_usd, beta_usd, fund):
    fund(alpha_usd, 100_000)
    for _ in range(3):
        _pay(alpha_usd, beta_usd, 100)
    url = f"{ACCOUNTS}{alpha_usd.pk}/entries/"
    first = partner_api.get(url, {"limit": 3}).json()
    assert [line["posted_balance"] for line in first["results"]] == ["997.00", "998.00", "999.00"]
    second = partner_api.get(first["next"]).json()
    assert [line["posted_balance"] for line in second["results"]] == ["1000.00"]
    assert second["next"] is None


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_both_api_versions_serve_the_accounts(partner_api, alpha_usd, version):
    response = partner_api.get(f"/api/{version}/ledger/accounts/{alpha_usd.pk}/")
    assert response.status_code == 200
    assert response.json()["id"] == str(alpha_usd.pk)
