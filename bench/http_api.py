"""The partner API from outside: requests/s, p50 and p99 through the production stack
(gunicorn with the Procfile's settings, PostgreSQL, Redis, DEBUG off, JSON logs) under
`wrk` at 32 connections, beside the same requests served in one process and the ledger
service alone, so the plumbing around the money work has a figure of its own.

    make bench-http        # or: .venv/bin/python bench/http_api.py

It creates, migrates, seeds and finally drops its own database (clearhouse_httpbench on
the DATABASE_URL server), uses its own key prefix in REDIS_URL's database (removed at the
end), starts gunicorn on a free local port and stops it. A FAIL line is a figure below its
target, not a crash: the exit code is non-zero only when something broke. See
bench/README.md for how to read it; to add an endpoint, add one entry to ENDPOINTS.
"""

import argparse
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run as a script: the project's packages are importable

from bench.cpu_share import Groups, cpu_line  # noqa: E402
from bench.http_harness import (  # noqa: E402
    CONNECTIONS,
    THREADS,
    Server,
    free_port,
    in_process_figures,
    quiet_logs,
    wrk_run,
)
from bench.ledger_transfers import database_recreate, database_urls  # noqa: E402

BENCH_DATABASE = "clearhouse_httpbench"
DURATION, WARMUP = 10, 3
PLUMBING_TARGET_MS = 1.5  # issue 9: a request's server time minus its service's time


@dataclass
class Seed:
    """What the seeded database holds, and the token the load uses."""

    access: str
    user: object  # the partner user the token belongs to (alpha's)
    values: dict = field(default_factory=dict)  # placeholders of bodies: {alpha_usd}, ...

    def body(self, endpoint: "Endpoint", transfer_id: str) -> bytes:
        text = endpoint.body
        for key, value in self.values.items():
            text = text.replace("{" + key + "}", value)
        return text.replace("%ID%", transfer_id).encode()


@dataclass(frozen=True)
class Endpoint:
    """One row of the bench. `body` is JSON with %ID% where a fresh UUID goes per request;
    `service(seed)` does the endpoint's money work alone, in process (its time is the
    baseline the plumbing is measured against)."""

    name: str
    method: str
    path: str
    body: str | None = None
    authenticated: bool = True
    min_rate: float | None = None
    max_p99_ms: float | None = None
    service: Callable[[Seed], None] | None = None
    # (another endpoint's name, share): this one's rate must reach share x that one's.
    min_share_of: tuple[str, float] | None = None
    needs_matcher: bool = False  # the matcher process runs while it is measured


def _transfer_apply_alone(seed: Seed) -> None:
    """What the transfer POST asks of the ledger, called directly."""
    from ledger.services import TransferRequest, transfer_apply

    transfer_apply(
        request=TransferRequest(
            id=uuid.uuid4(),
            debit_account_id=uuid.UUID(seed.values["alpha_usd"]),
            credit_account_id=uuid.UUID(seed.values["beta_usd"]),
            amount=1,
            asset="USD",
        ),
        partner=seed.user.partner,
        acting_user=seed.user,
    )


def _order_place_alone(seed: Seed) -> None:
    """What the order POST asks of trading (validation, risk, the hold, the sequence)."""
    from trading.selectors import instrument_get
    from trading.services.orders import order_place

    order_place(
        partner=seed.user.partner,
        instrument=instrument_get(symbol=ORDER_SYMBOL),
        client_order_id=uuid.uuid4().hex,
        side="buy",
        type="limit",
        time_in_force="gtc",
        price=1000,
        quantity=1,
        acting_user=seed.user,
    )


ORDER_SYMBOL = "ACME/USD"
# A resting buy of one share at 10.00: accepted, held, sequenced; the matcher books it.
ORDER_BODY = (
    '{"client_order_id": "%ID%", "symbol": "ACME/USD", "side": "buy", "type": "limit",'
    ' "time_in_force": "gtc", "price": "10.00", "quantity": "1"}'
)

TRANSFER_BODY = (
    '{"id": "%ID%", "debit_account": "{alpha_usd}", "credit_account": "{beta_usd}",'
    ' "amount": "0.01", "asset": "USD"}'
)

ENDPOINTS = [
    Endpoint("healthz", "GET", "/healthz", authenticated=False),
    Endpoint("me", "GET", "/api/v1/me/", min_rate=1000),
    Endpoint(
        "transfer",
        "POST",
        "/api/v1/ledger/transfers/",
        body=TRANSFER_BODY,
        min_rate=500,
        max_p99_ms=60,
        service=_transfer_apply_alone,
    ),
    Endpoint(  # issue 10: order entry at 32 connections, risk on, a matcher process running
        "order",
        "POST",
        "/api/v1/trading/orders/",
        body=ORDER_BODY,
        min_rate=400,
        max_p99_ms=80,
        service=_order_place_alone,
        min_share_of=("transfer", 0.7),
        needs_matcher=True,
    ),
]


# --- Environment and seed -------------------------------------------------------------------


def _stack_environment(bench_url: str, redis_url: str, key_prefix: str) -> dict[str, str]:
    return {
        "DATABASE_URL": bench_url,
        "REDIS_URL": redis_url,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "CACHE_KEY_PREFIX": key_prefix,
        "THROTTLE_PARTNER": "100000000/min",  # out of the way: the bench measures the path
        "JWT_ACCESS_SECONDS": "3600",  # outlives the run
    }


def _seed() -> Seed:
    """Two partners with a user and a USD account each; alpha funded from the house."""
    from django.db import transaction

    from core.models import User
    from core.services import partner_create, partner_user_create, session_login
    from ledger.services import (
        TransferRequest,
        account_open,
        house_accounts_ensure,
        transfer_create,
    )

    accounts = {}
    with transaction.atomic():
        bank = house_accounts_ensure(asset="USD")["settlement_bank"]
        for slug, name in (("alpha", "Alpha Capital"), ("beta", "Beta Payments")):
            partner = partner_create(slug=slug, name=name)
            partner_user_create(
                partner=partner, username=f"{slug}-api", password=secrets.token_urlsafe(16)
            )
            accounts[slug] = account_open(partner=partner, asset="USD")
    transfer_create(
        request=TransferRequest(
            debit_account_id=bank.pk,
            credit_account_id=accounts["alpha"].pk,
            amount=10**15,
            asset="USD",
            code="deposit",
        )
    )
    _instrument_seed()
    alpha_user = User.objects.select_related("partner").get(username="alpha-api")
    access, _refresh = session_login(user=alpha_user)
    return Seed(
        access=str(access),
        user=alpha_user,
        values={"alpha_usd": str(accounts["alpha"].pk), "beta_usd": str(accounts["beta"].pk)},
    )


def _instrument_seed() -> None:
    """ACME/USD (tick 0.01, lot 1); alpha's USD pays for the orders' holds."""
    from trading.demo import demo_instrument_ensure

    demo_instrument_ensure()


class Matcher:
    """`manage.py run_matcher` (the Procfile's matcher line) on the bench database, so order
    entry runs as in production: the web process holds and sequences, the matcher books."""

    def __init__(self, environment: dict[str, str], log_path: Path):
        env = {**os.environ, **environment}
        self.log = log_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "run_matcher"],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def wait_beating(self, timeout: float = 60) -> None:
        from trading.models import MatcherState

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"run_matcher exited with {self.process.returncode}")
            if MatcherState.objects.filter(heartbeat_at__isnull=False).exists():
                return
            time.sleep(0.3)
        raise RuntimeError("run_matcher did not beat in time")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


# --- Report ---------------------------------------------------------------------------------


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report(endpoints, local: dict, remote: dict) -> None:
    print(
        "\nIn one process (direct WSGI calls, same PostgreSQL and Redis), per request:"
        " wall ms (this process's CPU ms)"
    )
    for e in endpoints:
        wall, cpu = local[e.name]
        line = f"  {e.name:<10}{wall:>7.2f} ms ({cpu:.2f})"
        if e.service:
            service, service_cpu = local[f"service:{e.name}"]
            plumbing = wall - service
            line += (
                f"   service alone {service:.2f} ms ({service_cpu:.2f}) ="
                f" {1000 / service:,.0f}/s   plumbing {plumbing:.2f} ms"
                f" ({cpu - service_cpu:.2f})  target <= {PLUMBING_TARGET_MS} ms"
                f"  {_verdict(plumbing <= PLUMBING_TARGET_MS)}"
            )
        print(line)
    if not remote:
        return
    healthz = remote.get("healthz", {}).get("rate")
    print(
        f"\nOver HTTP (gunicorn as in the Procfile; wrk -t{THREADS} -c{CONNECTIONS} "
        f"-d{DURATION}s after a {WARMUP} s warm-up):"
    )
    header = (
        f"  {'endpoint':<10}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'/healthz':>10}"
        f"{'/service':>10}  {'target':<26}result"
    )
    print(header)
    print("  " + "-" * (len(header) - 2))
    for e in endpoints:
        f = remote[e.name]
        vs_health = f"{f['rate'] / healthz:.2f}" if healthz else "-"
        vs_service = "-"
        if e.service:
            vs_service = f"{f['rate'] / (1000 / local[f'service:{e.name}'][0]):.2f}"
        targets, ok = [], True
        if e.min_rate is not None:
            targets.append(f">= {e.min_rate:,.0f}/s")
            ok &= f["rate"] >= e.min_rate
        if e.max_p99_ms is not None:
            targets.append(f"p99 <= {e.max_p99_ms:.0f} ms")
            ok &= f["p99_us"] / 1000 <= e.max_p99_ms
        if e.min_share_of is not None and e.min_share_of[0] in remote:
            other, share = e.min_share_of
            targets.append(f">= {share} x {other}")
            ok &= f["rate"] >= share * remote[other]["rate"]
        if f["errors"] or f["non_2xx"]:
            targets.append(f"{f['errors']} errors, {f['non_2xx']} non-2xx")
            ok = False
        result = _verdict(ok) if targets else ""
        print(
            f"  {e.name:<10}{f['rate']:>9,.0f}{f['p50_us'] / 1000:>9.1f}{f['p99_us'] / 1000:>9.1f}"
            f"{vs_health:>10}{vs_service:>10}  {', '.join(targets):<26}{result}"
        )
    print("\nWhere the machine's CPU went during each run (Redis and 'postgres other' are shared):")
    for e in endpoints:
        if "cpu" in remote[e.name]:
            print(f"  {e.name:<10}{cpu_line(remote[e.name]['cpu'])}")


# --- Main ---------------------------------------------------------------------------------


def _arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default=BENCH_DATABASE, help="throwaway database name")
    parser.add_argument("--port", type=int, default=0, help="gunicorn's port (default: free)")
    parser.add_argument("--rounds", type=int, default=5, help="in-process rounds (median)")
    parser.add_argument("--seconds", type=float, default=0.6, help="per in-process round")
    parser.add_argument("--in-process-only", action="store_true", help="skip gunicorn and wrk")
    parser.add_argument("--profile", type=Path, help="write pyinstrument profiles here")
    parser.add_argument("--keep", action="store_true", help="leave the database in place")
    parser.add_argument(
        "--only", help="comma-separated endpoint names, e.g. healthz,me (default: all)"
    )
    return parser.parse_args()


def main() -> int:
    args = _arguments()
    endpoints = ENDPOINTS
    if args.only:
        endpoints = [e for e in ENDPOINTS if e.name in args.only.split(",")]
    if not args.in_process_only and shutil.which("wrk") is None:
        print(
            "bench/http_api.py drives the server with wrk, which is not installed:\n"
            "  apt-get install -y wrk   (Debian's package)\n"
            "or run only the in-process figures with --in-process-only."
        )
        return 2
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    bench_url, maintenance_url = database_urls(args.database)
    key_prefix = f"httpbench-{os.getpid()}"
    environment = _stack_environment(bench_url, redis_url, key_prefix)
    began = time.monotonic()

    def say(text, end="\n"):
        print(f"[{time.monotonic() - began:6.1f}s] {text}", end=end, flush=True)

    server, matcher, workdir = None, None, Path(tempfile.mkdtemp(prefix="httpbench-"))
    try:
        say(f"database {args.database}: create, migrate, seed ...", end=" ")
        database_recreate(maintenance_url, args.database)
        os.environ.update(environment)
        import django

        django.setup()
        quiet_logs()
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0, interactive=False)
        seed = _seed()
        print("done", flush=True)
        if any(e.needs_matcher for e in endpoints):
            say("run_matcher ...", end=" ")
            matcher = Matcher(environment, workdir / "matcher.log")
            matcher.wait_beating()
            print("beating", flush=True)

        say(f"in process: {args.rounds} interleaved rounds of {args.seconds} s each ...")
        local = in_process_figures(
            endpoints, seed, rounds=args.rounds, seconds=args.seconds, profile_dir=args.profile
        )
        connection.close()

        remote = {}
        if not args.in_process_only:
            port = args.port or free_port()
            server = Server(environment, port, workdir / "gunicorn.log")
            say(f"gunicorn: {server.command} (PORT={port}) ...", end=" ")
            server.wait_ready()
            print("up", flush=True)
            groups = Groups(
                server_session=server.process.pid,
                database=args.database,
                extra={"matcher": matcher.process.pid} if matcher else {},
            )
            for e in endpoints:
                say(f"wrk {e.method} {e.path}: {WARMUP} s warm-up, {DURATION} s ...", end=" ")
                wrk_run(e, seed, server.url, workdir, WARMUP)
                remote[e.name] = figures = wrk_run(
                    e, seed, server.url, workdir, DURATION, groups=groups
                )
                print(f"{figures['rate']:,.0f}/s", flush=True)
        report(endpoints, local, remote)
        say("finished")
        return 0
    except Exception:
        if server is not None:
            print(f"\n--- last lines of the server's log ({workdir / 'gunicorn.log'}) ---")
            lines = (workdir / "gunicorn.log").read_text(errors="replace").splitlines()
            print("\n".join(lines[-30:]))
        raise
    finally:
        if server is not None:
            server.stop()
        if matcher is not None:
            matcher.stop()
        _cleanup(args, maintenance_url, redis_url, key_prefix)
        shutil.rmtree(workdir, ignore_errors=True)


def _cleanup(args, maintenance_url: str, redis_url: str, key_prefix: str) -> None:
    try:
        from django.db import connections

        connections.close_all()
    except Exception:
        pass
    if not args.keep:
        import psycopg
        from psycopg import sql

        with psycopg.connect(maintenance_url, autocommit=True) as conn:
            name = sql.Identifier(args.database)
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
    import redis

    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{key_prefix}:*", count=1000))
    for start in range(0, len(keys), 1000):
        client.delete(*keys[start : start + 1000])
    client.close()


if __name__ == "__main__":
    sys.exit(main())
