"""Over random operations (deposits, transfers both ways, holds both ways, full and partial
posts, voids, expiries), any window's statement adds up: its lines' posted_delta sum to
closing minus opening posted balance, its held_delta to closing minus opening held, each
line's balances follow from the one before, and the closing balance of an open window is
the account's own. Checked through the API, as JSON pages and as the CSV download."""

import csv
import io
import itertools
import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import ApplicationError
from ledger.models import Transfer
from ledger.services import (
    TransferRequest,
    account_open,
    house_accounts_ensure,
    pending_transfer_post,
    pending_transfer_void,
    pending_transfers_expire,
    transfer_create,
)

ACCOUNTS = "/api/v1/ledger/accounts/"
UNDER_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
START = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
_codes = itertools.count()

operation = st.one_of(
    st.tuples(st.just("deposit"), st.integers(1, 50_000)),
    st.tuples(st.just("pay_out"), st.integers(1, 20_000)),
    st.tuples(st.just("receive"), st.integers(1, 20_000)),
    st.tuples(st.just("hold_out"), st.integers(1, 20_000), st.sampled_from([None, 5, 60])),
    st.tuples(st.just("hold_in"), st.integers(1, 20_000), st.sampled_from([None, 5, 60])),
    st.tuples(st.just("post"), st.integers(0, 99), st.integers(1, 100)),  # hold, percent
    st.tuples(st.just("void"), st.integers(0, 99)),
    st.tuples(st.just("expire")),
)
# Seconds between operations: 0 puts two at one instant (a window edge may split them).
step = st.sampled_from([0, 1, 1, 7, 3600])


def _window_bound(times, pick):
    """A window edge: none, an operation's instant (edges are where off-by-ones live), or
    an instant between two."""
    kind, index = pick
    if kind == "none" or not times:
        return None
    moment = times[index % len(times)]
    return moment + timedelta(microseconds=500_000) if kind == "between" else moment


bound = st.tuples(st.sampled_from(["none", "at", "between"]), st.integers(0, 200))


def _iso(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _run(operations, steps, accounts):
    account, counterpart, bank = accounts
    now = [START]
    times, holds = [], []

    def move(debit, credit, amount, **kw):
        return transfer_create(
            request=TransferRequest(
                debit_account_id=debit.pk,
                credit_account_id=credit.pk,
                amount=amount,
                asset="USD",
                **kw,
            )
        )

    with mock.patch("django.utils.timezone.now", lambda: now[0]):
        for op, gap in zip(operations, itertools.cycle(steps), strict=False):
            now[0] += timedelta(seconds=gap)
            times.append(now[0])
            name, *args = op
            try:
                if name == "deposit":
                    move(bank, account, args[0], code="deposit")
                elif name == "pay_out":
                    move(account, counterpart, args[0])
                elif name == "receive":
                    move(bank, counterpart, args[0])
                    move(counterpart, account, args[0])
                elif name in ("hold_out", "hold_in"):
                    debit, credit = (
                        (account, counterpart) if name == "hold_out" else (counterpart, account)
                    )
                    if name == "hold_in":
                        move(bank, counterpart, args[0])
                    holds.append(
                        move(debit, credit, args[0], pending=True, timeout_seconds=args[1])
                    )
                elif name == "post" and holds:
                    hold = holds[args[0] % len(holds)]
                    amount = max(1, hold.amount * args[1] // 100)
                    pending_transfer_post(pending_id=hold.pk, amount=amount)
                elif name == "void" and holds:
                    pending_transfer_void(pending_id=holds[args[0] % len(holds)].pk)
                elif name == "expire":
                    pending_transfers_expire(now=now[0])
            except ApplicationError:
                pass  # refused (funds, already resolved, expired): changed nothing
    return times


def _all_lines(client, url, params):
    body = client.get(url, {**params, "limit": 7}).json()
    period, lines = body["period"], list(body["results"])
    while body["next"]:
        body = client.get(body["next"]).json()
        assert body["period"] == period  # every page describes the same window
        lines += body["results"]
    return period, lines


def _assert_adds_up(period, lines, *, posted_key="posted", held_key="held"):
    opening, closing = period["opening"], period["closing"]
    posted = sum((Decimal(line["posted_delta"]) for line in lines), Decimal(0))
    held = sum((Decimal(line["held_delta"]) for line in lines), Decimal(0))
    assert posted == Decimal(closing[posted_key]) - Decimal(opening[posted_key])
    assert held == Decimal(closing[held_key]) - Decimal(opening[held_key])
    # Newest first: each line's balances are the older line's plus its own deltas.
    balances = [(closing[posted_key], closing[held_key])]
    balances += [(line["posted_balance"], line["held_balance"]) for line in lines]
    balances.append((opening[posted_key], opening[held_key]))
    for newer, line, older in zip(balances[1:-1], lines, balances[2:], strict=True):
        assert Decimal(newer[0]) == Decimal(older[0]) + Decimal(line["posted_delta"])
        assert Decimal(newer[1]) == Decimal(older[1]) + Decimal(line["held_delta"])
    if lines:
        assert (lines[0]["posted_balance"], lines[0]["held_balance"]) == (
            closing[posted_key],
            closing[held_key],
        )


@settings(
    max_examples=int(os.environ.get("STATEMENT_EXAMPLES", 30)),
    deadline=None,
    derandomize=UNDER_CI,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    operations=st.lists(operation, min_size=1, max_size=25),
    steps=st.lists(step, min_size=1, max_size=5),
    windows=st.lists(st.tuples(bound, bound), min_size=1, max_size=3),
)
def test_any_window_of_a_statement_adds_up(
    partner, other_partner, partner_api, operations, steps, windows
):
    code = f"s{next(_codes)}"  # fresh accounts per example
    accounts = (
        account_open(partner=partner, asset="USD", code=code),
        account_open(partner=other_partner, asset="USD", code=code),
        house_accounts_ensure(asset="USD")["settlement_bank"],
    )
    times = _run(operations, steps, accounts)
    account = accounts[0]
    account.refresh_from_db()
    url = f"{ACCOUNTS}{account.pk}/entries/"

    period, lines = _all_lines(partner_api, url, {})
    _assert_adds_up(period, lines)
    assert period["opening"] == {"posted": "0.00", "held": "0.00"}
    current = partner_api.get(f"{ACCOUNTS}{account.pk}/").json()["balance"]
    assert period["closing"] == {"posted": current["posted"], "held": current["pending"]}
    assert len(lines) == account.entries.count()

    for start_pick, end_pick in windows:
        start, end = _window_bound(times, start_pick), _window_bound(times, end_pick)
        if start and end and end < start:
            start, end = end, start
        params = {}
        if start:
            params["from"] = _iso(start)
        if end:
            params["to"] = _iso(end)
        period, lines = _all_lines(partner_api, url, params)
        _assert_adds_up(period, lines)
        expected = account.entries.all()
        if start:
            expected = expected.filter(created_at__gte=start)
        if end:
            expected = expected.filter(created_at__lte=end)
        assert [line["transfer"] for line in lines] == [
            str(t) for t in expected.order_by("-id").values_list("transfer_id", flat=True)
        ]

        download = partner_api.get(url, {**params, "format": "csv"})
        rows = list(csv.DictReader(io.StringIO(b"".join(download.streaming_content).decode())))
        closing, *csv_lines, opening = rows
        assert (closing["kind"], opening["kind"]) == ("closing_balance", "opening_balance")
        assert [row["transfer"] for row in csv_lines] == [line["transfer"] for line in lines]
        _assert_adds_up(
            {"opening": opening, "closing": closing},
            csv_lines,
            posted_key="posted_balance",
            held_key="held_balance",
        )
        assert (closing["posted_balance"], closing["held_balance"]) == (
            period["closing"]["posted"],
            period["closing"]["held"],
        )

    # Every resolution reads as what it did.
    for resolution in Transfer.objects.filter(pending__isnull=False):
        assert resolution.status == resolution.pending.status
