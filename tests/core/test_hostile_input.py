"""Whatever a client sends, the answer is the envelope, and never a 500: forged cursors,
odd page sizes, oversized or deeply nested bodies, other media types, paths without their
trailing slash, credentials longer than any account's."""

import base64

import pytest

from tests.core.envelope import assert_envelope

pytestmark = pytest.mark.django_db

ACCOUNTS = "/api/v1/ledger/accounts/"
TRANSFERS = "/api/v1/ledger/transfers/"


def _cursor(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    [_cursor("p=xxx"), _cursor("p=-1"), _cursor("p=99999-01-01"), _cursor("p=1e400"), "abc"],
)
@pytest.mark.parametrize("path", [ACCOUNTS, TRANSFERS])
def test_a_forged_cursor_is_400(partner_api, path, cursor):
    response = partner_api.get(path, {"cursor": cursor})

    body = assert_envelope(response, status=400, code="validation_error")
    assert list(body["details"]) == ["cursor"]


@pytest.mark.parametrize("position", ["xxx", "2026-01-01T00:00:00Z", "1e400"])
def test_a_forged_statement_cursor_is_400(partner_api, partner, position):
    from ledger.services import account_open

    account = account_open(partner=partner, asset="USD")

    response = partner_api.get(
        f"{ACCOUNTS}{account.pk}/entries/", {"cursor": _cursor(f"p={position}")}
    )

    assert_envelope(response, status=400, code="validation_error")


def test_a_cursor_handed_out_still_pages(partner_api, partner):
    from ledger.services import account_open

    for code in ("a", "b", "c"):
        account_open(partner=partner, asset="USD", code=code)

    first = partner_api.get(ACCOUNTS, {"limit": 2}).json()
    second = partner_api.get(first["next"]).json()

    assert len(first["results"]) == 2 and len(second["results"]) == 1


@pytest.mark.parametrize("limit", ["abc", "0", "-1", "1.5", "٣"])
def test_a_limit_that_is_not_a_whole_number_from_1_is_400(partner_api, limit):
    response = partner_api.get(ACCOUNTS, {"limit": limit})

    body = assert_envelope(response, status=400, code="validation_error")
    assert list(body["details"]) == ["limit"]


def test_a_limit_above_the_maximum_is_400_as_the_schema_says(partner_api, partner):
    from ledger.services import account_open

    account_open(partner=partner, asset="USD")

    refused = partner_api.get(ACCOUNTS, {"limit": 501})
    at_most = partner_api.get(ACCOUNTS, {"limit": 500})

    body = assert_envelope(refused, status=400, code="validation_error")
    assert list(body["details"]) == ["limit"]
    assert at_most.status_code == 200
    assert len(at_most.json()["results"]) == 1


def test_a_username_longer_than_any_account_is_400_not_a_failed_login(api_client):
    from axes.models import AccessAttempt

    response = api_client.post(
        "/api/v1/auth/token/", {"username": "u" * 256, "password": "x"}, format="json"
    )

    body = assert_envelope(response, status=400, code="validation_error")
    assert list(body["details"]) == ["username"]
    assert not AccessAttempt.objects.exists()


def test_a_body_over_the_upload_limit_is_400(partner_api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000

    response = partner_api.post(TRANSFERS, {"reference": "x" * 2000}, format="json")

    body = assert_envelope(response, status=400, code="validation_error")
    assert list(body["details"]) == ["body"]


def test_json_nested_beyond_the_parsers_reach_is_400(partner_api):
    deep = "[" * 100_000 + "]" * 100_000

    response = partner_api.generic("POST", TRANSFERS, deep, content_type="application/json")

    assert_envelope(response, status=400, code="validation_error")


@pytest.mark.parametrize("content_type", ["multipart/form-data", "text/plain"])
def test_a_body_that_is_not_json_is_400(partner_api, content_type):
    if content_type == "text/plain":
        response = partner_api.generic("POST", TRANSFERS, "amount=1", content_type=content_type)
    else:
        response = partner_api.post(TRANSFERS, {"amount": "1"})  # the test client's form

    body = assert_envelope(response, status=400, code="validation_error")
    assert list(body["details"]) == ["Content-Type"]


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_api_path_without_its_trailing_slash_is_404_not_a_redirect(partner_api, method):
    response = getattr(partner_api, method)(TRANSFERS.rstrip("/"), {}, format="json")

    assert_envelope(response, status=404, code="not_found")


def test_outside_the_api_a_missing_slash_still_redirects(client):
    response = client.get("/admin")

    assert response.status_code == 301
    assert response["Location"] == "/admin/"


@pytest.mark.parametrize("accept", ["text/html", "application/xml"])
def test_any_accept_header_gets_json(partner_api, accept):
    response = partner_api.get(ACCOUNTS, HTTP_ACCEPT=accept)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json()["results"] == []


def test_a_null_item_in_an_independent_batch_fails_alone(partner_api):
    response = partner_api.post(
        f"{TRANSFERS}batch/", {"mode": "independent", "transfers": [None, 5]}, format="json"
    )

    assert response.status_code == 200
    assert [r["status"] for r in response.json()["results"]] == ["failed", "failed"]
