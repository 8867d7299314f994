"""Clearing, settlement and reconciliation on PostgreSQL, each beside its floor, in the
same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/clearhouse .venv/bin/python \
        bench/settlement.py [--trades 1000000] [--partners 1000] [--lines 100000]

It drops and recreates its own scratch database (clearhouse_bench_settlement on the
DATABASE_URL server) and migrates it. Setup, not timed: `--partners` partners with funded
USD and ACME accounts; 20 buy and 20 sell orders each, every one with its ledger hold
(half of them hold more than their fills consumed: open, partly filled); `--trades` trades
between random buy and sell orders of different partners (COPY), in one closed batch.

Timed, each beside a floor over the same rows:

- **clearing**: `batch_clear` (obligations and hold releases, two INSERT ... SELECT passes,
  the balance checks, the state change) beside the bare aggregation (the same legs summed
  per partner and asset, read back). Target: within 3x the floor.
- **settlement**: `batch_settle` (partners in chunks of up to 500 hold releases: their
  obligations posted against the CCP account and their orders' holds voided or shrunk, one
  ledger_apply_bulk a chunk), as ledger transfers written per second (the postings, a void
  for each release, and for a shrink the new hold that keeps the rest), beside the ledger's
  own batch rate measured here (`transfer_batch_create`, 100 transfers a batch). Target: at
  that rate or better.
- **reconciliation**: `--lines` statement lines (mostly exact, some within tolerance, 1:N,
  N:1 and unmatched) against as many house bank transfers: `statement_record` (the checks,
  the statement and its lines written, every matching pass, the breaks: an import after
  its file is parsed) beside a bare SQL join of lines to transfers on reference and
  amount. Target: <= 5 s.

The machine is shared (two cores, three engineers' work): figures vary run to run.
"""

import argparse
import os
import random
import sys
import time
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# The scratch database helpers of the ledger's benchmark (this folder is on sys.path).
from ledger_transfers import database_recreate, database_urls  # noqa: E402

DATABASE = "clearhouse_bench_settlement"
ORDERS_PER_SIDE = 20
CLEARING_RATIO_TARGET = 3.0
RECONCILE_TARGET_SECONDS = 5.0


def step(text: str):
    print(f"{text} ...", end=" ", flush=True)
    return time.perf_counter()


def done(started: float) -> None:
    print(f"done ({time.perf_counter() - started:.1f} s)", flush=True)


# --- Setup ----------------------------------------------------------------------------------


def partners_setup(count: int):
    from core.models import Partner
    from ledger.models import Account
    from ledger.services import TransferRequest, asset_ensure, house_account, transfer_batch_create
    from trading.demo import ISSUANCE_ACCOUNT

    asset_ensure(code="ACME", name="Acme", scale=0)
    partners = Partner.objects.bulk_create(
        [Partner(slug=f"bench-{i}", name=f"Bench {i}") for i in range(count)]
    )
    accounts = {}
    rows = []
    for partner in partners:
        for asset in ("USD", "ACME"):
            account = Account(partner=partner, asset_id=asset, code="main", kind="liability")
            account.debits_must_not_exceed_credits = True
            rows.append(account)
            accounts[(partner.pk, asset)] = account
    Account.objects.bulk_create(rows)
    for asset in ("USD", "ACME"):
        issuer = house_account(code=ISSUANCE_ACCOUNT, asset=asset)
        requests = [
            TransferRequest(
                debit_account_id=issuer.pk,
                credit_account_id=accounts[(p.pk, asset)].pk,
                amount=10**13,
                asset=asset,
                code="deposit",
            )
            for p in partners
        ]
        for start in range(0, len(requests), 500):
            transfer_batch_create(requests=requests[start : start + 500], atomic=True)
    return partners, accounts


def market_setup(partners, accounts, trade_count: int, seed: int):
    """Orders with holds, then `trade_count` trades among them in one closed batch."""
    from django.db import connection, transaction

    from ledger.services import TransferRequest, house_account, transfer_batch_create
    from settlement.services.windows import batch_close, batch_open_ensure
    from trading.demo import demo_instrument_ensure
    from trading.models import Order, Trade
    from trading.services.holds import CLEARING_ACCOUNT, HOLD_CODE

    rng = random.Random(seed)
    acme = demo_instrument_ensure()[0]
    buys = [(p, n) for p in range(len(partners)) for n in range(ORDERS_PER_SIDE)]
    sells = list(buys)
    order_ids = {("buy", k): uuid.uuid4() for k in buys}
    order_ids |= {("sell", k): uuid.uuid4() for k in sells}
    filled = {key: [0, 0] for key in order_ids}  # quantity, notional
    trades = []
    for sequence in range(1, trade_count + 1):
        buy = buys[rng.randrange(len(buys))]
        sell = sells[rng.randrange(len(sells))]
        if sell[0] == buy[0]:
            sell = ((sell[0] + 1) % len(partners), sell[1])
        price, quantity = rng.randint(990, 1010), rng.randint(1, 5)
        filled[("buy", buy)][0] += quantity
        filled[("buy", buy)][1] += price * quantity
        filled[("sell", sell)][0] += quantity
        filled[("sell", sell)][1] += price * quantity
        buy_id, sell_id = order_ids[("buy", buy)], order_ids[("sell", sell)]
        trades.append((buy_id, sell_id, price, quantity, sequence))
    batch = batch_open_ensure()
    orders, holds = [], {"USD": [], "ACME": []}
    for sequence, ((side, (who, _n)), order_id) in enumerate(order_ids.items(), start=1):
        quantity, notional = filled[(side, (who, _n))]
        extra = 5 if sequence % 2 or not quantity else 0  # half stay open, holding more
        partner = partners[who]
        asset = "USD" if side == "buy" else "ACME"
        consumed = notional if side == "buy" else quantity
        reserved = consumed + (extra * 1010 if side == "buy" else extra)
        hold_id = uuid.uuid4()
        orders.append(
            Order(
                id=order_id,
                partner=partner,
                client_order_id=f"o{sequence}",
                instrument=acme,
                side=side,
                price=1010 if side == "buy" else 990,
                quantity=quantity + extra,
                filled_quantity=quantity,
                filled_notional=notional,
                status="partially_filled" if extra else "filled",
                sequence=sequence,
                booked=True,
                hold_id=hold_id,
                reserved=reserved,
                account_id=accounts[(partner.pk, asset)].pk,
            )
        )
        if reserved:
            holds[asset].append(
                TransferRequest(
                    id=hold_id,
                    debit_account_id=accounts[(partner.pk, asset)].pk,
                    credit_account_id=house_account(code=CLEARING_ACCOUNT, asset=asset).pk,
                    amount=reserved,
                    asset=asset,
                    code=HOLD_CODE,
                    pending=True,
                    origin_ref=str(order_id),
                )
            )
    Order.objects.bulk_create(orders, batch_size=5000)
    for requests in holds.values():
        for start in range(0, len(requests), 1000):
            with transaction.atomic():
                transfer_batch_create(
                    requests=requests[start : start + 1000], atomic=True, origin="order"
                )
    now = batch.opened_at
    with connection.cursor() as cursor:
        columns = (
            "id, instrument_id, buy_order_id, sell_order_id, price, quantity, aggressor_side,"
            " sequence, executed_at, settlement_batch_id"
        )
        with cursor.cursor.copy(f"COPY {Trade._meta.db_table} ({columns}) FROM STDIN") as copy:
            for buy_id, sell_id, price, quantity, sequence in trades:
                row = (uuid.uuid4(), acme.pk, buy_id, sell_id, price, quantity, "sell")
                copy.write_row((*row, sequence, now, batch.pk))
        cursor.execute("ANALYZE")
    return batch_close(batch=batch, via="bench"), len(orders)


# --- Clearing -------------------------------------------------------------------------------


def clearing_floor(batch) -> float:
    from django.db import connection

    from trading.models import Instrument, Order, Trade

    # The trades' four legs summed per partner and asset, read back: nothing written.
    def leg(order_side, asset, amount):
        return (
            f"SELECT o.partner_id AS partner, i.{asset}_asset_id AS asset, {amount} AS amount"
            f" FROM {Trade._meta.db_table} t"
            f" JOIN {Order._meta.db_table} o ON o.id = t.{order_side}_order_id"
            f" JOIN {Instrument._meta.db_table} i ON i.id = t.instrument_id"
            " WHERE t.settlement_batch_id = %s"
        )

    legs = " UNION ALL ".join(
        [
            leg("buy", "base", "t.quantity"),
            leg("buy", "quote", "-t.price * t.quantity"),
            leg("sell", "base", "-t.quantity"),
            leg("sell", "quote", "t.price * t.quantity"),
        ]
    )
    select = f"SELECT partner, asset, SUM(amount) FROM ({legs}) legs GROUP BY partner, asset"
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(select, [batch.pk] * 4)
        rows = cursor.fetchall()
    assert rows
    return time.perf_counter() - started


def clearing_timed(batch) -> float:
    from settlement.services.clearing import batch_clear

    started = time.perf_counter()
    cleared = batch_clear(batch=batch, via="bench")
    seconds = time.perf_counter() - started
    assert cleared.state == "cleared", cleared.state
    return seconds


# --- Settlement -----------------------------------------------------------------------------


def ledger_batch_rate(partners, accounts, *, transfers: int = 20_000) -> float:
    from ledger.services import TransferRequest, transfer_batch_create

    rng = random.Random(7)
    requests = []
    for _ in range(transfers):
        a, b = rng.sample(range(len(partners)), 2)
        requests.append(
            TransferRequest(
                debit_account_id=accounts[(partners[a].pk, "USD")].pk,
                credit_account_id=accounts[(partners[b].pk, "USD")].pk,
                amount=1,
                asset="USD",
            )
        )
    started = time.perf_counter()
    for start in range(0, transfers, 100):
        transfer_batch_create(requests=requests[start : start + 100], atomic=True)
    return transfers / (time.perf_counter() - started)


def settlement_timed(batch) -> tuple[float, int, int]:
    from ledger.models import Transfer
    from ledger.selectors import transfers_in_batch
    from settlement.models import HoldRelease
    from settlement.services.posting import batch_settle

    releases = HoldRelease.objects.filter(batch=batch, amount__gt=0).count()
    before = Transfer.objects.count()
    started = time.perf_counter()
    settled = batch_settle(batch=batch, via="bench")
    seconds = time.perf_counter() - started
    assert settled.state == "settled", (settled.state, settled.failure)
    postings = transfers_in_batch(batch_id=batch.pk).count()
    return seconds, postings, releases, Transfer.objects.count() - before


# --- Reconciliation -------------------------------------------------------------------------


def reconciliation_setup(partners, accounts, lines: int, seed: int):
    """As many house bank deposits as lines, and the statement that explains most of them."""
    from ledger.services import TransferRequest, house_account, transfer_batch_create
    from settlement.reconciliation.parsers import ParsedLine, ParsedStatement

    rng = random.Random(seed)
    bank = house_account(code="settlement_bank", asset="USD")
    today = date.today()  # noqa: DTZ011 - the statement's day, as the bank writes it
    requests, statement_lines = [], []
    n = 0
    while len(statement_lines) < lines:
        kind = rng.random()
        ref = f"R{n}"
        n += 1
        amount = rng.randint(100, 10**6)
        partner = partners[rng.randrange(len(partners))]

        def deposit(value, ref=ref, partner=partner):
            requests.append(
                TransferRequest(
                    debit_account_id=bank.pk,
                    credit_account_id=accounts[(partner.pk, "USD")].pk,
                    amount=value,
                    asset="USD",
                    reference=ref,
                    code="deposit",
                )
            )

        if kind < 0.90:  # exact
            deposit(amount)
            statement_lines.append((amount, ref))
        elif kind < 0.95:  # the bank took a fee within tolerance
            deposit(amount)
            statement_lines.append((amount - 50, ref))
        elif kind < 0.97:  # 1:N
            deposit(amount)
            deposit(amount + 7)
            statement_lines.append((2 * amount + 7, ref))
        elif kind < 0.99:  # N:1
            deposit(2 * amount)
            statement_lines += [(amount, ref), (amount, ref)]
        else:  # at the bank only
            statement_lines.append((amount, f"X{ref}"))
    statement_lines = statement_lines[:lines]
    for start in range(0, len(requests), 1000):
        transfer_batch_create(requests=requests[start : start + 1000], atomic=True)
    total = sum(a for a, _ in statement_lines)
    parsed = ParsedStatement(
        format="csv",
        statement_ref="BENCH-1",
        currency="USD",
        opening=Decimal(0),
        closing=Decimal(total) / 100,
        opening_date=today,
        closing_date=today,
        lines=[
            ParsedLine(value_date=today, amount=Decimal(a) / 100, reference=r)
            for a, r in statement_lines
        ],
    )
    return parsed, len(requests)


def reconciliation_timed(parsed) -> tuple[float, dict, object]:
    """`statement_record`: the checks, the statement and its lines written, every pass, the
    breaks; what an import does after parsing the file."""
    from django.db.models import Count

    from settlement.models import StatementLine
    from settlement.reconciliation.statements import statement_record

    started = time.perf_counter()
    statement = statement_record(parsed=parsed, digest=uuid.uuid4().hex * 2)
    seconds = time.perf_counter() - started
    taken = dict(
        StatementLine.objects.filter(statement=statement, match__isnull=False)
        .values_list("match__kind")
        .annotate(Count("id"))
    )
    return seconds, taken, statement


def reconciliation_floor(statement) -> float:
    from django.db import connection

    from ledger.models import Transfer
    from settlement.models import StatementLine

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM {StatementLine._meta.db_table} l"
            f" JOIN {Transfer._meta.db_table} t ON t.reference = l.reference"
            " AND t.amount = l.amount AND t.debit_account_id = %s WHERE l.statement_id = %s",
            [statement.account_id, statement.pk],
        )
        cursor.fetchone()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trades", type=int, default=1_000_000)
    parser.add_argument("--partners", type=int, default=1_000)
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--profile", action="store_true", help="pyinstrument the settlement")
    parser.add_argument(
        "--database", default=DATABASE, help="the scratch database's name (dropped first)"
    )
    args = parser.parse_args()
    bench_url, maintenance_url = database_urls(args.database)
    started = step(f"scratch database {args.database}: drop, create, migrate")
    database_recreate(maintenance_url, args.database)
    os.environ.update(
        DATABASE_URL=bench_url,
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="false",
        SECRET_KEY=os.environ.get("SECRET_KEY") or "bench-only-secret-key-not-for-production",
        LOG_LEVEL=os.environ.get("LOG_LEVEL", "WARNING"),
    )
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    done(started)

    started = step(f"{args.partners:,} partners, funded")
    partners, accounts = partners_setup(args.partners)
    done(started)
    orders = args.partners * ORDERS_PER_SIDE * 2
    started = step(f"{args.trades:,} trades among {orders:,} held orders")
    batch, order_count = market_setup(partners, accounts, args.trades, args.seed)
    done(started)

    floor = min(clearing_floor(batch) for _ in range(2))
    clear_seconds = clearing_timed(batch)
    ledger_rate = ledger_batch_rate(partners, accounts)
    if args.profile:
        from pyinstrument import Profiler

        profiler = Profiler()
        profiler.start()
    settle_seconds, postings, releases, written = settlement_timed(batch)
    if args.profile:
        profiler.stop()
        print(profiler.output_text(unicode=False, color=False, show_all=False)[:12000])
    settle_rate = written / settle_seconds  # ledger transfers written, as the ledger's rate

    started = step(f"{args.lines:,} statement lines and their ledger transfers")
    parsed, transfers = reconciliation_setup(partners, accounts, args.lines, args.seed)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    done(started)
    matched, taken, statement = reconciliation_timed(parsed)
    recon_floor = reconciliation_floor(statement)

    print(f"\n{args.trades:,} trades, {args.partners:,} partners, {order_count:,} orders")
    print("(a shared two-core machine: other work runs beside this; figures vary)\n")

    def row(label, seconds=None, rate=None, unit="", note=""):
        shown = f"{seconds:>10.2f}" if seconds is not None else " " * 10
        rated = f"{rate:>12,.0f} {unit}" if rate is not None else ""
        print(f"{label:40}{shown}{rated}{note}")

    print(f"{'':40}{'seconds':>10}{'rate':>16}")
    row("clearing: batch_clear", clear_seconds, args.trades / clear_seconds, "t/s")
    row("  floor: bare aggregation", floor, args.trades / floor, "t/s")
    row(
        "settlement: batch_settle",
        settle_seconds,
        settle_rate,
        "tr/s",
        f"  ({written:,} transfers: {postings:,} postings, {releases:,} holds released)",
    )
    row("  ledger batch rate (100/batch)", None, ledger_rate, "tr/s")
    row("reconciliation: statement_record", matched, args.lines / matched, "l/s")
    row("  floor: bare join on reference+amount", recon_floor)
    print(
        f"\nmatched {statement.matched_count:,} of {statement.line_count:,} lines "
        f"({statement.auto_match_rate:.1%}) against {transfers:,} transfers: {taken}"
    )
    clear_ratio = clear_seconds / floor
    checks = [
        (
            f"clearing {clear_ratio:.2f}x the bare aggregation (<= {CLEARING_RATIO_TARGET}x)",
            clear_ratio <= CLEARING_RATIO_TARGET,
        ),
        (
            f"settlement {settle_rate:,.0f} transfers/s vs ledger batches {ledger_rate:,.0f}/s "
            f"(ratio {settle_rate / ledger_rate:.2f})",
            settle_rate >= ledger_rate,
        ),
        (
            f"reconciliation {matched:.2f} s for {args.lines:,} lines "
            f"({matched / recon_floor:.1f}x the bare join; <= {RECONCILE_TARGET_SECONDS} s)",
            matched <= RECONCILE_TARGET_SECONDS,
        ),
    ]
    print()
    for text, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}: {text}")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
