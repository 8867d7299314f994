"""The durable matcher on PostgreSQL, from accepted orders to committed trades, beside
hand-written SQL writing the same rows, in the same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/clearhouse .venv/bin/python \
        bench/matcher.py [--orders 50000] [--batch-size 500]      # or: make bench-matcher

It drops and recreates its own scratch database (clearhouse_bench_matcher on the
DATABASE_URL server), migrates it, and places the same random stream of accepted orders
(limit GTC around 10.00, sides overlapping, so a good part crosses; 40 partners) twice:
on ACME/USD with their funds held in the ledger as order_place holds them, and on
GLOBEX/USD without holds, for the baseline. Neither placement is timed.

Inside the matcher's timer: `InstrumentMatcher.step()` until the queue is empty, i.e. per
batch of `--batch-size` orders, one transaction: the fence check, the queue read, the
engine, the guarded order update (fills, status, booked, release_pending), the trades
insert, the MatcherState beat (with its lag), the commit. Outside: restoring the
(empty) book. The hold releases that follow (orders that ended holding more than their
fills used, e.g. a buy filled below its limit: one void-and-re-hold each, in the ledger)
run on their own thread in run_matcher; they are timed apart, after, and printed as
released holds per second.

Inside the baseline's timer: per batch, one transaction through psycopg: the same queue
read, then the trades and the order updates the engine produced for that batch (computed
beforehand), each one statement with an array per column. No engine, no ledger: the floor
of writing these rows. Target: the matcher >= 20,000 orders/s.
"""

import argparse
import os
import random
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DATABASE = os.environ.get("BENCH_MATCHER_DATABASE", "clearhouse_bench_matcher")
TARGET = 20_000  # orders/s, issue 10
PARTNERS = 40
POSTGRES_SCHEMES = ("postgres", "postgresql", "pgsql")


def database_urls() -> tuple[str, str]:
    import environ

    environ.Env.read_env(ROOT / ".env", overwrite=False)
    url = os.environ.get("DATABASE_URL", "")
    if urlsplit(url).scheme.split("+")[0] not in POSTGRES_SCHEMES:
        sys.exit(
            "bench/matcher.py needs PostgreSQL: set DATABASE_URL, e.g.\n"
            "  DATABASE_URL=postgres://postgres@127.0.0.1:5432/clearhouse make bench-matcher\n"
            f"(it works in its own scratch database, {DATABASE}, on that server)."
        )
    parts = urlsplit(url)
    return (
        urlunsplit(parts._replace(path=f"/{DATABASE}")),
        urlunsplit(parts._replace(scheme="postgresql", path="/postgres")),
    )


def database_recreate(maintenance_url: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(maintenance_url, autocommit=True) as conn:
        name = sql.Identifier(DATABASE)
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(name))


def stream(count: int, seed: int) -> list[tuple[int, str, int, int]]:
    """(partner index, side, quantity, price): buys 9.60-10.10, sells 9.90-10.40."""
    rng = random.Random(seed)
    orders = []
    for _ in range(count):
        side = rng.choice(("buy", "sell"))
        price = 1000 + (rng.randint(-40, 10) if side == "buy" else rng.randint(-10, 40))
        orders.append((rng.randrange(PARTNERS), side, rng.randint(1, 100), price))
    return orders


def market_setup(orders, *, symbol: str, with_holds: bool):
    """An instrument and the stream as accepted, unbooked orders (sequence 1, 2, ...)."""
    from django.db import transaction

    from ledger.services import TransferRequest, house_account, transfer_batch_create
    from trading.demo import demo_instrument_ensure
    from trading.models import Instrument, Order
    from trading.services.holds import CLEARING_ACCOUNT, HOLD_CODE

    base = symbol.split("/")[0]
    instrument = demo_instrument_ensure(code=base)[0]  # symbol is `base`/USD
    partners, accounts = bench_partners(base)
    rows = []
    for sequence, (who, side, quantity, price) in enumerate(orders, start=1):
        asset = "USD" if side == "buy" else base
        rows.append(
            Order(
                id=uuid.uuid4(),
                partner_id=partners[who],
                client_order_id=f"{symbol}-{sequence}",
                instrument=instrument,
                side=side,
                price=price,
                quantity=quantity,
                status=Order.Status.ACCEPTED,
                sequence=sequence,
                hold_id=uuid.uuid4() if with_holds else None,
                reserved=price * quantity if side == "buy" else quantity,
                account_id=accounts[(who, asset)],
            )
        )
    for start in range(0, len(rows), 1000):
        chunk = rows[start : start + 1000]
        with transaction.atomic():
            if with_holds:
                for asset in ("USD", base):
                    clearing = house_account(code=CLEARING_ACCOUNT, asset=asset)
                    requests = [
                        TransferRequest(
                            id=order.hold_id,
                            debit_account_id=order.account_id,
                            credit_account_id=clearing.pk,
                            amount=order.reserved,
                            asset=asset,
                            code=HOLD_CODE,
                            pending=True,
                            origin_ref=str(order.id),
                        )
                        for order in chunk
                        if (order.side == "buy") == (asset == "USD")
                    ]
                    if requests:
                        transfer_batch_create(requests=requests, atomic=True, origin="order")
            Order.objects.bulk_create(chunk)
    Instrument.objects.filter(pk=instrument.pk).update(last_sequence=len(rows))
    return Instrument.objects.select_related("base_asset").get(pk=instrument.pk), rows


_partners: dict = {}


def bench_partners(base: str):
    """PARTNERS partners, each with a USD and a `base` account holding plenty."""
    from core.services import partner_create
    from ledger.selectors import account_list
    from ledger.services import (
        TransferRequest,
        account_open,
        house_account,
        transfer_batch_create,
    )
    from trading.demo import ISSUANCE_ACCOUNT

    if not _partners:
        _partners.update(
            {i: partner_create(slug=f"bench-{i}", name=f"Bench {i}") for i in range(PARTNERS)}
        )
    accounts = {}
    deposits = []
    for i, partner in _partners.items():
        for asset in ("USD", base):
            account = account_list(partner=partner).filter(asset_id=asset).first()
            if account is None:
                account = account_open(partner=partner, asset=asset)
                issuer = house_account(code=ISSUANCE_ACCOUNT, asset=asset)
                deposits.append(
                    TransferRequest(
                        debit_account_id=issuer.pk,
                        credit_account_id=account.pk,
                        amount=10**15,
                        asset=asset,
                        code="deposit",
                    )
                )
            accounts[(i, asset)] = account.pk
    if deposits:
        transfer_batch_create(requests=deposits, atomic=True)
    return {i: partner.pk for i, partner in _partners.items()}, accounts


def matcher_run(instrument, batch_size: int) -> tuple[float, int]:
    from trading.matcher import InstrumentMatcher

    matcher = InstrumentMatcher(instrument, batch_size=batch_size)
    assert matcher.lock_try(), "another process holds the bench instrument's lock"
    matcher.load()
    started = time.perf_counter()
    taken = 0
    while taken_now := matcher.step():
        taken += taken_now
    return time.perf_counter() - started, taken


def engine_batches(rows, batch_size: int):
    """What the engine makes of the stream, batch by batch: (trades, order updates)."""
    from trading.engine import Book, Fill, NewOrder, Trade

    book = Book()
    by_sequence = {order.sequence: order for order in rows}
    state = {}  # sequence -> [status, filled quantity, filled notional]
    batches, trade_rows = [], []
    for start in range(0, len(rows), batch_size):
        touched, trades = set(), []
        for order in rows[start : start + batch_size]:
            sequence = order.sequence
            state[sequence] = ["accepted", 0, 0]
            touched.add(sequence)
            events = book.submit(
                NewOrder.limit(
                    sequence, order.partner_id.int, order.side, order.quantity, order.price
                )
            )
            for event in events:
                if type(event) is Trade:
                    trades.append(event)
                elif type(event) is Fill:
                    entry = state[event.order_id]
                    entry[1] += event.quantity
                    entry[2] += event.quantity * event.price_ticks
                    entry[0] = "filled" if not event.remaining else "partially_filled"
                    touched.add(event.order_id)
            entry = state[sequence]
            if entry[1] == order.quantity:
                entry[0] = "filled"
            elif sequence in book:
                entry[0] = "partially_filled" if entry[1] else "accepted"
            else:
                entry[0] = "cancelled"  # self-trade: the remainder is cancelled
        updates = [
            (by_sequence[s].id, *state[s], release_pending(by_sequence[s], *state[s]))
            for s in sorted(touched)
        ]
        trade_rows.extend(trades)
        batches.append(
            (
                [
                    (
                        uuid.uuid4(),
                        by_sequence[t.buy_order_id].id,
                        by_sequence[t.sell_order_id].id,
                        t.price_ticks,
                        t.quantity,
                        t.aggressor_side,
                        t.seq,
                    )
                    for t in trades
                ],
                updates,
            )
        )
    return batches, len(trade_rows)


def release_pending(order, status: str, filled: int, notional: int) -> bool:
    consumed = notional if order.side == "buy" else filled
    return status in ("filled", "cancelled") and consumed < order.reserved


def baseline_run(url: str, instrument, batches) -> float:
    """The same rows by hand, one transaction a batch."""
    import psycopg

    read = (
        "SELECT id, sequence, partner_id, side, type, time_in_force, price, quantity,"
        " filled_quantity, filled_notional, status, booked, hold_id, reserved"
        " FROM trading_order WHERE instrument_id = %s AND booked = false"
        " AND sequence IS NOT NULL ORDER BY sequence LIMIT %s"
    )
    insert = (
        "INSERT INTO trading_trade (id, instrument_id, buy_order_id, sell_order_id, price,"
        " quantity, aggressor_side, sequence, executed_at)"
        " SELECT t.id, %s, t.buy, t.sell, t.price, t.quantity, t.side, t.seq, now() FROM"
        " unnest(%s::uuid[], %s::uuid[], %s::uuid[], %s::bigint[], %s::bigint[],"
        " %s::varchar[], %s::bigint[]) AS t(id, buy, sell, price, quantity, side, seq)"
    )
    update = (
        "UPDATE trading_order AS o SET status = v.status, filled_quantity = v.filled,"
        " filled_notional = v.notional, booked = true, release_pending = v.release,"
        " updated_at = now()"
        " FROM unnest(%s::uuid[], %s::varchar[], %s::bigint[], %s::bigint[], %s::bool[])"
        " AS v(id, status, filled, notional, release) WHERE o.id = v.id"
    )
    libpq = urlunsplit(urlsplit(url)._replace(scheme="postgresql"))
    with psycopg.connect(libpq) as conn:
        started = time.perf_counter()
        for trades, updates in batches:
            with conn.transaction(), conn.cursor() as cursor:
                cursor.execute(read, [instrument.pk, max(len(updates), 1)])
                cursor.fetchall()
                if trades:
                    cursor.execute(insert, [instrument.pk, *map(list, zip(*trades, strict=True))])
                cursor.execute(update, list(map(list, zip(*updates, strict=True))))
        return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=50_000)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--seed", type=int, default=10)
    args = parser.parse_args()
    bench_url, maintenance_url = database_urls()

    print(f"scratch database {DATABASE}: drop, create, migrate ...", end=" ", flush=True)
    database_recreate(maintenance_url)
    os.environ.update(
        DATABASE_URL=bench_url,
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="false",
        SECRET_KEY=os.environ.get("SECRET_KEY") or "bench-only-secret-key-not-for-production",
        LOG_LEVEL=os.environ.get("LOG_LEVEL", "WARNING"),
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    print("done", flush=True)

    orders = stream(args.orders, args.seed)
    print(
        f"{args.orders:,} accepted orders, twice (with ledger holds, and without) ...",
        end=" ",
        flush=True,
    )
    acme, _ = market_setup(orders, symbol="ACME/USD", with_holds=True)
    globex, globex_rows = market_setup(orders, symbol="GLOBEX/USD", with_holds=False)
    batches, trades = engine_batches(globex_rows, args.batch_size)
    print("done", flush=True)

    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    matcher_seconds, taken = matcher_run(acme, args.batch_size)
    baseline_seconds = baseline_run(bench_url, globex, batches)
    from trading.matching.releases import order_holds_release_pending
    from trading.models import Order, Trade

    flagged = Order.objects.filter(instrument=acme, release_pending=True).count()
    started = time.perf_counter()
    released = order_holds_release_pending(instrument_id=acme.pk, limit=10**9)
    release_seconds = time.perf_counter() - started

    matched_trades = Trade.objects.filter(instrument=acme).count()
    assert taken == args.orders, (taken, args.orders)
    assert matched_trades == trades, (matched_trades, trades)  # both wrote the same trades
    assert not Order.objects.filter(booked=False).exists()
    assert released == flagged
    assert Order.objects.filter(instrument=globex, release_pending=True).count() == flagged
    matcher_rate = args.orders / matcher_seconds
    baseline_rate = args.orders / baseline_seconds
    print(
        f"\n{args.orders:,} orders, {trades:,} trades ({trades / args.orders:.0%} of orders),"
        f" {flagged:,} holds to release, batches of {args.batch_size}\n"
    )
    print(f"{'':28}{'seconds':>10}{'orders/s':>12}")
    print(f"{'durable matcher':28}{matcher_seconds:>10.2f}{matcher_rate:>12,.0f}")
    print(f"{'hand-written SQL (floor)':28}{baseline_seconds:>10.2f}{baseline_rate:>12,.0f}")
    print(
        f"{'hold releases, after':28}{release_seconds:>10.2f}"
        f"{released / release_seconds if released else 0:>12,.0f}  (released holds/s, not orders)"
    )
    print(f"\nratio matcher / SQL: {matcher_rate / baseline_rate:.2f}")
    verdict = "PASS" if matcher_rate >= TARGET else "FAIL"
    print(f"{verdict}: durable matcher {matcher_rate:,.0f} orders/s (target >= {TARGET:,})")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
