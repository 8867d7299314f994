"""Input refused at one depth, for every endpoint the URL configuration serves (driven by
tests/contract/urlconf.py, not a hand list): NUL or a lone surrogate in any query
parameter or any string of a body (keys included) is a 400 naming where it is; a body
field the operation does not define is a 400 naming it; and nothing was done."""

import json

import pytest
from rest_framework.test import APIClient

from tests.contract.urlconf import api_endpoints, unversioned_api_views
from tests.core.envelope import assert_envelope

pytestmark = pytest.mark.django_db

WRITES = ("post", "put", "patch")


def _operations(alpha_resources, *, writes_only=False):
    for endpoint in api_endpoints("v1", "v2"):
        path = endpoint.path(**{name: alpha_resources[name] for name in endpoint.kwargs})
        for method in endpoint.methods:
            if not writes_only or method in WRITES:
                yield endpoint, method, path


def _client_for(endpoint, partner_api):
    return partner_api if endpoint.is_partner else APIClient()


def _nothing_happened():
    from ledger.models import Account, Transfer

    return Transfer.objects.count(), Account.objects.count()


def test_every_api_view_is_an_operation_of_a_version_built_on_the_base_class():
    assert unversioned_api_views() == []


def test_hostile_text_in_any_query_parameter_is_400_on_every_endpoint(partner_api, alpha_resources):
    before = _nothing_happened()
    cases = 0
    for endpoint, method, path in _operations(alpha_resources):
        client = _client_for(endpoint, partner_api)
        for query, name in (("note=a%00b", "note"), ("x%00y=1", "x\\x00y")):
            response = client.generic(method.upper(), f"{path}?{query}", "{}", "application/json")
            body = assert_envelope(response, status=400, code="validation_error")
            assert list(body["details"]) == [name], (str(endpoint), method, body)
            cases += 1
    assert cases > 40
    assert _nothing_happened() == before


@pytest.mark.parametrize(
    ("raw_body", "path"),
    [
        ('{"note": {"deep": ["fine", "bad\\u0000"]}}', "note.deep[1]"),
        ('{"note": "\\ud800"}', "note"),
        ('{"k\\u0000ey": 1}', "k\\x00ey"),
        ('{"k\\udfff": [1]}', "k\\udfff"),
    ],
)
def test_hostile_text_anywhere_in_a_body_is_400_naming_its_path_on_every_write(
    partner_api, alpha_resources, raw_body, path
):
    before = _nothing_happened()
    writes = list(_operations(alpha_resources, writes_only=True))
    for endpoint, method, url in writes:
        client = _client_for(endpoint, partner_api)
        response = client.generic(method.upper(), url, raw_body, "application/json")
        body = assert_envelope(response, status=400, code="validation_error")
        assert body["details"] == {path: body["details"][path]}, (str(endpoint), body)
    assert len(writes) >= 10
    assert _nothing_happened() == before


def test_a_field_the_operation_does_not_define_is_400_naming_it_on_every_write(
    partner_api, alpha_resources
):
    before = _nothing_happened()
    for endpoint, method, url in _operations(alpha_resources, writes_only=True):
        client = _client_for(endpoint, partner_api)
        response = client.generic(method.upper(), url, '{"pendng": true}', "application/json")
        body = assert_envelope(response, status=400, code="validation_error")
        assert body["details"]["pendng"] == ["Unknown field: this operation does not take it."]
    assert _nothing_happened() == before


def _item(debit, credit, **extra):
    return {
        "debit_account": str(debit.pk),
        "credit_account": str(credit.pk),
        "amount": "1.00",
        "asset": "USD",
        **extra,
    }


def test_a_batch_item_with_nul_in_its_asset_is_400_not_500(partner_api, alpha_resources, beta_usd):
    from ledger.models import Account

    alpha_usd = Account.objects.get(pk=alpha_resources["account_id"])
    before = _nothing_happened()
    body = {"mode": "atomic", "transfers": [_item(alpha_usd, beta_usd), _item(alpha_usd, beta_usd)]}
    body["transfers"][1]["asset"] = "US\u0000D"

    response = partner_api.post("/api/v1/ledger/transfers/batch/", body, format="json")

    errors = assert_envelope(response, status=400, code="validation_error")["details"]
    assert errors == {"transfers[1].asset": ["Text may not contain NUL characters."]}
    assert _nothing_happened() == before


def test_a_misspelt_field_in_a_batch_item_moves_no_money(partner_api, alpha_resources, beta_usd):
    from ledger.models import Account

    alpha_usd = Account.objects.get(pk=alpha_resources["account_id"])
    before = _nothing_happened()
    body = {"mode": "atomic", "transfers": [_item(alpha_usd, beta_usd, pendng=True)]}

    response = partner_api.post("/api/v1/ledger/transfers/batch/", body, format="json")

    errors = assert_envelope(response, status=400, code="validation_error")["details"]
    assert "transfers[0].pendng" in errors
    assert _nothing_happened() == before


def test_a_body_is_checked_before_the_resource_is_looked_up(partner_api):
    """A NUL in a post's body is the 400 even where no such transfer exists: the input check
    does not depend on what the handler reads first."""
    response = partner_api.generic(
        "POST",
        "/api/v1/ledger/transfers/6f1c7a52-8a3b-4c1d-9e2f-0a1b2c3d4e5f/post/",
        json.dumps({"amount": "1\u0000"}),
        "application/json",
    )
    body = assert_envelope(response, status=400, code="validation_error")
    assert list(body["details"]) == ["amount"]
