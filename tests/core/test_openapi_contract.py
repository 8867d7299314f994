"""The schema is the contract partners generate clients from: money is never a JSON
number, request bodies refuse unknown fields, ids are uuids, and every operation lists
each error status it can answer with the one ErrorEnvelope body."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

ENVELOPE = {"$ref": "#/components/schemas/ErrorEnvelope"}


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    with django_db_blocker.unblock():
        response = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def _operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def _walk(node):
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def test_no_value_anywhere_is_a_json_number_but_integers(schema):
    numbers = [node for node in _walk(schema) if node.get("type") == "number"]
    assert numbers == []


def test_money_is_a_string_with_a_decimal_pattern(schema):
    components = schema["components"]["schemas"]
    money = [
        components["Entry"]["properties"]["amount"],
        components["Entry"]["properties"]["posted_balance"],
        components["Balance"]["properties"]["posted"],
        components["Transfer"]["properties"]["amount"],
        components["TransferInputRequest"]["properties"]["amount"],
    ]
    for field in money:
        assert field["type"] == "string" and field["pattern"].startswith("^"), field


def test_every_request_body_refuses_unknown_fields(schema):
    components = schema["components"]["schemas"]
    bodies = []
    for _path, _method, operation in _operations(schema):
        for media in operation.get("requestBody", {}).get("content", {}).values():
            bodies.append(media["schema"]["$ref"].rsplit("/", 1)[-1])
    assert len(bodies) >= 8
    for name in bodies:
        assert components[name]["additionalProperties"] is False, name
    assert components["TransferInputRequest"]["additionalProperties"] is False  # batch items


def test_every_operation_lists_its_error_statuses_with_the_envelope(schema):
    for path, method, operation in _operations(schema):
        responses = operation["responses"]
        expected = {"400", "429"}
        if operation.get("security") != [{}] and "security" in operation:
            expected.add("401")
        if "{" in path:
            expected.add("404")
        if any(p["name"] == "Idempotency-Key" for p in operation.get("parameters", [])):
            expected |= {"409", "422"}
        assert expected <= set(responses), (method, path, sorted(responses))
        for status, response in responses.items():
            if int(status) >= 400:
                assert response["content"]["application/json"]["schema"] == ENVELOPE


def test_creating_operations_document_the_idempotency_key(schema):
    posts = {p: item["post"] for p, item in schema["paths"].items() if "post" in item}
    for path in (
        "/api/v1/ledger/transfers/",
        "/api/v1/ledger/transfers/batch/",
        "/api/v1/ledger/accounts/",
    ):
        names = [p["name"] for p in posts[path]["parameters"]]
        assert names.count("Idempotency-Key") == 1


def test_pagination_and_filters_carry_their_bounds_and_formats(schema):
    parameters = {
        p["name"]: p["schema"]
        for p in schema["paths"]["/api/v1/ledger/transfers/"]["get"]["parameters"]
    }
    assert parameters["limit"] == {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}
    assert parameters["account"]["format"] == "uuid"
    assert parameters["created_after"]["format"] == "date-time"
    assert set(parameters["status"]["enum"]) == {
        "posted",
        "pending",
        "voided",
        "expired",
        "held",
        "rejected",
    }


def test_ids_are_uuids_and_client_ids_say_they_must_be_random(schema):
    components = schema["components"]["schemas"]
    for name in ("Account", "Transfer"):
        assert components[name]["properties"]["id"]["format"] == "uuid"
    client_id = components["TransferInputRequest"]["properties"]["id"]
    assert client_id["format"] == "uuid" and "v4 or v7" in client_id["description"]
    path_parameters = [
        p for _path, _method, op in _operations(schema) for p in op.get("parameters", [])
    ]
    path_ids = [p["schema"] for p in path_parameters if p["in"] == "path" and p["name"] != "symbol"]
    assert path_ids and all(s["format"] == "uuid" for s in path_ids)
    # The one path parameter that is not an id (API.md: trading's {symbol}) says its shape.
    symbols = [p["schema"] for p in path_parameters if p["in"] == "path" and p["name"] == "symbol"]
    assert symbols and all(s["pattern"].startswith("^[A-Za-z0-9") for s in symbols)


def test_nullable_and_optional_fields_are_marked_as_the_server_answers(schema):
    components = schema["components"]["schemas"]
    me_user = components["MeOutputUser"]["properties"]
    assert "format" not in me_user["email"]  # a user without an email answers ""
    transfer = components["Transfer"]["properties"]
    assert transfer["metadata"]["nullable"] is True  # the counterparty's view
    assert transfer["pending_id"]["nullable"] is True
