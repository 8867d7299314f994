"""Management commands run in the checkout `make run` made, with its defaults (DEBUG on,
no SECRET_KEY needed), while production settings still refuse to start without a key."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _env(tmp_path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG", "DATABASE_URL")}
    return {**env, "SQLITE_PATH": str(tmp_path / "db.sqlite3"), "REDIS_URL": "", **extra}


@pytest.mark.skipif(
    not (ROOT / ".venv" / "bin" / ".installed").exists(), reason="needs make's venv"
)
def test_make_manage_runs_ledger_check_with_make_runs_defaults(tmp_path):
    env = _env(tmp_path)
    migrate = subprocess.run(
        ["make", "-s", "manage", "ARGS=migrate --no-input -v 0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert migrate.returncode == 0, migrate.stderr

    check = subprocess.run(
        ["make", "-s", "manage", "ARGS=ledger_check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert check.returncode == 0, check.stderr
    assert "Ledger invariants OK." in check.stdout


def test_without_debug_the_settings_still_refuse_to_start_without_a_secret_key(tmp_path):
    refused = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=_env(tmp_path, DEBUG="false"),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert refused.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in refused.stderr
