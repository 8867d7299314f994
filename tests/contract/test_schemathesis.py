"""schemathesis against the live API, every check, stateful links included: the schema at
/api/schema/ is what the server does, for every /api/v1/ operation there is and will be
(the run reads the schema; nothing here lists operations). Any finding fails the test,
with schemathesis' report (and its seed, to replay it) in the output.

Bounded by CONTRACT_FUZZ_SECONDS (default 100). tests/contract/schemathesis_hooks.py logs
the partner in and states the two rules a JSON schema cannot; schemathesis.toml beside it
says which statuses a well-formed request may still get (409, 422: the state of things)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.services import partner_create, partner_user_create
from ledger.services import account_open
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
FUZZ_SECONDS = int(os.environ.get("CONTRACT_FUZZ_SECONDS", "100"))


@pytest.fixture
def fuzzed_partner(fund, settings):
    # The fuzzer logs in again after every fuzzed logout, and sends thousands of requests:
    # neither the throttles nor the login lockout are what is under test here.
    settings.API_THROTTLE_RATES = {"partner": "1000000/min", "auth": "1000000/min"}
    settings.AXES_FAILURE_LIMIT = 1_000_000
    partner = partner_create(slug="fuzz", name="Fuzz Partner")
    partner_user_create(partner=partner, username="fuzz-api", password=PASSWORD)
    usd = account_open(partner=partner, asset="USD")
    fund(usd, 1_000_000_000)
    counterparty = account_open(partner=partner_create(slug="other", name="Other"), asset="USD")
    return {
        "CONTRACT_USERNAME": "fuzz-api",
        "CONTRACT_PASSWORD": PASSWORD,
        "CONTRACT_FUNDED_ACCOUNT": str(usd.pk),
        "CONTRACT_COUNTERPARTY_ACCOUNT": str(counterparty.pk),
    }


def test_schemathesis_finds_nothing_against_every_operation(live_server, fuzzed_partner):
    schema_url = f"{live_server.url}/api/schema/"
    command = [
        str(Path(sys.executable).with_name("st")),
        "--config-file",
        str(HERE / "schemathesis.toml"),
        "run",
        schema_url,
        "--checks",
        "all",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--include-path-regex",
        "^/api/v1/",
        "--max-time",
        str(FUZZ_SECONDS),
        # One worker: hypothesis' lambda descriptions call ast.parse, which CPython 3.11
        # does not allow from two threads at once (SystemError: AST recursion depth).
        "--workers",
        "1",
        "--request-timeout",
        "30",
    ]
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.contract.schemathesis_hooks",
        "PYTHONPATH": str(ROOT),
        "CONTRACT_BASE_URL": live_server.url,
        **fuzzed_partner,
        "NO_COLOR": "1",
    }

    run = subprocess.run(
        command,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=FUZZ_SECONDS + 240,
        check=False,
    )

    report = run.stdout + run.stderr
    print(report[-6000:])
    assert "Selected: 0" not in report, report[-3000:]
    assert run.returncode == 0, report[-20000:]
