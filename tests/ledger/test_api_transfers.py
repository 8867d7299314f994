"""The partner API for transfers: create (idempotent by id and by Idempotency-Key), list
with filters, detail, and posting or voiding a pending transfer."""

import json
import uuid
from datetime import timedelta

import pytest

from ledger.models import Account, Transfer
from ledger.services import TransferRequest, account_freeze, transfer_create

TRANSFERS = "/api/v1/ledger/transfers/"


def _balance(account) -> tuple[int, int]:
    """(posted, available) in minor units, read from the database."""
    account = Account.objects.get(pk=account.pk)
    return account.posted_balance, account.available_balance


def _body(debit, credit, amount="10.00", **extra):
    return {
        "debit_account": str(debit.pk),
        "credit_account": str(credit.pk),
        "amount": amount,
        "asset": debit.asset_id,
        **extra,
    }


def _create(client, debit, credit, amount="10.00", headers=None, **extra):
    return client.post(
        TRANSFERS, _body(debit, credit, amount, **extra), format="json", headers=headers or {}
    )


@pytest.fixture
def funded(alpha_usd, fund):
    """alpha's USD account holding 1,000.00."""
    fund(alpha_usd, 100_000)
    return alpha_usd


# --- create ------------------------------------------------------------------------------


def test_a_transfer_moves_money_to_another_partners_account(partner_api, funded, beta_usd):
    response = _create(
        partner_api, funded, beta_usd, "250.50", reference="inv-1", metadata={"order": 7}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {
        "id",
        "debit_account",
        "credit_account",
        "amount",
        "asset",
        "status",
        "kind",
        "code",
        "reference",
        "metadata",
        "pending_id",
        "expires_at",
        "created_at",
        "origin",
        "origin_ref",
        "replaces_id",
    }
    assert (body["origin"], body["origin_ref"], body["replaces_id"]) == ("partner_api", "", None)
    assert body["debit_account"] == str(funded.pk)
    assert body["credit_account"] == str(beta_usd.pk)
    assert (body["amount"], body["asset"]) == ("250.50", "USD")
    assert (body["status"], body["kind"], body["code"]) == ("posted", "single_phase", "transfer")
    assert (body["reference"], body["metadata"]) == ("inv-1", {"order": 7})
    assert body["pending_id"] is None and body["expires_at"] is None
    assert body["created_at"].endswith("Z")
    uuid.UUID(body["id"])
    assert _balance(funded) == (74_950, 74_950)
    assert _balance(beta_usd) == (25_050, 25_050)


def test_a_float_amount_is_refused(partner_api, funded, beta_usd):
    response = partner_api.post(
        TRANSFERS, {**_body(funded, beta_usd), "amount": 10.5}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert "amount" in response.json()["details"]
    assert _balance(funded) == (100_000, 100_000)


@pytest.mark.parametrize("amount", ["10.001", "0.005", "1e3", "ten", "NaN", "12,50"])
def test_an_amount_not_in_the_assets_decimals_is_refused(partner_api, funded, beta_usd, amount):
    response = _create(partner_api, funded, beta_usd, amount)
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert list(response.json()["details"]) == ["amount"]
    assert Transfer.objects.count() == 1  # the deposit only


@pytest.mark.parametrize("amount", ["0", "0.00", "-1.00"])
def test_a_zero_or_negative_amount_is_refused(partner_api, funded, beta_usd, amount):
    response = _create(partner_api, funded, beta_usd, amount)
    assert response.status_code == 400
    assert "amount" in response.json()["details"]
    assert _balance(beta_usd) == (0, 0)


def test_an_absurd_amount_is_insufficient_funds_and_its_message_is_plain(
    partner_api, funded, beta_usd
):
    # The largest amount the API reads (14 digits before the point, as the schema says).
    response = _create(partner_api, funded, beta_usd, "99999999999999.99")
    assert response.status_code == 422
    assert response.json()["code"] == "insufficient_funds"
    too_large = _create(partner_api, funded, beta_usd, "999999999999999.00")
    assert too_large.status_code == 400
    assert too_large.json()["details"]["amount"] == [
        "Write it plainly: no leading zeros, at most 14 digits before the point."
    ]


def _nested(levels: int):
    value = "too deep"
    for _ in range(levels):
        value = [value]
    return value


@pytest.mark.parametrize(
    "metadata",
    [
        {"a": 1e16},
        {"a": -0.0},
        {"a": 1.5},
        {"a": [{"b": 1e308}]},
        {"deep": _nested(17)},
        ["not", "an", "object"],
        "text",
    ],
)
def test_metadata_the_journal_could_not_keep_exactly_is_refused(
    partner_api, funded, beta_usd, metadata
):
    """jsonb rewrites fractional numbers, which would make the tamper check flag a transfer
    nobody edited; nesting and shape are bounded."""
    body = json.dumps(_body(funded, beta_usd, metadata=metadata))  # \ud800 escaped, as sent
    response = partner_api.generic("POST", TRANSFERS, body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert list(response.json()["details"]) == ["metadata"]
    assert _balance(funded) == (100_000, 100_000)


@pytest.mark.parametrize(
    ("metadata", "path"),
    [
        ({"note": "a\u0000b"}, "metadata.note"),
        ({"k\u0000": "v"}, "metadata.k\\x00"),
        ({"a": "\ud800"}, "metadata.a"),
    ],
)
def test_metadata_text_no_database_keeps_is_refused_naming_its_path(
    partner_api, funded, beta_usd, metadata, path
):
    """NUL and lone surrogates cannot be stored: refused where requests are parsed, with
    the path to the offending string (core.api.parsers)."""
    body = json.dumps(_body(funded, beta_usd, metadata=metadata))  # \ud800 escaped, as sent
    response = partner_api.generic("POST", TRANSFERS, body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert list(response.json()["details"]) == [path]
    assert _balance(funded) == (100_000, 100_000)


def test_metadata_is_kept_exactly_and_its_digest_verifies(partner_api, funded, beta_usd):
    from ledger.integrity import ledger_chain_violations

    metadata = {"big": 10**20, "list": [1, {"none": None, "yes": True}], "text": "Zürich ✓"}
    response = _create(partner_api, funded, beta_usd, metadata=metadata)
    assert response.status_code == 201, response.content
    transfer_id = response.json()["id"]
    assert partner_api.get(f"{TRANSFERS}{transfer_id}/").json()["metadata"] == metadata
    assert Transfer.objects.get(pk=transfer_id).metadata == metadata
    assert ledger_chain_violations() == []


@pytest.mark.parametrize("field", ["id", "debit_account", "credit_account"])
def test_an_id_sent_as_a_json_number_is_refused(partner_api, funded, beta_usd, field):
    response = partner_api.post(TRANSFERS, {**_body(funded, beta_usd), field: 5}, format="json")
    assert response.status_code == 400
    assert list(response.json()["details"]) == [field]
    assert _balance(funded) == (100_000, 100_000)


def test_a_jpy_amount_takes_no_decimals(partner_api, partner, other_partner, fund):
    from ledger.services import account_open

    yen = account_open(partner=partner, asset="JPY")
    their_yen = account_open(partner=other_partner, asset="JPY")
    fund(yen, 1_000)
    assert _create(partner_api, yen, their_yen, "1.5").status_code == 400
    response = _create(partner_api, yen, their_yen, "15")
    assert response.status_code == 201
    assert response.json()["amount"] == "15"
    assert _balance(yen) == (985, 985)


def test_an_unknown_asset_is_a_validation_error(partner_api, funded, beta_usd):
    response = _create(partner_api, funded, beta_usd, asset="XYZ")
    assert response.status_code == 400
    assert "asset" in response.json()["details"]


def test_an_asset_the_accounts_do_not_hold_is_a_validation_error(partner_api, funded, beta_usd):
    response = _create(partner_api, funded, beta_usd, asset="EUR")
    assert response.status_code == 400
    assert "asset" in response.json()["details"]
    assert _balance(funded) == (100_000, 100_000)


def test_missing_fields_and_a_timeout_without_pending_are_refused(partner_api, funded, beta_usd):
    response = partner_api.post(TRANSFERS, {"amount": "1.00"}, format="json")
    assert response.status_code == 400
    assert {"debit_account", "credit_account", "asset"} <= set(response.json()["details"])
    response = _create(partner_api, funded, beta_usd, timeout_seconds=60)
    assert response.status_code == 400
    assert "timeout_seconds" in response.json()["details"]


def test_debiting_another_partners_account_is_not_found(partner_api, alpha_usd, beta_usd, fund):
    fund(beta_usd, 100_000)
    response = _create(partner_api, beta_usd, alpha_usd, "10.00")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert _balance(beta_usd) == (100_000, 100_000)
    assert _balance(alpha_usd) == (0, 0)
    # Word for word what an account that exists nowhere gets (bar the trace id).
    nowhere = partner_api.post(
        TRANSFERS, {**_body(beta_usd, alpha_usd), "debit_account": str(uuid.uuid4())}, format="json"
    )
    assert nowhere.status_code == 404
    strip = lambda body: {k: v for k, v in body.items() if k != "trace_id"}  # noqa: E731
    assert strip(nowhere.json()) == strip(response.json())


def test_crediting_an_unknown_account_is_not_found(partner_api, funded):
    response = partner_api.post(
        TRANSFERS,
        {**_body(funded, funded), "credit_account": str(uuid.uuid4())},
        format="json",
    )
    assert response.status_code == 404
    assert _balance(funded) == (100_000, 100_000)


def test_a_debit_beyond_the_balance_is_insufficient_funds(partner_api, funded, beta_usd):
    response = _create(partner_api, funded, beta_usd, "1000.01")
    assert response.status_code == 422
    assert response.json()["code"] == "insufficient_funds"
    assert _balance(funded) == (100_000, 100_000)
    assert _balance(beta_usd) == (0, 0)


@pytest.mark.parametrize("frozen", ["debit", "credit"])
def test_a_frozen_account_on_either_side_refuses_the_transfer(
    partner_api, funded, beta_usd, staff_user, frozen
):
    account_freeze(account=funded if frozen == "debit" else beta_usd, acting_user=staff_user)
    response = _create(partner_api, funded, beta_usd)
    assert response.status_code == 422
    assert response.json()["code"] == "account_frozen"
    assert _balance(funded) == (100_000, 100_000)
    assert _balance(beta_usd) == (0, 0)


def test_the_same_transfer_id_twice_is_applied_once(partner_api, funded, beta_usd):
    transfer_id = str(uuid.uuid4())
    first = _create(partner_api, funded, beta_usd, "10.00", id=transfer_id)
    again = _create(partner_api, funded, beta_usd, "10.00", id=transfer_id)
    assert first.status_code == 201
    assert again.status_code == 200  # a replay: the transfer as it is
    assert again.json() == first.json()
    assert first.json()["id"] == transfer_id
    assert _balance(funded) == (99_000, 99_000)
    assert _balance(beta_usd) == (1_000, 1_000)
    assert Transfer.objects.filter(pk=transfer_id).count() == 1


def test_the_same_transfer_id_with_other_fields_is_a_conflict(partner_api, funded, beta_usd):
    transfer_id = str(uuid.uuid4())
    assert _create(partner_api, funded, beta_usd, "10.00", id=transfer_id).status_code == 201
    response = _create(partner_api, funded, beta_usd, "11.00", id=transfer_id)
    assert response.status_code == 409
    assert response.json()["details"]["reason"] == "transfer_exists_with_different_fields"
    assert _balance(funded) == (99_000, 99_000)


def test_an_idempotency_key_replays_the_first_answer(partner_api, funded, beta_usd):
    headers = {"Idempotency-Key": "pay-beta-0001"}
    first = _create(partner_api, funded, beta_usd, "10.00", headers=headers)
    again = _create(partner_api, funded, beta_usd, "10.00", headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert _balance(funded) == (99_000, 99_000)
    assert Transfer.objects.filter(debit_account=funded).count() == 1

    other = _create(partner_api, funded, beta_usd, "20.00", headers=headers)
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert _balance(funded) == (99_000, 99_000)


def test_a_transfer_and_its_stored_answer_commit_together(
    partner_api, funded, beta_usd, monkeypatch
):
    """If the answer cannot be stored (the process dies there), the transfer is undone with
    it: a later retry under the same key then moves the money once, not twice."""
    from core.api import idempotency
    from core.models import IdempotentRequest

    def crash(**kwargs):
        raise RuntimeError("process died before the answer was stored")

    monkeypatch.setattr(idempotency, "idempotency_key_complete", crash)
    headers = {"Idempotency-Key": "crash-0001"}
    crashed = _create(partner_api, funded, beta_usd, "10.00", headers=headers)
    assert crashed.status_code == 500
    assert _balance(funded) == (100_000, 100_000)
    assert not Transfer.objects.filter(debit_account=funded).exists()
    assert not IdempotentRequest.objects.filter(key="crash-0001").exists()

    monkeypatch.undo()
    retried = _create(partner_api, funded, beta_usd, "10.00", headers=headers)
    assert retried.status_code == 201
    assert _balance(funded) == (99_000, 99_000)
    assert Transfer.objects.filter(debit_account=funded).count() == 1


def test_an_idempotency_key_replays_a_refusal_too(partner_api, funded, beta_usd):
    headers = {"Idempotency-Key": "too-much"}
    first = _create(partner_api, funded, beta_usd, "5000.00", headers=headers)
    again = _create(partner_api, funded, beta_usd, "5000.00", headers=headers)
    assert first.status_code == again.status_code == 422
    assert again.json()["code"] == "insufficient_funds"
    assert again.headers["Idempotent-Replayed"] == "true"


# --- list and detail ---------------------------------------------------------------------


def test_the_list_shows_transfers_touching_the_partners_accounts(
    partner_api, other_partner_api, funded, beta_usd, fund
):
    deposit = Transfer.objects.get(credit_account=funded)
    payment = _create(partner_api, funded, beta_usd, "1.00").json()
    fund(beta_usd, 500)  # beta's own deposit: none of alpha's business

    response = partner_api.get(TRANSFERS)
    assert response.status_code == 200
    assert [t["id"] for t in response.json()["results"]] == [payment["id"], str(deposit.pk)]
    # The credited partner sees the transfer too.
    theirs = [t["id"] for t in other_partner_api.get(TRANSFERS).json()["results"]]
    assert payment["id"] in theirs and str(deposit.pk) not in theirs


def test_pages_never_repeat_or_skip_a_batch_sharing_one_timestamp_as_transfers_arrive(
    partner_api, funded, beta_usd
):
    """Every transfer of a batch has the same created_at. A cursor keyed on created_at alone
    would fall back to an offset that new transfers shift, and page 2 would repeat page 1."""
    batch = [_body(funded, beta_usd, "1.00") for _ in range(6)]
    response = partner_api.post(
        f"{TRANSFERS}batch/", {"mode": "atomic", "transfers": batch}, format="json"
    )
    assert response.status_code == 200
    batch_ids = {r["transfer"]["id"] for r in response.json()["results"]}
    deposit = str(Transfer.objects.get(credit_account=funded).pk)

    first = partner_api.get(TRANSFERS, {"limit": 2}).json()
    for _ in range(2):  # arrive between the pages
        _create(partner_api, funded, beta_usd, "1.00")
    seen, page = [t["id"] for t in first["results"]], first
    while page["next"]:
        page = partner_api.get(page["next"]).json()
        seen += [t["id"] for t in page["results"]]

    assert len(seen) == len(set(seen)) == 7
    assert set(seen) == batch_ids | {deposit}
    second = partner_api.get(first["next"]).json()
    back = partner_api.get(second["previous"]).json()
    assert [t["id"] for t in back["results"]] == [t["id"] for t in first["results"]]


def test_the_list_filters_by_account_status_and_time(partner_api, partner, funded, beta_usd, fund):
    from ledger.services import account_open

    savings = account_open(partner=partner, asset="USD", code="savings")
    to_beta = _create(partner_api, funded, beta_usd, "1.00").json()
    to_savings = _create(partner_api, funded, savings, "2.00", pending=True).json()

    def ids(**params):
        response = partner_api.get(TRANSFERS, params)
        assert response.status_code == 200, response.content
        return [t["id"] for t in response.json()["results"]]

    assert ids(account=str(savings.pk)) == [to_savings["id"]]
    assert ids(account=str(beta_usd.pk)) == [to_beta["id"]]
    assert ids(status="pending") == [to_savings["id"]]
    created = Transfer.objects.get(pk=to_beta["id"]).created_at
    assert ids(created_after=created.isoformat()) == [to_savings["id"], to_beta["id"]]
    before = ids(created_before=created.isoformat())
    assert to_beta["id"] not in before and len(before) == 1  # the deposit


def test_bad_filters_are_validation_errors(partner_api, funded):
    response = partner_api.get(TRANSFERS, {"status": "lost", "created_after": "soon"})
    assert response.status_code == 400
    assert {"status", "created_after"} <= set(response.json()["details"])


def test_the_list_paginates_newest_first(partner_api, funded, beta_usd):
    made = [_create(partner_api, funded, beta_usd, "1.00").json()["id"] for _ in range(3)]
    first = partner_api.get(TRANSFERS, {"limit": 2}).json()
    second = partner_api.get(first["next"]).json()
    assert [t["id"] for t in first["results"]] == made[::-1][:2]
    deposit = Transfer.objects.get(credit_account=funded)
    assert [t["id"] for t in second["results"]] == [made[0], str(deposit.pk)]
    assert second["previous"] is not None


def test_the_detail_shows_a_transfer_and_hides_others(
    partner_api, other_partner_api, funded, beta_usd
):
    deposit = Transfer.objects.get(credit_account=funded)
    response = partner_api.get(f"{TRANSFERS}{deposit.pk}/")
    assert response.status_code == 200
    assert response.json()["amount"] == "1000.00"
    assert response.json()["code"] == "deposit"
    # beta is on neither side of alpha's deposit.
    hidden = other_partner_api.get(f"{TRANSFERS}{deposit.pk}/")
    assert hidden.status_code == 404
    assert hidden.json()["code"] == "not_found"
    assert partner_api.get(f"{TRANSFERS}{uuid.uuid4()}/").status_code == 404


# --- pending: post and void --------------------------------------------------------------


def _pending(client, debit, credit, amount="100.00", **extra):
    response = _create(client, debit, credit, amount, pending=True, **extra)
    assert response.status_code == 201, response.content
    return response.json()


def test_a_pending_transfer_reserves_funds_until_it_expires(partner_api, funded, beta_usd):
    pending = _pending(partner_api, funded, beta_usd, timeout_seconds=3600)
    assert (pending["status"], pending["kind"]) == ("pending", "pending")
    created = Transfer.objects.get(pk=pending["id"]).created_at
    assert Transfer.objects.get(pk=pending["id"]).expires_at == created + timedelta(hours=1)
    assert pending["expires_at"].endswith("Z")
    assert _balance(funded) == (100_000, 90_000)
    assert _balance(beta_usd) == (0, 0)


def test_posting_in_full(partner_api, funded, beta_usd):
    pending = _pending(partner_api, funded, beta_usd)
    response = partner_api.post(f"{TRANSFERS}{pending['id']}/post/", {}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["kind"], body["status"], body["amount"]) == ("post_pending", "posted", "100.00")
    assert body["pending_id"] == pending["id"]
    assert body["pending_status"] == "posted"
    assert partner_api.get(f"{TRANSFERS}{pending['id']}/").json()["status"] == "posted"
    assert _balance(funded) == (90_000, 90_000)
    assert _balance(beta_usd) == (10_000, 10_000)


def test_a_partial_post_moves_part_and_releases_the_rest(partner_api, funded, beta_usd):
    pending = _pending(partner_api, funded, beta_usd, "100.00")
    response = partner_api.post(
        f"{TRANSFERS}{pending['id']}/post/", {"amount": "40.25"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["amount"] == "40.25"
    assert response.json()["pending_status"] == "posted"
    assert _balance(funded) == (95_975, 95_975)
    assert _balance(beta_usd) == (4_025, 4_025)


@pytest.mark.parametrize(
    ("amount", "status"), [("100.01", 400), ("1.001", 400), ("0", 400), (5, 400)]
)
def test_a_bad_partial_amount_is_refused(partner_api, funded, beta_usd, amount, status):
    pending = _pending(partner_api, funded, beta_usd, "100.00")
    response = partner_api.post(
        f"{TRANSFERS}{pending['id']}/post/", {"amount": amount}, format="json"
    )
    assert response.status_code == status
    assert "amount" in response.json()["details"]
    assert Transfer.objects.get(pk=pending["id"]).status == "pending"
    assert _balance(funded) == (100_000, 90_000)


def test_voiding_releases_the_reservation(partner_api, funded, beta_usd):
    pending = _pending(partner_api, funded, beta_usd)
    response = partner_api.post(f"{TRANSFERS}{pending['id']}/void/", format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["kind"], body["pending_status"]) == ("void_pending", "voided")
    assert _balance(funded) == (100_000, 100_000)
    assert _balance(beta_usd) == (0, 0)


def test_void_after_post_is_a_conflict(partner_api, funded, beta_usd):
    pending = _pending(partner_api, funded, beta_usd)
    assert partner_api.post(f"{TRANSFERS}{pending['id']}/post/").status_code == 200
    response = partner_api.post(f"{TRANSFERS}{pending['id']}/void/")
    assert response.status_code == 409
    assert response.json()["code"] == "conflict"
    assert response.json()["details"]["reason"] == "pending_already_resolved"
    assert _balance(funded) == (90_000, 90_000)
    assert _balance(beta_usd) == (10_000, 10_000)


def test_posting_a_transfer_that_is_not_pending_is_a_conflict(partner_api, funded, beta_usd):
    posted = _create(partner_api, funded, beta_usd).json()
    response = partner_api.post(f"{TRANSFERS}{posted['id']}/post/")
    assert response.status_code == 409
    assert response.json()["details"]["reason"] == "transfer_not_pending"


def test_a_frozen_account_cannot_take_a_post_but_can_be_voided(
    partner_api, funded, beta_usd, staff_user
):
    pending = _pending(partner_api, funded, beta_usd)
    account_freeze(account=beta_usd, acting_user=staff_user)
    response = partner_api.post(f"{TRANSFERS}{pending['id']}/post/")
    assert response.status_code == 422
    assert response.json()["code"] == "account_frozen"
    assert partner_api.post(f"{TRANSFERS}{pending['id']}/void/").status_code == 200
    assert _balance(funded) == (100_000, 100_000)


def test_the_posting_id_is_idempotent(partner_api, funded, beta_usd):
    pending = _pending(partner_api, funded, beta_usd)
    url = f"{TRANSFERS}{pending['id']}/post/"
    post_id = str(uuid.uuid4())
    first = partner_api.post(url, {"id": post_id, "amount": "60.00"}, format="json")
    again = partner_api.post(url, {"id": post_id, "amount": "60.00"}, format="json")
    assert first.status_code == again.status_code == 200
    assert first.json()["id"] == post_id
    assert again.json() == first.json()
    assert _balance(funded) == (94_000, 94_000)
    other = partner_api.post(url, {"id": post_id, "amount": "50.00"}, format="json")
    assert other.status_code == 409
    assert other.json()["details"]["reason"] == "transfer_exists_with_different_fields"


def test_an_idempotency_key_replays_a_post(partner_api, funded, beta_usd):
    pending = _pending(partner_api, funded, beta_usd)
    url = f"{TRANSFERS}{pending['id']}/post/"
    headers = {"Idempotency-Key": "post-1"}
    first = partner_api.post(url, {"amount": "1.00"}, format="json", headers=headers)
    again = partner_api.post(url, {"amount": "1.00"}, format="json", headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert _balance(funded) == (99_900, 99_900)


def test_only_the_debited_partner_may_post_or_void(
    partner_api, other_partner_api, funded, beta_usd
):
    pending = _pending(partner_api, funded, beta_usd)
    for action in ("post", "void"):
        response = other_partner_api.post(f"{TRANSFERS}{pending['id']}/{action}/")
        assert response.status_code == 403
        assert response.json()["code"] == "permission_denied"
    assert Transfer.objects.get(pk=pending["id"]).status == "pending"


def test_another_partners_pending_transfer_is_not_found(
    partner_api, other_partner_api, alpha_usd, beta_usd, fund, house_usd
):
    fund(beta_usd, 10_000)
    theirs = transfer_create(
        request=TransferRequest(
            debit_account_id=beta_usd.pk,
            credit_account_id=house_usd["fee_income"].pk,
            amount=100,
            asset="USD",
            pending=True,
        )
    )
    for action in ("post", "void"):
        response = partner_api.post(f"{TRANSFERS}{theirs.pk}/{action}/")
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
    assert Transfer.objects.get(pk=theirs.pk).status == "pending"
