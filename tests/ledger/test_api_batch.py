"""POST /api/v1/ledger/transfers/batch/: atomic batches apply all or nothing; independent
batches apply each good item and report each bad one."""

import uuid

import pytest

from ledger.models import Account, Transfer
from ledger.services import account_freeze

BATCH = "/api/v1/ledger/transfers/batch/"


def _posted(account) -> int:
    return Account.objects.get(pk=account.pk).posted_balance


def _item(debit, credit, amount="10.00", **extra):
    return {
        "debit_account": str(debit.pk),
        "credit_account": str(credit.pk),
        "amount": amount,
        "asset": debit.asset_id,
        **extra,
    }


def _batch(client, mode, items, headers=None):
    return client.post(
        BATCH, {"mode": mode, "transfers": items}, format="json", headers=headers or {}
    )


@pytest.fixture
def funded(alpha_usd, fund):
    fund(alpha_usd, 10_000)  # 100.00
    return alpha_usd


def test_an_atomic_batch_applies_every_transfer(partner_api, funded, beta_usd):
    response = _batch(
        partner_api, "atomic", [_item(funded, beta_usd, "30.00"), _item(funded, beta_usd, "20.00")]
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["mode"] == "atomic"
    assert [r["index"] for r in body["results"]] == [0, 1]
    assert [r["status"] for r in body["results"]] == ["created", "created"]
    assert [r["transfer"]["amount"] for r in body["results"]] == ["30.00", "20.00"]
    assert body["results"][0]["id"] == body["results"][0]["transfer"]["id"]
    assert _posted(funded) == 5_000
    assert _posted(beta_usd) == 5_000
    batch_ids = set(
        Transfer.objects.filter(debit_account=funded).values_list("batch_id", flat=True)
    )
    assert len(batch_ids) == 1 and None not in batch_ids  # linked


def test_an_atomic_batch_with_a_failing_transfer_applies_nothing(partner_api, funded, beta_usd):
    before = Transfer.objects.count()
    response = _batch(
        partner_api,
        "atomic",
        [_item(funded, beta_usd, "60.00"), _item(funded, beta_usd, "60.00")],  # 120 > 100
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "insufficient_funds"  # the failing transfer's own code
    # Counted from 0 in the message as in details.results (issue 8): the second item is 1.
    assert body["message"].startswith("transfers[1] (counting from 0, as details do) failed")
    results = body["details"]["results"]
    assert results[1]["index"] == 1
    assert [r["status"] for r in results] == ["failed", "failed"]
    assert [r["code"] for r in results] == ["linked_transfer_failed", "insufficient_funds"]
    assert results[1]["reason"] == "exceeds_credits"
    assert all("transfer" not in r for r in results)
    assert Transfer.objects.count() == before
    assert _posted(funded) == 10_000
    assert _posted(beta_usd) == 0


def test_an_atomic_batch_of_one_failing_transfer_is_rejected_too(partner_api, funded, beta_usd):
    response = _batch(partner_api, "atomic", [_item(funded, beta_usd, "100.01")])
    assert response.status_code == 422
    assert response.json()["code"] == "insufficient_funds"
    (result,) = response.json()["details"]["results"]
    assert (result["index"], result["code"]) == (0, "insufficient_funds")


def test_an_atomic_batch_answers_with_the_failing_transfers_status(partner_api, funded, beta_usd):
    """A reused id with other fields is a 409 conflict for the batch as for one transfer; an
    absurd amount from a funded account is insufficient funds, not an overflow."""
    taken = _item(funded, beta_usd, "1.00", id=str(uuid.uuid4()))
    assert _batch(partner_api, "atomic", [taken]).status_code == 200
    reused = {**taken, "amount": "2.00"}

    conflict = _batch(partner_api, "atomic", [_item(funded, beta_usd, "1.00"), reused])

    assert conflict.status_code == 409
    assert conflict.json()["code"] == "conflict"
    assert [r["code"] for r in conflict.json()["details"]["results"]] == [
        "linked_transfer_failed",
        "conflict",
    ]
    huge = _batch(
        partner_api,
        "atomic",
        [_item(funded, beta_usd, "1.00"), _item(funded, beta_usd, "99999999999999.99")],
    )
    assert huge.status_code == 422 and huge.json()["code"] == "insufficient_funds"
    assert _posted(funded) == 9_900


def test_an_atomic_batch_with_an_invalid_item_is_a_validation_error(partner_api, funded, beta_usd):
    response = _batch(
        partner_api, "atomic", [_item(funded, beta_usd, "1.00"), _item(funded, beta_usd, 1.5)]
    )
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert "transfers[1].amount" in response.json()["details"]
    assert _posted(funded) == 10_000


def test_an_independent_batch_applies_the_good_items_and_reports_the_bad(
    partner_api, funded, beta_usd, other_partner, staff_user
):
    from ledger.services import account_open

    frozen = account_open(partner=other_partner, asset="USD", code="frozen")
    account_freeze(account=frozen, acting_user=staff_user)
    items = [
        _item(funded, beta_usd, "30.00"),
        _item(funded, beta_usd, "500.00"),  # more than alpha holds
        _item(funded, beta_usd, 12.5),  # a JSON number
        _item(beta_usd, funded, "1.00"),  # beta's account: not alpha's to debit
        _item(funded, frozen, "1.00"),
        _item(funded, beta_usd, "1.001"),
        "not an object",
        _item(funded, beta_usd, "20.00"),
    ]
    response = _batch(partner_api, "independent", items)
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [r["index"] for r in results] == list(range(len(items)))
    assert [r["status"] for r in results] == [
        "created",
        "failed",
        "failed",
        "failed",
        "failed",
        "failed",
        "failed",
        "created",
    ]
    assert [r.get("code") for r in results] == [
        None,
        "insufficient_funds",
        "validation_error",
        "not_found",
        "account_frozen",
        "validation_error",
        "validation_error",
        None,
    ]
    assert "amount" in results[2]["details"]
    assert "amount" in results[5]["details"]
    assert results[1]["message"]
    assert _posted(funded) == 5_000
    assert _posted(beta_usd) == 5_000
    assert _posted(frozen) == 0


def test_a_transfer_id_already_applied_is_replayed_in_a_batch(partner_api, funded, beta_usd):
    transfer_id = str(uuid.uuid4())
    item = _item(funded, beta_usd, "10.00", id=transfer_id)
    first = _batch(partner_api, "independent", [item])
    again = _batch(
        partner_api, "independent", [item, _item(funded, beta_usd, "11.00", id=transfer_id)]
    )
    assert first.json()["results"][0]["status"] == "created"
    statuses = [(r["status"], r.get("code")) for r in again.json()["results"]]
    assert statuses == [("replayed", None), ("failed", "conflict")]
    assert again.json()["results"][0]["id"] == transfer_id
    assert again.json()["results"][1]["reason"] == "transfer_exists_with_different_fields"
    assert _posted(funded) == 9_000


def test_a_pending_transfer_in_a_batch(partner_api, funded, beta_usd):
    response = _batch(
        partner_api, "atomic", [_item(funded, beta_usd, "40.00", pending=True, timeout_seconds=60)]
    )
    transfer = response.json()["results"][0]["transfer"]
    assert (transfer["status"], transfer["kind"]) == ("pending", "pending")
    assert transfer["expires_at"] is not None
    account = Account.objects.get(pk=funded.pk)
    assert (account.posted_balance, account.available_balance) == (10_000, 6_000)


def test_more_than_1000_transfers_is_a_validation_error(partner_api, funded, beta_usd):
    items = [_item(funded, beta_usd, "0.01") for _ in range(1001)]
    response = _batch(partner_api, "independent", items)
    assert response.status_code == 400
    assert "transfers" in response.json()["details"]
    assert _posted(funded) == 10_000


def test_1000_transfers_is_fine(partner_api, funded, beta_usd):
    items = [_item(funded, beta_usd, "0.01") for _ in range(1000)]
    response = _batch(partner_api, "atomic", items)
    assert response.status_code == 200
    assert {r["status"] for r in response.json()["results"]} == {"created"}
    assert _posted(funded) == 9_000
    assert _posted(beta_usd) == 1_000


@pytest.mark.parametrize(
    "body",
    [{"mode": "sometimes", "transfers": [{}]}, {"mode": "atomic", "transfers": []}, {}],
)
def test_a_bad_envelope_is_a_validation_error(partner_api, body):
    response = partner_api.post(BATCH, body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"


def test_an_idempotency_key_replays_a_batch(partner_api, funded, beta_usd):
    headers = {"Idempotency-Key": "batch-1"}
    items = [_item(funded, beta_usd, "10.00")]
    first = _batch(partner_api, "independent", items, headers=headers)
    again = _batch(partner_api, "independent", items, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert _posted(funded) == 9_000
