"""The ledger checks' tile and the acknowledgement of failed runs: a failed run, tamper
(chain) or arithmetic (invariants), stays an alert until a staff member acknowledges it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.models import AuditEvent
from ledger.dashboard import last_check_tile
from ledger.integrity import ledger_check_acknowledge
from ledger.models import LedgerCheckRun

pytestmark = pytest.mark.django_db

RUNS = "/admin/ledger/ledgercheckrun/"


def _run(kind, *, ok, minutes_ago, violations=()):
    moment = timezone.now() - timedelta(minutes=minutes_ago)
    return LedgerCheckRun.objects.create(
        kind=kind, started_at=moment, finished_at=moment, ok=ok, violations=list(violations)
    )


def test_a_failed_chain_run_stays_an_alert_after_later_passing_runs(django_assert_num_queries):
    tamper = _run("chain", ok=False, minutes_ago=30, violations=[{"check": "entry_chain"}])
    _run("chain", ok=True, minutes_ago=5)
    _run("invariants", ok=True, minutes_ago=1)

    with django_assert_num_queries(1):
        tile = last_check_tile(now=timezone.now())

    assert (tile["value"], tile["status"]) == ("1 failed run", "alert")
    assert "30\xa0minutes ago" in tile["hint"]  # timesince's non-breaking space
    assert tile["url"].endswith("?ok__exact=0&acknowledged_by__isnull=True")
    assert LedgerCheckRun.objects.get(pk=tamper.pk).acknowledged_by is None


def test_once_acknowledged_the_tile_says_when_each_check_last_ran(staff_user):
    tamper = _run("chain", ok=False, minutes_ago=30, violations=[{"check": "entry_chain"}])
    _run("invariants", ok=True, minutes_ago=2)

    ledger_check_acknowledge(run=tamper, acting_user=staff_user)

    tile = last_check_tile(now=timezone.now())
    assert (tile["value"], tile["status"]) == ("OK", "ok")
    assert tile["hint"] == "invariants 2\xa0minutes ago; chain 30\xa0minutes ago"
    event = AuditEvent.objects.get(action="ledger_check.acknowledged")
    assert (event.actor, event.target_id) == (staff_user, str(tamper.pk))


def test_a_check_that_never_ran_is_a_warning():
    _run("invariants", ok=True, minutes_ago=1)

    tile = last_check_tile(now=timezone.now())

    assert (tile["value"], tile["status"]) == ("OK", "warn")
    assert "chain never run" in tile["hint"]
    LedgerCheckRun.objects.all().delete()
    assert last_check_tile(now=timezone.now())["value"] == "never run"


def test_staff_acknowledge_failed_runs_from_the_console(client, staff_user):
    failed = _run("invariants", ok=False, minutes_ago=3, violations=[{"check": "balance_limit"}])
    passed = _run("invariants", ok=True, minutes_ago=1)
    client.force_login(staff_user)

    response = client.post(
        RUNS, {"action": "acknowledge", "_selected_action": [str(failed.pk), str(passed.pk)]}
    )

    assert response.status_code == 302
    failed.refresh_from_db()
    passed.refresh_from_db()
    assert (failed.acknowledged_by, passed.acknowledged_by) == (staff_user, None)
    assert last_check_tile(now=timezone.now())["status"] == "warn"  # chain never ran


def test_acknowledging_only_passing_runs_says_so(client, staff_user):
    passed = _run("invariants", ok=True, minutes_ago=1)
    client.force_login(staff_user)

    response = client.post(RUNS, {"action": "acknowledge", "_selected_action": [str(passed.pk)]})

    messages = [str(m) for m in response.wsgi_request._messages]
    assert messages == ["Only failed runs need acknowledging."]
    passed.refresh_from_db()
    assert passed.acknowledged_by is None
