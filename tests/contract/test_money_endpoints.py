"""What the money endpoints read, exactly: JSON types as the schema gives them, one
spelling of an id in a path and a body, assets in any case, random global client ids,
generated account codes, metadata private to its writer, date-only as_of."""

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.core.envelope import assert_envelope

pytestmark = pytest.mark.django_db

ACCOUNTS = "/api/v1/ledger/accounts/"
TRANSFERS = "/api/v1/ledger/transfers/"


@pytest.fixture
def funded(alpha_usd, fund):
    fund(alpha_usd, 100_000)
    return alpha_usd


def _body(debit, credit, **extra):
    return {
        "debit_account": str(debit.pk),
        "credit_account": str(credit.pk),
        "amount": "10.00",
        "asset": "USD",
        **extra,
    }


def _posted(account) -> int:
    account.refresh_from_db()
    return account.credits_posted - account.debits_posted


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("pending", "yes"),
        ("pending", 1),
        ("pending", "true"),
        ("timeout_seconds", "5"),
        ("timeout_seconds", 5.0),
        ("reference", 5),
        ("amount", " 10.00"),
        ("amount", "10.00 "),
        ("amount", "010.00"),
        ("debit_account", "hex-without-dashes"),
        ("asset", ["USD"]),
    ],
)
def test_a_value_of_another_json_type_or_shape_is_400_and_moves_nothing(
    partner_api, funded, beta_usd, field, value
):
    body = _body(funded, beta_usd, pending=True, timeout_seconds=60)
    body[field] = value if field != "debit_account" else funded.pk.hex

    response = partner_api.post(TRANSFERS, body, format="json")

    errors = assert_envelope(response, status=400, code="validation_error")["details"]
    assert field in errors, errors
    assert _posted(funded) == 100_000 and funded.debits_pending == 0


def test_json_true_still_reserves_money(partner_api, funded, beta_usd):
    response = partner_api.post(TRANSFERS, _body(funded, beta_usd, pending=True), format="json")

    assert response.status_code == 201, response.content
    funded.refresh_from_db()
    assert response.json()["status"] == "pending" and funded.debits_pending == 1_000


def test_an_uppercase_id_is_the_same_id_in_a_path_and_in_a_body(partner_api, funded, beta_usd):
    client_id = str(uuid.uuid4()).upper()
    created = partner_api.post(
        TRANSFERS,
        _body(funded, beta_usd, id=client_id, debit_account=str(funded.pk).upper()),
        format="json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["id"] == client_id.lower()  # canonical: lowercase

    by_upper = partner_api.get(f"{TRANSFERS}{client_id}/")
    account_upper = partner_api.get(f"{ACCOUNTS}{str(funded.pk).upper()}/")

    assert by_upper.status_code == 200 and by_upper.json()["id"] == client_id.lower()
    assert account_upper.status_code == 200 and account_upper.json()["id"] == str(funded.pk)


@pytest.mark.parametrize(
    "client_id",
    [
        "00000000-0000-0000-0000-000000000005",  # guessable
        str(uuid.uuid1()),  # time and host, not random
        "6f1c7a52-8a3b-4c1d-1e2f-0a1b2c3d4e5f",  # version 4 but not the RFC variant
    ],
)
def test_a_client_id_must_be_a_random_uuid(partner_api, funded, beta_usd, client_id):
    response = partner_api.post(TRANSFERS, _body(funded, beta_usd, id=client_id), format="json")

    errors = assert_envelope(response, status=400, code="validation_error")["details"]
    assert errors == {"id": ["Must be a random UUID (version 4 or 7)."]}
    assert _posted(funded) == 100_000


def test_a_v7_client_id_is_taken(partner_api, funded, beta_usd):
    v7 = "01890a5d-ac96-774b-bcce-b302099a8057"
    response = partner_api.post(TRANSFERS, _body(funded, beta_usd, id=v7), format="json")
    assert response.status_code == 201, response.content


def test_an_id_another_partner_used_is_409_and_says_nothing_of_that_transfer(
    partner_api, other_partner_api, funded, beta_usd, fund
):
    from ledger.services import account_open

    fund(beta_usd, 50_000)
    beta_savings = account_open(partner=beta_usd.partner, asset="USD", code="savings")
    taken = str(uuid.uuid4())
    secret = {"reference": "beta-payroll-2026-03", "amount": "123.45"}
    theirs = other_partner_api.post(
        TRANSFERS, _body(beta_usd, beta_savings, id=taken, **secret), format="json"
    )
    assert theirs.status_code == 201

    ours = partner_api.post(TRANSFERS, _body(funded, beta_usd, id=taken), format="json")

    body = assert_envelope(ours, status=409, code="conflict")
    text = ours.content.decode()
    for leaked in ("beta-payroll", "123.45", str(beta_savings.pk), "12345"):
        assert leaked not in text
    assert body["details"] == {"id": taken, "reason": "transfer_exists_with_different_fields"}
    assert _posted(funded) == 100_000
    assert partner_api.get(f"{TRANSFERS}{taken}/").status_code == 404


def test_opening_accounts_without_a_code_gives_readable_unique_codes(partner_api, alpha_usd):
    first = partner_api.post(ACCOUNTS, {"asset": "usd"}, format="json")
    second = partner_api.post(ACCOUNTS, {"asset": "USD"}, format="json")
    euro = partner_api.post(ACCOUNTS, {"asset": "eur"}, format="json")

    assert [r.status_code for r in (first, second, euro)] == [201, 201, 201]
    assert (first.json()["code"], first.json()["asset"]) == ("usd-2", "USD")
    assert second.json()["code"] == "usd-3"
    assert (euro.json()["code"], euro.json()["asset"]) == ("main", "EUR")
    listed = partner_api.get(ACCOUNTS, {"asset": "usd"}).json()["results"]
    assert sorted(a["code"] for a in listed) == ["main", "usd-2", "usd-3"]


def test_a_code_already_used_is_still_a_409(partner_api, alpha_usd):
    response = partner_api.post(ACCOUNTS, {"asset": "USD", "code": "main"}, format="json")
    assert_envelope(response, status=409, code="conflict")


def test_an_asset_in_lowercase_moves_money(partner_api, funded, beta_usd):
    response = partner_api.post(TRANSFERS, _body(funded, beta_usd, asset="usd"), format="json")
    assert response.status_code == 201, response.content
    assert response.json()["asset"] == "USD" and _posted(beta_usd) == 1_000


def test_metadata_is_the_writers_own_the_counterparty_sees_null(
    partner_api, other_partner_api, funded, beta_usd
):
    metadata = {"customer": "Jane Roe", "invoice": 42}
    created = partner_api.post(TRANSFERS, _body(funded, beta_usd, metadata=metadata), format="json")
    assert created.status_code == 201 and created.json()["metadata"] == metadata
    transfer_id = created.json()["id"]
    batch = partner_api.post(
        f"{TRANSFERS}batch/",
        {"mode": "atomic", "transfers": [_body(funded, beta_usd, metadata=metadata)]},
        format="json",
    )
    assert batch.json()["results"][0]["transfer"]["metadata"] == metadata

    theirs_detail = other_partner_api.get(f"{TRANSFERS}{transfer_id}/").json()
    theirs_list = other_partner_api.get(TRANSFERS).json()["results"]
    theirs_entries = other_partner_api.get(f"{ACCOUNTS}{beta_usd.pk}/entries/").json()["results"]

    assert theirs_detail["metadata"] is None
    assert theirs_detail["amount"] == "10.00" and theirs_detail["status"] == "posted"
    assert len(theirs_list) == 2 and all(t["metadata"] is None for t in theirs_list)
    assert "Jane Roe" not in str(theirs_entries) and len(theirs_entries) == 2
    assert partner_api.get(f"{TRANSFERS}{transfer_id}/").json()["metadata"] == metadata


def test_notes_staff_left_on_a_transfer_touching_a_partners_account_are_not_the_partners(
    partner_api, funded, house_usd, staff_user
):
    from ledger.models import Transfer
    from ledger.services import TransferRequest, transfer_create

    withdrawal = transfer_create(
        acting_user=staff_user,
        origin=Transfer.Origin.STAFF,
        request=TransferRequest(
            debit_account_id=funded.pk,
            credit_account_id=house_usd["settlement_bank"].pk,
            amount=500,
            asset="USD",
            metadata={"reason": "chargeback case 7", "proposed_by": staff_user.pk},
        ),
    )

    seen = partner_api.get(f"{TRANSFERS}{withdrawal.pk}/").json()
    assert seen["amount"] == "5.00" and seen["origin"] == "staff"
    assert seen["metadata"] is None


def test_a_date_alone_as_of_means_the_end_of_that_business_day(
    partner_api, funded, beta_usd, settings
):
    settings.BUSINESS_TIME_ZONE = "America/New_York"
    today = datetime.now(ZoneInfo("America/New_York")).date()
    partner_api.post(TRANSFERS, _body(funded, beta_usd), format="json")

    def posted_as_of(day):
        response = partner_api.get(f"{ACCOUNTS}{funded.pk}/", {"as_of": day.isoformat()})
        assert response.status_code == 200, response.content
        return response.json()["balance"]["posted"]

    # Funded and spent today: as of today (its end) both count; as of yesterday, neither.
    assert posted_as_of(today) == "990.00"
    assert posted_as_of(today - timedelta(days=1)) == "0.00"


@pytest.mark.parametrize("as_of", ["", "2026-02-30", "yesterday"])
def test_an_as_of_that_is_no_date_or_instant_is_400(partner_api, alpha_usd, as_of):
    response = partner_api.get(f"{ACCOUNTS}{alpha_usd.pk}/", {"as_of": as_of})
    body = assert_envelope(response, status=400, code="validation_error")
    assert list(body["details"]) == ["as_of"]


@pytest.mark.parametrize("param", ["status", "account", "created_after", "asset"])
def test_an_empty_filter_value_is_400_not_no_filter(partner_api, param):
    path = ACCOUNTS if param == "asset" else TRANSFERS
    response = partner_api.get(path, {param: ""})
    body = assert_envelope(response, status=400, code="validation_error")
    assert list(body["details"]) == [param]


@pytest.mark.parametrize("value", ["", " ", "\u00a0"])
def test_a_list_filter_that_is_blank_is_refused_not_ignored(partner_api, value):
    response = partner_api.get(TRANSFERS, {"account": value})
    assert_envelope(response, status=400, code="validation_error")
    assert set(response.json()["details"]) == {"account"}
