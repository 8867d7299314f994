"""Velocity windows over per-minute (and per-hour) buckets: counted before the read, rolling
over as the clock moves (time-machine), the same on Redis (one script) and on Django's
cache; rebuilt from stored decisions by the command."""

from datetime import UTC, datetime, timedelta

import hypothesis
import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone
from hypothesis import strategies as st

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


def _minute(at) -> int:
    return int(at.timestamp()) // 60


def _expected(history, now, tally_now):
    """Every window's count and sum by definition, from the list of what was recorded."""
    minute, hour = _minute(now), _minute(now) // 60
    facts = {}
    for scope, key in (("partner", "partner"), ("counterparty", "counterparty")):
        mine = [(m, t) for m, t in history if getattr(t, key) == getattr(tally_now, key)]
        for window, inside in (
            ("1m", lambda m: m == minute),
            ("1h", lambda m: minute - 60 < m <= minute),
            ("24h", lambda m: hour - 24 < m // 60 <= hour),
        ):
            hits = [t for m, t in mine if inside(m)]
            facts[f"vel_{scope}_count_{window}"] = len(hits)
            facts[f"vel_{scope}_sum_{window}"] = sum(
                t.amount for t in hits if t.asset == tally_now.asset
            )
    return facts


@pytest.mark.redis
@hypothesis.settings(max_examples=25, deadline=None)
@hypothesis.given(
    steps=st.lists(
        st.tuples(
            # seconds on: the same minute, the next, an hour, a day; or back (another
            # process whose clock is a little behind)
            st.sampled_from([0, 1, 7, 59, 60, 61, 600, 3_540, 3_600, 7_300, 86_400, -1, -30]),
            st.sampled_from(["p1", "p2"]),
            st.sampled_from(["a", "b"]),
            st.sampled_from(["USD", "EUR"]),
            st.integers(min_value=1, max_value=10_000),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_the_windows_equal_their_definition_as_the_clock_moves(steps):
    """Redis keeps running totals between decisions, Django's cache sums buckets: with the
    clock moving by seconds, minutes, an hour, a day and more (and a little back), each
    answer of either is what the recorded history says it must be."""
    from django.core.cache import cache

    for store in (velocity_store(), CacheVelocity()):  # one after the other: the same keys
        cache.clear()
        at, history = T0, []
        for seconds, partner, counterparty, asset, amount in steps:
            at += timedelta(seconds=seconds)
            now = tally(amount=amount, partner=partner, counterparty=counterparty, asset=asset)
            history.append((_minute(at), now))
            assert store.record(now, now=at).facts == _expected(history, at, now), store
