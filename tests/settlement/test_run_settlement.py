"""run_settlement settles a business date synchronously; setup_periodic_tasks installs the
schedule's defaults and keeps staff's edits."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django_celery_beat.models import PeriodicTask

from ledger.integrity import ledger_check_run
from ledger.models import LedgerCheckRun
from ledger.selectors import transfers_in_batch
from settlement.models import SettlementBatch, StepRun
from settlement.services.windows import batch_open_ensure
from tests.settlement.conftest import place

pytestmark = pytest.mark.django_db


def test_run_settlement_closes_the_open_batch_and_settles_it_once(
    partner, other_partner, acme, fund
):
    fund(partner, "USD", 1_000_000)
    fund(other_partner, "ACME", 100)
    place(partner, acme, cid="b1", side="buy", price=1000, quantity=10)
    place(other_partner, acme, cid="s1", side="sell", price=1000, quantity=10)
    batch = batch_open_ensure()
    out = StringIO()

    day = str(batch.business_date)
    call_command("run_settlement", "--date", day, stdout=out, stderr=StringIO())

    batch.refresh_from_db()
    assert batch.state == "settled" and batch.trade_count == 1
    assert "settled" in out.getvalue()
    assert dict(StepRun.objects.filter(batch=batch).values_list("step", "outcome")) == {
        "close": "done",
        "clear": "done",
        "settle": "done",
        "reconcile": "done",
    }
    assert transfers_in_batch(batch_id=batch.pk).filter(kind="single_phase").count() == 4
    assert SettlementBatch.objects.filter(state="open").exclude(pk=batch.pk).count() == 1

    call_command("run_settlement", "--date", day, stdout=StringIO(), stderr=StringIO())
    assert transfers_in_batch(batch_id=batch.pk).filter(kind="single_phase").count() == 4
    assert StepRun.objects.get(batch=batch, step="settle").attempts == 1
    assert ledger_check_run(kind=LedgerCheckRun.Kind.INVARIANTS).ok


def test_run_settlement_refuses_a_malformed_date():
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("run_settlement", "--date", "01/12/2026", stdout=StringIO())


def test_setup_periodic_tasks_installs_the_defaults_and_keeps_edits():
    call_command("setup_periodic_tasks", stdout=StringIO())
    close = PeriodicTask.objects.get(name="settlement-close")
    assert (close.task, close.interval.every, close.enabled) == (
        "settlement.tasks.settlement_close_due",
        60,
        True,
    )
    close.enabled = False
    close.save()
    call_command("setup_periodic_tasks", stdout=StringIO())
    assert not PeriodicTask.objects.get(name="settlement-close").enabled
    call_command("setup_periodic_tasks", "--reset", stdout=StringIO())
    assert PeriodicTask.objects.get(name="settlement-close").enabled
    assert PeriodicTask.objects.filter(name="settlement-advance").exists()


def test_run_settlement_again_with_nothing_new_adds_no_empty_cycle(
    partner, other_partner, acme, fund
):
    fund(partner, "USD", 1_000_000)
    fund(other_partner, "ACME", 100)
    place(partner, acme, cid="b1", side="buy", price=1000, quantity=10)
    place(other_partner, acme, cid="s1", side="sell", price=1000, quantity=10)
    day = str(batch_open_ensure().business_date)
    call_command("run_settlement", "--date", day, stdout=StringIO(), stderr=StringIO())
    batches = set(SettlementBatch.objects.values_list("pk", "state"))
    (still_open,) = [pk for pk, state in batches if state == "open"]

    out = StringIO()
    # The open batch's own date (the next day's after the cutoff), so that it is in reach.
    again = str(SettlementBatch.objects.get(pk=still_open).business_date)
    call_command("run_settlement", "--date", again, stdout=out, stderr=StringIO())

    assert set(SettlementBatch.objects.values_list("pk", "state")) == batches
    assert batch_open_ensure().pk == still_open  # the one open batch, still open
    assert "closed" not in out.getvalue()
