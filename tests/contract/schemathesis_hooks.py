"""Hooks for the schemathesis run (tests/contract/test_schemathesis.py), loaded through
SCHEMATHESIS_HOOKS. They log the partner in and teach the generator the two rules of the
contract that a JSON schema cannot state; every check still runs on every case.

- An amount may have at most its asset's decimals (USD 2, JPY 0). The asset is chosen
  elsewhere in the request (or is the pending transfer's), so a positive case's amounts
  are sent as whole numbers, which every asset takes. Negative cases are left alone.
- No text holds NUL, keys included (the parser refuses it anywhere). The schema says so of
  every typed string; free-form JSON (metadata's keys, an independent batch's items, which
  may be anything) cannot say it in OpenAPI 3.0, so a positive case's text is sent without.
  A stateful step may merge a linked body over what map_case made whole; the one refusal
  that then follows (400, the amount's decimals) is dropped by filter_failure.
- A partial post may take at most the pending amount, which the schema cannot know: a
  positive case posts 1 (every pending transfer here holds at least 1).
- A negative case whose body is then not sent at all (schemathesis drops some) is a
  valid request (a logout without its optional body): its acceptance is no finding.
- Transfers in a positive case move USD from the partner's funded account to another
  partner's (CONTRACT_FUNDED_ACCOUNT, CONTRACT_COUNTERPARTY_ACCOUNT), so they reach the
  ledger rather than "no such account".
- A `cursor` is only ever one the server handed out in `next`/`previous`; a generated one
  is a forgery, refused with 400 (tests/core/test_hostile_input.py covers that). Positive
  cases do not invent one.
"""

import os

import requests
import schemathesis
from schemathesis.core import NOT_SET
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation import GenerationMode

BASE_URL = os.environ["CONTRACT_BASE_URL"]


@schemathesis.auth()
class PartnerToken:
    """A partner user's access token; fetched again after a 401 (a fuzzed logout ends it)."""

    def get(self, case, context):
        response = requests.post(
            f"{BASE_URL}/api/v1/auth/token/",
            json={
                "username": os.environ["CONTRACT_USERNAME"],
                "password": os.environ["CONTRACT_PASSWORD"],
            },
            timeout=30,
        )
        response.raise_for_status()
        return response.json()["access"]

    def set(self, case, data, context):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@schemathesis.hook
def filter_failure(context, failure, case, response):
    """Keep every failure but two that are the contract's own rules, not findings:
    "schema-violating request accepted" for a case whose only violation was in a body that
    was never sent (that request was a valid one), and "schema-valid request rejected" when
    the only refusal is an amount with more decimals than its asset has (a stateful step
    can merge a linked body over what map_case made whole)."""
    if getattr(failure, "code", None) == "ST202" and _only_too_many_decimals(response):
        return False
    meta = getattr(case, "meta", None)
    if getattr(failure, "code", None) != "ST201" or meta is None or case.body is not NOT_SET:
        return True
    return any(
        meta.is_negative_at(location)
        for location in ParameterLocation
        if location is not ParameterLocation.BODY
    )


def _only_too_many_decimals(response) -> bool:
    try:
        body = response.json()
    except Exception:  # not JSON: a real finding
        return False
    if not isinstance(body, dict) or response.status_code != 400:
        return False
    details = body.get("details")
    if body.get("code") != "validation_error" or not isinstance(details, dict):
        return False
    return set(details) == {"amount"} and all(
        message.startswith("At most ") and message.endswith(" decimal places.")
        for message in details["amount"]
    )


@schemathesis.hook
def map_case(context, case):
    meta = getattr(case, "meta", None)
    if meta is None or meta.generation.mode != GenerationMode.POSITIVE:
        return case
    if isinstance(case.query, dict):
        case.query.pop("cursor", None)
    case.body = _as_the_contract_reads(case.body)
    if case.path.endswith("/post/") and isinstance(case.body, dict) and "amount" in case.body:
        case.body["amount"] = "1"  # a partial post: at most the pending amount (>= 1 here)
    funded = os.environ.get("CONTRACT_FUNDED_ACCOUNT")
    counterparty = os.environ.get("CONTRACT_COUNTERPARTY_ACCOUNT")
    for transfer in _transfers_in(case.body):
        if funded and counterparty:  # reach the posting engine, not only "no such account"
            transfer.update(debit_account=funded, credit_account=counterparty, asset="USD")
    return case


def _transfers_in(body):
    if isinstance(body, dict) and "debit_account" in body:
        yield body
    elif isinstance(body, dict) and isinstance(body.get("transfers"), list):
        yield from (item for item in body["transfers"] if isinstance(item, dict))


def _as_the_contract_reads(body):
    if isinstance(body, list):
        return [_as_the_contract_reads(item) for item in body]
    if isinstance(body, str):
        return body.replace("\x00", "")
    if not isinstance(body, dict):
        return body
    whole = {key.replace("\x00", ""): _as_the_contract_reads(value) for key, value in body.items()}
    amount = whole.get("amount")
    if isinstance(amount, str) and "." in amount:
        whole["amount"] = amount.split(".")[0].lstrip("0") or "1"
    return whole
