"""The partner transfer POST's statements on PostgreSQL: risk's decision, then the ledger's
lock and write, with no savepoint: the id is the server's, or risk looked it up first."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ledger.models import Transfer
from risk.models import Decision

pytestmark = pytest.mark.postgres
CLIENT_ID = "0b7d5c4e-2f1a-4c3b-9d8e-7f6a5b4c3d2e"


def _body(alpha_usd, beta_usd, **extra):
    return {
        "debit_account": str(alpha_usd.pk),
        "credit_account": str(beta_usd.pk),
        "amount": "0.01",
        "asset": "USD",
        **extra,
    }


@pytest.mark.django_db(transaction=True)  # real commits, as a request has them
def test_a_transfer_without_a_client_id_takes_no_savepoint(partner_api, alpha_usd, beta_usd, fund):
    fund(alpha_usd, 100_000)
    partner_api.post("/api/v1/ledger/transfers/", _body(alpha_usd, beta_usd), format="json")
    with CaptureQueriesContext(connection) as captured:
        answer = partner_api.post(
            "/api/v1/ledger/transfers/", _body(alpha_usd, beta_usd), format="json"
        )
    assert answer.status_code == 201, answer.json()
    statements = [q["sql"].split()[0].upper() for q in captured.captured_queries]
    # BEGIN, risk's Decision row, the account locks, the ledger's one write, COMMIT: the
    # locks are held across two round trips, not four.
    assert statements == ["BEGIN", "INSERT", "SELECT", "WITH", "COMMIT"], statements
    transfer = Transfer.objects.get(pk=answer.json()["id"])
    assert (transfer.status, transfer.amount) == ("posted", 1)
    assert Decision.objects.filter(subject_id=transfer.pk, outcome="allow").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_client_id_is_looked_up_once_before_the_lock_and_replays(
    partner_api, alpha_usd, beta_usd, fund
):
    fund(alpha_usd, 100_000)
    partner_api.post("/api/v1/ledger/transfers/", _body(alpha_usd, beta_usd), format="json")
    body = _body(alpha_usd, beta_usd, id=CLIENT_ID)  # risk's rules are loaded by now
    with CaptureQueriesContext(connection) as captured:
        first = partner_api.post("/api/v1/ledger/transfers/", body, format="json")
    assert first.status_code == 201, first.json()
    statements = [q["sql"].split()[0].upper() for q in captured.captured_queries]
    assert statements == ["SELECT", "BEGIN", "INSERT", "SELECT", "WITH", "COMMIT"], statements
    again = partner_api.post("/api/v1/ledger/transfers/", body, format="json")
    assert (again.status_code, again.json()["id"]) == (200, CLIENT_ID)
    assert Transfer.objects.filter(pk=CLIENT_ID).count() == 1
    alpha_usd.refresh_from_db()
    assert alpha_usd.debits_posted == 2  # the warm-up's and this one's, once


@pytest.mark.django_db(transaction=True)
def test_a_duplicate_committed_after_the_lookup_is_answered_as_its_replay(
    partner_api, alpha_usd, beta_usd, fund, monkeypatch
):
    """The race: another request with the same id commits between our lookup and our
    insert. The unique key refuses ours, and it is answered as that one's replay."""
    from risk.services import transfers

    fund(alpha_usd, 100_000)
    body = _body(alpha_usd, beta_usd, id=CLIENT_ID)
    assert partner_api.post("/api/v1/ledger/transfers/", body, format="json").status_code == 201
    looked_up = transfers.transfer_origin
    calls = []

    def blind_first(*, transfer_id):  # the first lookup runs before the other commits
        calls.append(transfer_id)
        return None if len(calls) == 1 else looked_up(transfer_id=transfer_id)

    monkeypatch.setattr(transfers, "transfer_origin", blind_first)
    again = partner_api.post("/api/v1/ledger/transfers/", body, format="json")
    assert (again.status_code, again.json()["id"]) == (200, CLIENT_ID), again.json()
    assert len(calls) == 2
    assert Transfer.objects.filter(pk=CLIENT_ID).count() == 1
    assert Decision.objects.filter(subject_id=CLIENT_ID).count() == 1  # the loser's undone
    alpha_usd.refresh_from_db()
    assert alpha_usd.debits_posted == 1

    conflicting = {**body, "amount": "0.02"}
    calls.clear()
    refused = partner_api.post("/api/v1/ledger/transfers/", conflicting, format="json")
    assert refused.status_code == 409, refused.json()
    alpha_usd.refresh_from_db()
    assert alpha_usd.debits_posted == 1
