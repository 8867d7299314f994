"""Hooks for the schemathesis run (tests/contract/test_schemathesis.py), loaded through
SCHEMATHESIS_HOOKS. They log the partner in and teach the generator the two rules of the
contract that a JSON schema cannot state; every check still runs on every case.

- An amount may have at most its asset's decimals (USD 2, JPY 0). The asset is chosen
  elsewhere in the request (or is the pending transfer's), so a positive case's amounts
  are sent as whole numbers, which every asset takes. Negative cases are left alone.
- A `cursor` is only ever one the server handed out in `next`/`previous`; a generated one
  is a forgery, refused with 400 (tests/core/test_hostile_input.py covers that). Positive
  cases do not invent one.
"""

import os

import requests
import schemathesis
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
def map_case(context, case):
    meta = getattr(case, "meta", None)
    if meta is None or meta.generation.mode != GenerationMode.POSITIVE:
        return case
    if isinstance(case.query, dict):
        case.query.pop("cursor", None)
    case.body = _whole_amounts(case.body)
    return case


def _whole_amounts(body):
    if isinstance(body, list):
        return [_whole_amounts(item) for item in body]
    if not isinstance(body, dict):
        return body
    whole = {key: _whole_amounts(value) for key, value in body.items()}
    amount = whole.get("amount")
    if isinstance(amount, str) and "." in amount:
        whole["amount"] = amount.split(".")[0].lstrip("0") or "1"
    return whole
