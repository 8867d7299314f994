"""One risk decision, timed: decisions/s and p50/p99 of `order_decision` with 50 rules and
its velocity lookups on Redis (one round trip), beside the same order placed with risk
switched off, in the same run, and the ratio of the two.

    DATABASE_URL=postgres://... REDIS_URL=redis://... .venv/bin/python bench/risk_check.py
        [--orders 2000]                                   # or: make bench-risk

It drops and recreates its own scratch database (clearhouse_riskbench on the DATABASE_URL
server), migrates it, uses its own key prefix in REDIS_URL's database (removed at the end),
publishes 50 order rules (none of which hits, so every rule is evaluated every time) and
times `order_decision` (facts, the Redis round trip, controls, 50 rules, the Decision row's
INSERT; not the commit, which a decision shares with its order's), then places buy
orders (no matching in the call: order entry alone, as with a matcher process). Target:
p99 <= 5 ms per decision. The machine is shared: read the load average it prints.
"""

import argparse
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.ledger_transfers import database_recreate, database_urls  # noqa: E402

BENCH_DATABASE = "clearhouse_riskbench"
KEY_PREFIX = f"riskbench-{uuid.uuid4().hex[:8]}"
P99_TARGET_MS = 5.0
RULES = 50


def _setup(bench_url: str) -> None:
    os.environ.update(
        {
            "DATABASE_URL": bench_url,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "false",
            "SECRET_KEY": os.environ.get("SECRET_KEY") or "bench-only-secret-key",
            "LOG_LEVEL": "WARNING",
            "CACHE_KEY_PREFIX": KEY_PREFIX,
            # Order entry alone: a matcher that "beat" at set-up, no matching in the call.
            "TRADING_MATCH_INLINE": "false",
            "TRADING_MATCHER_SILENT_SECONDS": "86400",
        }
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _rules() -> list[dict]:
    """50 rules of the kinds staff write: thresholds, strings, lists, velocity."""
    shapes = [
        "notional > {n}000000000",
        "quantity > {n}00000000 && side == 'buy'",
        "vel_partner_count_1m > {n}000000",
        "vel_partner_sum_1h > {n}000000000000",
        "'blocked{n}' in partner_lists",
        "instrument == 'NOPE{n}/USD' && notional > 1",
        "partner_status != 'active' && quantity > {n}",
        "vel_partner_count_24h > {n}0000000 || price > {n}00000000",
        "asset == 'XXX' && order_type == 'market'",
        "time_in_force == 'fok' && notional > {n}00000000000",
    ]
    return [
        {
            "name": f"rule {i}",
            "reason_code": f"r{i}",
            "expression": shapes[i % len(shapes)].format(n=i + 1),
            "outcome": "review" if i % 2 else "reject",
            "score": 1,
        }
        for i in range(RULES)
    ]


def _world():
    from core.services import partner_create
    from ledger.services import (
        TransferRequest,
        account_open,
        house_account,
        transfer_create,
    )
    from risk.models import Rule
    from risk.services import rule_save, rule_set_draft, rule_set_ensure, rule_set_publish
    from trading.demo import ISSUANCE_ACCOUNT, demo_instrument_ensure

    partner = partner_create(slug="bench", name="Bench")
    instrument = demo_instrument_ensure()[0]
    instrument.max_unmatched = 10**9
    instrument.save(update_fields=["max_unmatched"])
    from django.utils import timezone

    from trading.models import MatcherState

    MatcherState.objects.create(instrument=instrument, heartbeat_at=timezone.now())
    usd = account_open(partner=partner, asset="USD")
    transfer_create(
        request=TransferRequest(
            debit_account_id=house_account(code=ISSUANCE_ACCOUNT, asset="USD").pk,
            credit_account_id=usd.pk,
            amount=10**14,
            asset="USD",
            code="deposit",
        )
    )
    draft = rule_set_draft(rule_set=rule_set_ensure(subject="order"))
    for position, fields in enumerate(_rules()):
        rule_save(rule=Rule(version=draft, position=position, **fields))
    rule_set_publish(version=draft)
    from trading.selectors import instrument_get

    return partner, instrument_get(symbol="ACME/USD")


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _decisions(partner, instrument, count: int) -> list[float]:
    from django.db import transaction

    from risk.services import order_decision
    from trading.models import Order

    timings = []
    for first in range(0, count, 100):
        # A decision shares its order's commit: blocks of 100 commit outside the timer.
        with transaction.atomic():
            for i in range(first, min(first + 100, count)):
                order = Order(
                    id=uuid.uuid4(),
                    partner=partner,
                    client_order_id=f"d{i}",
                    instrument=instrument,
                    side="buy",
                    type="limit",
                    time_in_force="gtc",
                    price=1000 + i % 500,
                    quantity=1,
                )
                started = time.perf_counter()
                decision = order_decision(order=order, partner=partner)
                timings.append(time.perf_counter() - started)
                assert decision.outcome == "allow", decision
    return timings


def _orders(partner, instrument, count: int, *, tag: str, risk_on: bool) -> list[float]:
    from risk.services import Decision
    from trading.services import orders

    real = orders.order_decision
    if not risk_on:
        orders.order_decision = lambda **_: Decision(outcome=Decision.ALLOW)
    timings = []
    try:
        for i in range(count):
            started = time.perf_counter()
            placed = orders.order_place(
                partner=partner,
                instrument=instrument,
                client_order_id=f"{tag}{i}",
                side="buy",
                type="limit",
                time_in_force="gtc",
                price=1000 + i % 500,
                quantity=1,
            )
            timings.append(time.perf_counter() - started)
            assert placed.order.status == "accepted", placed.order.status
    finally:
        orders.order_decision = real
    return timings


def _line(name: str, timings: list[float]) -> str:
    ms = [t * 1000 for t in timings]
    rate = len(ms) / (sum(ms) / 1000)
    return (
        f"  {name:<34} {rate:>8,.0f}/s   p50 {statistics.median(ms):6.2f} ms   "
        f"p99 {_percentile(ms, 99):6.2f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=2000)
    args = parser.parse_args()
    if not os.environ.get("REDIS_URL"):
        sys.exit("bench/risk_check.py needs Redis (REDIS_URL): the velocity lookups are on it.")
    bench_url, maintenance_url = database_urls(BENCH_DATABASE)
    database_recreate(maintenance_url, BENCH_DATABASE)
    try:
        _setup(bench_url)
        partner, instrument = _world()
        _decisions(partner, instrument, 200)  # warm up: connections, the snapshot, caches
        decisions = _decisions(partner, instrument, args.orders)
        on, off = [], []
        for block in range(4):  # interleaved, so a change of the machine's load hits both
            on += _orders(partner, instrument, args.orders // 4, tag=f"on{block}-", risk_on=True)
            off += _orders(partner, instrument, args.orders // 4, tag=f"off{block}-", risk_on=False)
        load = os.getloadavg()
        p99 = _percentile([t * 1000 for t in decisions], 99)
        print(
            f"risk decision, {RULES} rules, velocity on Redis ({args.orders} each; load "
            f"{load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on a shared 2-core machine)"
        )
        print(_line("order_decision (rules+velocity+row)", decisions))
        print(_line("order_place, risk on", on))
        print(_line("order_place, risk off", off))
        ratio = statistics.median(on) / statistics.median(off)
        print(f"  order_place median, risk on / off: {ratio:.2f}x")
        verdict = "PASS" if p99 <= P99_TARGET_MS else "FAIL"
        print(f"  {verdict}: decision p99 {p99:.2f} ms (target <= {P99_TARGET_MS} ms)")
    finally:
        _cleanup(maintenance_url)
    return 0


def _cleanup(maintenance_url: str) -> None:
    try:
        import redis
        from django.conf import settings
        from django.db import connections

        connections.close_all()
        client = redis.Redis.from_url(settings.REDIS_URL)
        doomed = list(client.scan_iter(match=f"{KEY_PREFIX}:*", count=1000))
        if doomed:
            client.delete(*doomed)
    finally:
        import psycopg
        from psycopg import sql

        with psycopg.connect(maintenance_url, autocommit=True) as conn:
            name = sql.Identifier(BENCH_DATABASE)
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))


if __name__ == "__main__":
    sys.exit(main())
