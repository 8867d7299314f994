"""Velocity windows over per-minute (and per-hour) buckets: counted before the read, rolling
over as the clock moves (time-machine), the same on Redis (one script) and on Django's
cache; rebuilt from stored decisions by the command."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from risk.velocity import CacheVelocity, Tally, velocity_store

T0 = datetime(2026, 3, 2, 10, 0, 5, tzinfo=UTC)


def _stores():
    yield pytest.param(CacheVelocity, id="django-cache")
    yield pytest.param("redis", id="redis", marks=pytest.mark.redis)


@pytest.fixture(params=list(_stores()))
def store(request):
    if request.param == "redis":
        if not settings.REDIS_URL:
            pytest.skip("needs Redis: set REDIS_URL")
        return velocity_store()
    return CacheVelocity()


def tally(amount=100, partner="p1", counterparty="acct-1", asset="USD"):
    return Tally(
        subject="transfer", partner=partner, asset=asset, amount=amount, counterparty=counterparty
    )


def record(store, at, **kw):
    return store.record(tally(**kw), now=at).facts


def test_windows_count_and_sum_and_roll_over(store):
    with time_machine.travel(T0, tick=False):
        for _ in range(3):
            facts = record(store, timezone.now(), amount=100)
    assert facts["vel_partner_count_1m"] == 3 and facts["vel_partner_sum_1m"] == 300

    with time_machine.travel(T0 + timedelta(seconds=60), tick=False):  # the next minute
        facts = record(store, timezone.now(), amount=5)
    assert (facts["vel_partner_count_1m"], facts["vel_partner_count_1h"]) == (1, 4)
    assert facts["vel_partner_sum_1h"] == 305

    with time_machine.travel(T0 + timedelta(minutes=60), tick=False):  # first minute left 1h
        facts = record(store, timezone.now(), amount=1)
    assert (facts["vel_partner_count_1h"], facts["vel_partner_sum_1h"]) == (2, 6)
    assert facts["vel_partner_count_24h"] == 5

    with time_machine.travel(T0 + timedelta(hours=24), tick=False):  # hour 10:00 left 24h
        facts = record(store, timezone.now(), amount=1)
    assert (facts["vel_partner_count_24h"], facts["vel_partner_sum_24h"]) == (2, 2)


def test_counterparty_and_partner_scopes_and_assets_are_apart(store):
    at = T0
    record(store, at, partner="p1", counterparty="a")
    record(store, at, partner="p2", counterparty="a")
    record(store, at, partner="p1", counterparty="b", asset="EUR", amount=7)
    facts = record(store, at, partner="p1", counterparty="a", amount=1)
    assert facts["vel_partner_count_1m"] == 4 - 1  # p1's three
    assert facts["vel_partner_sum_1m"] == 101  # USD only: the EUR 7 is another asset
    assert facts["vel_counterparty_count_1m"] == 3  # a, from p1 and p2


@pytest.mark.django_db
def test_the_rebuild_command_recounts_from_stored_decisions(partner, fund, publish, settings):
    from ledger.services import TransferRequest, account_open
    from risk.services import transfer_submit

    alpha = fund(partner, "USD", 1_000_000)
    from core.services import partner_create

    beta = account_open(partner=partner_create(slug="beta", name="Beta"), asset="USD")
    with time_machine.travel(T0, tick=False):
        for amount in (100, 200):
            transfer_submit(
                request=TransferRequest(
                    debit_account_id=alpha.pk, credit_account_id=beta.pk, amount=amount, asset="USD"
                ),
                partner=partner,
            )
    from django.core.cache import cache

    cache.clear()  # the buckets are lost
    with time_machine.travel(T0 + timedelta(seconds=10), tick=False):
        call_command("risk_velocity_rebuild", verbosity=0)
        facts = (
            velocity_store()
            .record(
                Tally(
                    subject="transfer",
                    partner=str(partner.pk),
                    asset="USD",
                    amount=1,
                    counterparty=str(beta.pk),
                ),
                now=timezone.now(),
            )
            .facts
        )
    assert (facts["vel_partner_count_1m"], facts["vel_partner_sum_1m"]) == (3, 301)
    assert facts["vel_counterparty_count_24h"] == 3
