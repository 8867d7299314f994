"""Ledger throughput on PostgreSQL: transfers/s through the service layer, beside the same
work written by hand as SQL through psycopg (the floor), and the ratio of the two.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/clearhouse .venv/bin/python \
        bench/ledger_transfers.py            # or: make bench

It drops and recreates its own scratch database (clearhouse_bench on the DATABASE_URL
server), migrates it, opens 1,000 partner accounts in USD (debits must not exceed credits),
funds them from the house bank, then times each scenario with 1 and 2 processes. See
bench/README.md for how to read the table.
"""

import argparse
import functools
import multiprocessing as mp
import os
import random
import sys
import time
import traceback
import uuid
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run as a script: the project's packages are importable

BENCH_DATABASE = "clearhouse_bench"
ASSET = "USD"
FUNDING = 10**12  # minor units per account: no transfer of the run can run out of money
SINGLE_RATIO_TARGET = 0.7  # issue 3: single transfers through the services >= 0.7 x raw SQL
BATCH_RATE_TARGET = 5_000  # issue 3: 100-transfer batches >= 5,000 transfers/s
RAW_REFERENCE, HORDAK_REFERENCE = 850, 590  # issue 3's figures for this 2-core machine
POSTGRES_SCHEMES = ("postgres", "postgresql", "pgsql", "postgis")


# --- Database set-up ----------------------------------------------------------------------


def database_urls(database: str) -> tuple[str, str]:
    """(scratch database URL, maintenance database URL) on the DATABASE_URL server; exits
    with a clear message when DATABASE_URL is not PostgreSQL."""
    import environ

    environ.Env.read_env(ROOT / ".env", overwrite=False)  # as config.settings does
    url = os.environ.get("DATABASE_URL", "")
    scheme = urlsplit(url).scheme.split("+")[0] if url else ""
    if scheme not in POSTGRES_SCHEMES:
        where = f"DATABASE_URL is {scheme}:" if url else "DATABASE_URL is not set (SQLite)"
        sys.exit(
            f"bench/ledger_transfers.py needs PostgreSQL, and {where}.\n"
            "SQLite serialises every writer, so these figures would mean nothing. Run e.g.\n"
            "  DATABASE_URL=postgres://postgres@127.0.0.1:5432/clearhouse "
            ".venv/bin/python bench/ledger_transfers.py\n"
            f"(it works in its own scratch database, {database}, on that server)."
        )
    parts = urlsplit(url)
    libpq = parts._replace(scheme="postgresql")
    return (
        urlunsplit(parts._replace(path=f"/{database}")),
        urlunsplit(libpq._replace(path="/postgres")),
    )


def _libpq_url(django_url: str) -> str:
    return urlunsplit(urlsplit(django_url)._replace(scheme="postgresql"))


def _bench_environment(bench_url: str) -> dict[str, str]:
    return {
        "DATABASE_URL": bench_url,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "false",  # DEBUG keeps every query in memory: not what production runs
        "SECRET_KEY": os.environ.get("SECRET_KEY") or "bench-only-secret-key-not-for-production",
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
    }


def database_recreate(maintenance_url: str, database: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(maintenance_url, autocommit=True) as conn:
        name = sql.Identifier(database)
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(name))


def _django_setup(environment: dict[str, str]) -> None:
    os.environ.update(environment)
    import django

    django.setup()


def _accounts_create(count: int) -> list[uuid.UUID]:
    """`count` partner accounts in USD, each funded from the house bank (one batch)."""
    from django.db import transaction

    from core.services import partner_create
    from ledger.services import (
        TransferRequest,
        account_open,
        house_accounts_ensure,
        transfer_batch_create,
    )

    with transaction.atomic():
        house = house_accounts_ensure(asset=ASSET)
        accounts = [
            account_open(
                partner=partner_create(slug=f"bench-{i:04d}", name=f"Bench partner {i}"),
                asset=ASSET,
                debits_must_not_exceed_credits=True,
            ).pk
            for i in range(count)
        ]
    # Deposits: the bank is an asset account (debit-normal, no limit), the partners' are
    # liabilities.
    for start in range(0, count, 1000):
        transfer_batch_create(
            requests=[
                TransferRequest(
                    id=uuid.uuid4(),
                    debit_account_id=house["settlement_bank"].pk,
                    credit_account_id=account,
                    amount=FUNDING,
                    asset=ASSET,
                    code="deposit",
                )
                for account in accounts[start : start + 1000]
            ],
            atomic=True,
        )
    return sorted(accounts)


# --- The work -----------------------------------------------------------------------------


def _work(task: dict) -> list[list[tuple]]:
    """The transfers of one process, as transactions: lists of (id, debit, credit, amount)."""
    rng = random.Random(task["seed"])
    accounts = task["accounts"]
    hot, others = accounts[0], accounts[1:]
    size = task["batch_size"]
    total = (task["warmup"] + task["count"]) * size

    def pair():
        if task["pattern"] == "hot":
            return hot, rng.choice(others)
        return tuple(rng.sample(accounts, 2))

    flat = [(uuid.uuid4(), *pair(), rng.randint(1, 10_000)) for _ in range(total)]
    return [flat[i : i + size] for i in range(0, total, size)]


def _service_runner(batch_size: int):
    from ledger.errors import LedgerError
    from ledger.services import TransferRequest, transfer_batch_create, transfer_create

    def request(item):
        transfer_id, debit, credit, amount = item
        return TransferRequest(
            id=transfer_id,
            debit_account_id=debit,
            credit_account_id=credit,
            amount=amount,
            asset=ASSET,
            code="bench",
        )

    def run(transaction_items) -> int:
        try:
            if batch_size == 1:
                transfer_create(request=request(transaction_items[0]))
            else:
                transfer_batch_create(
                    requests=[request(item) for item in transaction_items], atomic=True
                )
        except LedgerError:
            return len(transaction_items)
        return 0

    return run, lambda: None


class RawLedger:
    """The same transaction, written by hand: lock the accounts in id order, check the rules
    in Python, insert the transfers and entries, update the accounts, commit. One statement
    each; a batch passes one array per column (UNNEST) rather than thousands of VALUES
    placeholders, which psycopg would re-parse in Python on every call."""

    LOCK = (
        "SELECT id, asset_id, status, partner_id, debits_must_not_exceed_credits,"
        " credits_must_not_exceed_debits, debits_pending, debits_posted, credits_pending,"
        " credits_posted, chain_head FROM ledger_account WHERE id = ANY(%s) ORDER BY id"
        " FOR UPDATE"
    )
    TRANSFER = (
        ("id", "uuid"), ("kind", "varchar"), ("status", "varchar"),
        ("debit_account_id", "uuid"), ("credit_account_id", "uuid"), ("asset_id", "varchar"),
        ("amount", "bigint"), ("code", "varchar"), ("reference", "varchar"),
        ("metadata", "jsonb"), ("pending_id", "uuid"), ("reverses_id", "uuid"),
        ("batch_id", "uuid"), ("expires_at", "timestamptz"), ("created_at", "timestamptz"),
        ("created_by_id", "bigint"), ("digest", "varchar"), ("origin", "varchar"),
        ("origin_ref", "varchar"),
    )  # fmt: skip
    ENTRY = (
        ("account_id", "uuid"), ("transfer_id", "uuid"), ("side", "varchar"),
        ("created_at", "timestamptz"), ("debits_pending", "bigint"),
        ("debits_posted", "bigint"), ("credits_pending", "bigint"),
        ("credits_posted", "bigint"), ("hash", "varchar"),
    )  # fmt: skip
    TOTALS = (
        ("id", "uuid"), ("debits_pending", "bigint"), ("debits_posted", "bigint"),
        ("credits_pending", "bigint"), ("credits_posted", "bigint"), ("chain_head", "varchar"),
    )  # fmt: skip

    def __init__(self, url: str):
        import psycopg
        from psycopg.types.json import Jsonb

        from ledger.chain import entry_hash, transfer_digest

        self.conn = psycopg.connect(url)
        self.empty_metadata = Jsonb({})
        self.entry_hash, self.transfer_digest = entry_hash, transfer_digest

    @functools.cache  # noqa: B019 - a handful of shapes, one RawLedger per process
    def _sql(self, table: str, rows: int | None) -> str:
        """INSERT into `table` (or UPDATE the accounts) with `rows` VALUES rows, or from one
        array per column if rows is None."""
        columns = {"ledger_transfer": self.TRANSFER, "ledger_entry": self.ENTRY}.get(
            table, self.TOTALS
        )
        if rows is None:
            source = "unnest(" + ", ".join(f"%s::{kind}[]" for _, kind in columns) + ")"
        else:
            row = "(" + ", ".join(f"%s::{kind}" for _, kind in columns) + ")"
            source = "(VALUES " + ", ".join([row] * rows) + ")"
        names = ", ".join(name for name, _ in columns)
        if table != "ledger_account":
            return f"INSERT INTO {table} ({names}) SELECT * FROM {source} AS v ({names})"
        sets = ", ".join(f"{name} = v.{name}" for name, _ in columns[1:])
        return f"UPDATE {table} AS a SET {sets} FROM {source} AS v ({names}) WHERE a.id = v.id"

    def _execute(self, cur, table: str, rows: list[tuple], single: bool) -> None:
        if single:  # one transfer: plain VALUES
            cur.execute(self._sql(table, len(rows)), [value for row in rows for value in row])
        else:
            cur.execute(self._sql(table, None), [list(col) for col in zip(*rows, strict=True)])

    def run(self, transaction_items) -> int:
        ids = sorted({item[1] for item in transaction_items} | {i[2] for i in transaction_items})
        batch_id = uuid.uuid4() if len(transaction_items) > 1 else None
        with self.conn.cursor() as cur:
            cur.execute(self.LOCK, (ids,))
            accounts = {row[0]: list(row) for row in cur.fetchall()}
            now = datetime.now(UTC)
            transfer_rows, entry_rows, touched = [], [], {}
            for transfer_id, debit_id, credit_id, amount in transaction_items:
                debit, credit = accounts.get(debit_id), accounts.get(credit_id)
                if (
                    debit is None
                    or credit is None
                    or debit_id == credit_id
                    or debit[1] != ASSET
                    or credit[1] != ASSET
                    or debit[2] != "open"
                    or credit[2] != "open"
                ):
                    self.conn.rollback()
                    return len(transaction_items)
                debit[7] += amount
                credit[9] += amount
                if not (_within_limits(debit) and _within_limits(credit)):
                    self.conn.rollback()
                    return len(transaction_items)
                transfer = SimpleNamespace(
                    id=transfer_id,
                    kind="single_phase",
                    debit_account_id=debit_id,
                    credit_account_id=credit_id,
                    asset_id=ASSET,
                    amount=amount,
                    code="bench",
                    reference="",
                    metadata={},
                    pending_id=None,
                    reverses_id=None,
                    batch_id=batch_id,
                    expires_at=None,
                    created_at=now,
                    created_by_id=None,
                    origin="system",
                    origin_ref="",
                    replaces_id=None,
                )
                digest = self.transfer_digest(transfer)
                transfer_rows.append((
                    transfer_id, "single_phase", "posted", debit_id, credit_id, ASSET,
                    amount, "bench", "", self.empty_metadata, None, None, batch_id, None,
                    now, None, digest, "system", "",
                ))  # fmt: skip
                for account, side in ((debit, "D"), (credit, "C")):
                    totals = (account[6], account[7], account[8], account[9])
                    account[10] = self.entry_hash(
                        previous=account[10], transfer_digest=digest, side=side, totals=totals
                    )
                    entry_rows.append((account[0], transfer_id, side, now, *totals, account[10]))
                    touched[account[0]] = account
            single = len(transaction_items) == 1
            self._execute(cur, "ledger_transfer", transfer_rows, single)
            self._execute(cur, "ledger_entry", entry_rows, single)
            totals = [(a[0], *a[6:11]) for a in touched.values()]
            self._execute(cur, "ledger_account", totals, single)
        self.conn.commit()
        return 0

    def close(self):
        self.conn.close()


def _within_limits(account: list) -> bool:
    _, _, _, _, debits_limited, credits_limited, dp, dd, cp, cc, _ = account
    return not (debits_limited and dp + dd > cc) and not (credits_limited and cp + cc > dd)


# --- Worker processes ---------------------------------------------------------------------


def _worker_main(environment, raw_url, tasks, results, barrier):
    _django_setup(environment)
    while (task := tasks.get()) is not None:
        try:
            results.put(("ok", _task_run(task, raw_url, barrier)))
        except BaseException:
            barrier.abort()  # the other process must not wait for us forever
            results.put(("error", traceback.format_exc()))


def _task_run(task: dict, raw_url: str, barrier) -> dict:
    work = _work(task)
    if task["impl"] == "service":
        run, close = _service_runner(task["batch_size"])
    else:
        raw = RawLedger(raw_url)
        run, close = raw.run, raw.close
    warmup, timed = work[: task["warmup"]], work[task["warmup"] :]
    for transaction_items in warmup:
        run(transaction_items)
    if task["synchronised"]:
        barrier.wait(timeout=300)
    failed = 0
    started = time.monotonic()
    for transaction_items in timed:
        failed += run(transaction_items)
    finished = time.monotonic()
    close()
    return {
        "transfers": sum(len(t) for t in timed),
        "failed": failed,
        "started": started,
        "finished": finished,
    }


class Workers:
    """Long-lived worker processes (spawned: each its own interpreter and connection)."""

    def __init__(self, count: int, environment: dict, raw_url: str):
        context = mp.get_context("spawn")
        self.results = context.Queue()
        self.barrier = context.Barrier(count) if count > 1 else None
        self.queues = [context.Queue() for _ in range(count)]
        self.processes = [
            context.Process(
                target=_worker_main,
                args=(environment, raw_url, queue, self.results, self.barrier),
                daemon=True,
            )
            for queue in self.queues
        ]
        for process in self.processes:
            process.start()

    def run(self, task: dict, processes: int) -> dict:
        if self.barrier is not None:
            self.barrier.reset()
        for index in range(processes):
            self.queues[index].put(
                {**task, "seed": task["seed"] * 100 + index, "synchronised": processes > 1}
            )
        outcomes = [self.results.get(timeout=900) for _ in range(processes)]
        errors = [text for status, text in outcomes if status == "error"]
        if errors:
            raise RuntimeError("a worker failed:\n" + "\n".join(errors))
        stats = [stat for _, stat in outcomes]
        transfers = sum(s["transfers"] for s in stats)
        elapsed = max(s["finished"] for s in stats) - min(s["started"] for s in stats)
        return {
            "rate": transfers / elapsed,
            "transfers": transfers,
            "failed": sum(s["failed"] for s in stats),
            "elapsed": elapsed,
        }

    def stop(self):
        for queue in self.queues:
            queue.put(None)
        for process in self.processes:
            process.join(timeout=30)


# --- Integrity after the run --------------------------------------------------------------


def _integrity_check(sample: int = 10) -> list[str]:
    """Both writers must have left a ledger that balances and whose rows verify: totals
    equal the sums of transfers; the entries of the hot account and of a sample of others
    chain; a sample of transfers' digests recompute."""
    from django.db import connection

    from ledger.chain import entry_hash, transfer_digest
    from ledger.models import Account, Entry, Transfer
    from ledger.posting import TOTALS

    problems = []
    with connection.cursor() as cur:
        cur.execute(
            "SELECT sum(debits_posted) - sum(credits_posted), sum(debits_pending)"
            " - sum(credits_pending) FROM ledger_account"
        )
        if cur.fetchone() != (0, 0):
            problems.append("total debits != total credits")
        cur.execute(
            "SELECT count(*) FROM ledger_account a LEFT JOIN ("
            " SELECT debit_account_id AS id, sum(amount) AS d, 0 AS c FROM ledger_transfer"
            " GROUP BY 1 UNION ALL SELECT credit_account_id, 0, sum(amount) FROM"
            " ledger_transfer GROUP BY 1) t ON t.id = a.id GROUP BY a.id, a.debits_posted,"
            " a.credits_posted HAVING a.debits_posted != coalesce(sum(t.d), 0)"
            " OR a.credits_posted != coalesce(sum(t.c), 0)"
        )
        if cur.fetchall():
            problems.append("an account's totals differ from the sum of its transfers")
        cur.execute(
            "SELECT (SELECT count(*) FROM ledger_entry) - 2 * (SELECT count(*) FROM"
            " ledger_transfer)"
        )
        if cur.fetchone()[0] != 0:
            problems.append("entries != 2 x transfers")
    rng = random.Random(7)
    accounts = list(Account.objects.order_by("pk"))
    hot = min((a for a in accounts if a.partner_id), key=lambda a: a.pk)  # accounts[0] of _work
    for account in {hot, *rng.sample(accounts, min(sample, len(accounts)))}:
        head, columns = "", ("pk", "side", *TOTALS, "hash", "transfer__digest")
        entries = Entry.objects.filter(account=account).order_by("id").values_list(*columns)
        for pk, side, *totals, stored, digest in entries.iterator(chunk_size=5000):
            head = entry_hash(previous=head, transfer_digest=digest, side=side, totals=totals)
            if head != stored:
                problems.append(f"account {account.pk}: chain broken at entry {pk}")
                break
        if head != account.chain_head:
            problems.append(f"account {account.pk}: chain_head is not its last entry's hash")
    for transfer in Transfer.objects.filter(code="bench").order_by("?")[:200]:
        if transfer_digest(transfer) != transfer.digest:
            problems.append(f"transfer {transfer.pk}: digest does not recompute")
    if Transfer.objects.filter(code="bench").count() == 0:
        problems.append("no transfer was written")
    return problems


# --- Main ---------------------------------------------------------------------------------


def _arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument(
        "--singles", type=int, default=3000, help="single transfers per process (timed)"
    )
    parser.add_argument(
        "--batched", type=int, default=20_000, help="transfers in batches per process (timed)"
    )
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--processes", default="1,2", help="comma-separated, e.g. 1,2")
    parser.add_argument("--only", choices=["single", "batch"], help="run one kind only")
    parser.add_argument("--database", default=BENCH_DATABASE, help="scratch database name")
    parser.add_argument("--quick", action="store_true", help="a tenth of the work: smoke test")
    parser.add_argument("--strict", action="store_true", help="exit 1 if a target fails")
    return parser.parse_args()


def main() -> int:
    args = _arguments()
    bench_url, maintenance_url = database_urls(args.database)
    if args.quick:
        args.singles, args.batched = args.singles // 10, args.batched // 10
    process_counts = sorted({int(p) for p in args.processes.split(",")})
    began = time.monotonic()

    def say(text, end="\n"):
        print(f"[{time.monotonic() - began:6.1f}s] {text}", end=end, flush=True)

    say(f"scratch database {args.database}: drop, create, migrate ...", end=" ")
    database_recreate(maintenance_url, args.database)
    environment = _bench_environment(bench_url)
    _django_setup(environment)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0, interactive=False)
    print("done", flush=True)
    say(f"{args.accounts} partner accounts in {ASSET}, funded from the house bank ...", end=" ")
    accounts = _accounts_create(args.accounts)
    connection.close()
    print("done", flush=True)

    scenarios = []
    for kind in ("single", "batch") if args.only is None else (args.only,):
        size = 1 if kind == "single" else args.batch_size
        per_process = args.singles if kind == "single" else args.batched
        for pattern in ("uniform", "hot"):
            for processes in process_counts:
                scenarios.append((kind, size, per_process, pattern, processes))

    workers = Workers(max(process_counts), environment, _libpq_url(bench_url))
    rows, step, steps = [], 0, 2 * len(scenarios)
    try:
        for number, (kind, size, per_process, pattern, processes) in enumerate(scenarios):
            label = f"{kind} {pattern}" if size == 1 else f"batch{size} {pattern}"
            measured = {}
            for impl in ("service", "raw"):
                step += 1
                say(f"({step:2}/{steps}) {label:<16} x{processes} {impl:<7}", end=" ")
                task = {
                    "impl": impl,
                    "pattern": pattern,
                    "batch_size": size,
                    "count": per_process // size,
                    "warmup": max(2, 200 // size),
                    "seed": number,
                    "accounts": accounts,
                }
                measured[impl] = result = workers.run(task, processes)
                failed = f", {result['failed']} FAILED" if result["failed"] else ""
                print(
                    f"{result['transfers']:>6} transfers in {result['elapsed']:5.2f}s ="
                    f" {result['rate']:8,.0f}/s{failed}",
                    flush=True,
                )
            rows.append((label, kind, processes, measured["service"], measured["raw"]))
    finally:
        workers.stop()

    say("integrity of the bench ledger (balances, totals, chains, digests) ...", end=" ")
    problems = _integrity_check()
    print("ok" if not problems else "PROBLEMS", flush=True)
    for problem in problems[:20]:
        print(f"  - {problem}")

    failures = _table(rows, f"services with the project's settings ({_binding()})")
    say(f"finished ({args.database} is left in place for inspection)")
    if problems or any(r[3]["failed"] or r[4]["failed"] for r in rows):
        return 2
    return 1 if (failures and args.strict) else 0


def _binding() -> str:
    from django.conf import settings

    options = settings.DATABASES["default"].get("OPTIONS", {})
    if options.get("server_side_binding"):
        return f"server-side binding, prepared after {options.get('prepare_threshold')} runs"
    return "client-side binding, no prepared statements"


def _table(rows, mode: str) -> int:
    print(f"\n{mode}; raw SQL: psycopg defaults (server-side binding, prepared after 5 runs)")
    header = (
        f"{'scenario':<17}{'procs':>5}{'service/s':>11}{'raw SQL/s':>11}{'svc/raw':>9}"
        f"  {'target':<22}result"
    )
    print(header)
    print("-" * len(header))
    failures = 0
    for label, kind, processes, service, raw in rows:
        ratio = service["rate"] / raw["rate"]
        if kind == "single":
            target = f">= {SINGLE_RATIO_TARGET:.1f} x raw"
            ok = ratio >= SINGLE_RATIO_TARGET
        else:
            target = f">= {BATCH_RATE_TARGET:,}/s (service)"
            ok = service["rate"] >= BATCH_RATE_TARGET
        failures += not ok
        print(
            f"{label:<17}{processes:>5}{service['rate']:>11,.0f}{raw['rate']:>11,.0f}"
            f"{ratio:>9.2f}  {target:<22}{'PASS' if ok else 'FAIL'}"
        )
    print(
        f"\nTargets (issue 3): single-transfer transactions through the services >= "
        f"{SINGLE_RATIO_TARGET} x the hand-written SQL\n(raw SQL measured ~{RAW_REFERENCE}/s "
        f"in one process on this 2-core machine; django-hordak ~{HORDAK_REFERENCE}/s for "
        f"reference);\n100-transfer batches through the services >= {BATCH_RATE_TARGET:,} "
        "transfers/s. Rates are aggregate over all processes."
    )
    return failures


if __name__ == "__main__":
    sys.exit(main())
