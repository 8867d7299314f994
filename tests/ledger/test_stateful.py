"""A Hypothesis state machine over the ledger's service layer (DESIGN.md, "Ledger").

Random single transfers, pending transfers with and without timeouts, post (full, partial,
too much), void, expiry by the sweep job, batches (atomic and independent, good and bad
items mixed), freeze/unfreeze/close, reversals and same-id replays, holds placed by the system,
by a partner and by orders and released by their origin or one allowed to (others are
refused), holds shrunk or partly posted with the rest kept (ledger_apply, with a transfer
spending what was freed), and replays of those, run against fresh accounts
(two assets, a house bank account without limits that funds them). An independent model in
plain Python predicts every outcome; after every step the database must equal the model, the
checker must find nothing, and every refused operation must have changed nothing.

Time is a fake clock (django.utils.timezone.now patched), so expiry is exact: a pending
transfer whose timeout has passed can no longer be posted or voided even before the sweep
has run, and the sweep expires exactly the due ones. A transfer or atomic batch refused for
funds while holds past their timeout sit on its accounts expires them and tries once more.

Budget: under ~40 s on PostgreSQL and on SQLite. Under CI=true the examples are derandomized
(the same run every time); locally each run explores new ones.
"""

import copy
import json
import os
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from unittest import mock

from django.db.models import Q, Sum
from django.test import TestCase
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from core.errors import ApplicationError, PermissionDenied
from core.services import partner_create
from ledger import errors, services
from ledger.integrity import ledger_chain_violations, ledger_invariants_violations
from ledger.models import Account, Entry, HoldEvent, Transfer
from ledger.posting import TOTALS
from ledger.services import LinkedTransferFailed, TransferRequest
from ledger.tasks import ledger_pending_expire

UNDER_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

_BUDGET = {
    # LEDGER_STATEFUL_EXAMPLES=500 for a longer soak run locally.
    "max_examples": int(os.environ.get("LEDGER_STATEFUL_EXAMPLES", 25)),
    "stateful_step_count": 25,
    "deadline": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
}
settings.register_profile("ledger-stateful", **_BUDGET)
settings.register_profile("ledger-stateful-ci", derandomize=True, print_blob=True, **_BUDGET)
PROFILE = "ledger-stateful-ci" if UNDER_CI else "ledger-stateful"

OUTCOMES: Counter = Counter()  # what the runs exercised: `pytest -s` prints it
_real_now = timezone.now  # kept before the clock is patched
CHAIN_CHECK_EVERY = 15  # steps; the chain walk is slower than the invariant checks

OPEN, FROZEN, CLOSED = Account.Status.OPEN, Account.Status.FROZEN, Account.Status.CLOSED
SINGLE, PENDING = Transfer.Kind.SINGLE_PHASE, Transfer.Kind.PENDING
POST, VOID, EXPIRE = (
    Transfer.Kind.POST_PENDING,
    Transfer.Kind.VOID_PENDING,
    Transfer.Kind.EXPIRE_PENDING,
)
REVERSIBLE = (SINGLE, POST)
SYSTEM, PARTNER_API, ORDER, RISK, SETTLEMENT, STAFF = (
    Transfer.Origin.SYSTEM,
    Transfer.Origin.PARTNER_API,
    Transfer.Origin.ORDER,
    Transfer.Origin.RISK,
    Transfer.Origin.SETTLEMENT,
    Transfer.Origin.STAFF,
)
RELEASES_ANY = {SYSTEM, SETTLEMENT, STAFF}
# A non-positive amount must be refused as invalid input (a validation_error), never reach
# the database's CHECK constraint as an IntegrityError.
AMOUNT_INVALID = errors.AmountNotPositive

# name, owner (index into the example's partners; None: the house), asset, kind, limits
ACCOUNT_SPECS = [
    ("bank_usd", None, "USD", None, None, None),  # house settlement_bank: no limits
    ("bank_eur", None, "EUR", None, None, None),
    ("p1_usd", 0, "USD", Account.Kind.LIABILITY, True, False),
    ("p2_usd", 1, "USD", Account.Kind.LIABILITY, True, False),
    ("p3_usd_unlimited", 2, "USD", Account.Kind.LIABILITY, False, False),
    ("p3_usd_receivable", 2, "USD", Account.Kind.ASSET, False, True),
    ("p1_eur", 0, "EUR", Account.Kind.LIABILITY, True, False),
    ("p2_eur", 1, "EUR", Account.Kind.LIABILITY, True, False),
]
N_ACCOUNTS = len(ACCOUNT_SPECS)  # index N_ACCOUNTS picks an account that does not exist
PARTNER_ACCOUNTS = range(2, N_ACCOUNTS)


class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


# --- The model -----------------------------------------------------------------------------


@dataclass
class Acct:
    pk: uuid.UUID
    name: str
    asset: str
    partner_id: uuid.UUID | None
    dmnec: bool
    cmned: bool
    status: str
    totals: list[int]  # debits_pending, debits_posted, credits_pending, credits_posted


@dataclass
class Pend:
    debit: uuid.UUID
    credit: uuid.UUID
    amount: int
    asset: str
    expires_at: datetime | None
    status: str = Transfer.Status.PENDING
    origin: str = Transfer.Origin.SYSTEM
    origin_ref: str = ""
    replaces: uuid.UUID | None = None


@dataclass
class Posted:
    debit: uuid.UUID
    credit: uuid.UUID
    amount: int
    asset: str
    reversed: bool = False


@dataclass
class Model:
    accounts: dict[uuid.UUID, Acct]
    # Every transfer whose id we know: id -> signature (what a replay must match).
    known: dict[uuid.UUID, tuple] = field(default_factory=dict)
    kinds: dict[uuid.UUID, str] = field(default_factory=dict)
    pendings: dict[uuid.UUID, Pend] = field(default_factory=dict)
    posted: dict[uuid.UUID, Posted] = field(default_factory=dict)
    resolution_of: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)
    requests: list[TransferRequest] = field(default_factory=list)  # applied ones
    count: int = 0  # transfers touching this example's partner accounts
    events: int = 0  # hold changes: each must leave exactly one HoldEvent (the outbox)
    # A shrunk or partly posted hold: pending id -> (resolution id, successor id, keep).
    kept: dict[uuid.UUID, tuple] = field(default_factory=dict)


def origin_of(partner_id, origin=None) -> str:
    """The origin a service call records (ledger.services.transfers.origin_of)."""
    if origin is not None:
        return origin
    return Transfer.Origin.PARTNER_API if partner_id is not None else Transfer.Origin.SYSTEM


def signature(request: TransferRequest, origin: str) -> tuple:
    timeout = request.timeout_seconds if request.pending and request.timeout_seconds else None
    return (
        PENDING if request.pending else SINGLE,
        request.debit_account_id,
        request.credit_account_id,
        request.amount,
        request.asset,
        request.code,
        request.reference,
        json.dumps(request.metadata, sort_keys=True),
        timeout,
        origin,
        request.origin_ref,
    )


def limit_error(acct: Acct, totals: list[int]) -> type | None:
    debits_pending, debits_posted, credits_pending, credits_posted = totals
    if acct.dmnec and debits_pending + debits_posted > credits_posted:
        return errors.InsufficientFunds
    if acct.cmned and credits_pending + credits_posted > debits_posted:
        return errors.ExceedsDebits
    return None


LIMIT_ERRORS = {errors.InsufficientFunds, errors.ExceedsDebits}


def moved(m: Model, debit: Acct, credit: Acct, *, pending=0, posted=0):
    """The two accounts' totals after a move, and the limit errors it would cause."""
    d, c = list(debit.totals), list(credit.totals)
    d[0] += pending
    d[1] += posted
    c[2] += pending
    c[3] += posted
    found = {e for e in (limit_error(debit, d), limit_error(credit, c)) if e}
    return d, c, found


def new_transfer_errors(m: Model, request: TransferRequest, partner_id) -> set[type]:
    """Every error the rules allow for a new transfer (empty: it must succeed)."""
    debit = m.accounts.get(request.debit_account_id)
    credit = m.accounts.get(request.credit_account_id)
    if debit is None or credit is None:
        return {errors.AccountNotFound}
    found = set()
    if partner_id is not None and debit.partner_id != partner_id:
        found.add(errors.AccountNotFound)
    if request.amount <= 0:
        found.add(AMOUNT_INVALID)
    if debit.pk == credit.pk:
        found.add(errors.AccountsMustDiffer)
    if debit.asset != request.asset or credit.asset != request.asset:
        found.add(errors.AssetMismatch)
    if debit.status != OPEN or credit.status != OPEN:
        found.add(errors.AccountFrozen)
    if request.amount > 0 and debit.pk != credit.pk:
        side = "pending" if request.pending else "posted"
        found |= moved(m, debit, credit, **{side: request.amount})[2]
    return found


def apply_new(m: Model, request: TransferRequest, transfer_id, *, now, origin):
    debit = m.accounts[request.debit_account_id]
    credit = m.accounts[request.credit_account_id]
    side = "pending" if request.pending else "posted"
    debit.totals, credit.totals, _ = moved(m, debit, credit, **{side: request.amount})
    m.count += 1
    m.known[transfer_id] = signature(request, origin)
    if request.pending:
        m.kinds[transfer_id] = PENDING
        expires_at = (
            now + timedelta(seconds=request.timeout_seconds) if (request.timeout_seconds) else None
        )
        m.pendings[transfer_id] = Pend(
            debit.pk,
            credit.pk,
            request.amount,
            request.asset,
            expires_at,
            origin=origin,
            origin_ref=request.origin_ref,
        )
    else:
        m.kinds[transfer_id] = SINGLE
        m.posted[transfer_id] = Posted(debit.pk, credit.pk, request.amount, request.asset)


def request_outcome(m: Model, request: TransferRequest, partner_id, origin=None):
    """('replay', id) | ('conflict', {TransferExistsWithDifferentFields}) | ('new', errors)."""
    if request.id is not None and request.id in m.known:
        earlier = m.known[request.id]
        owner = m.accounts[earlier[1]].partner_id if earlier[1] in m.accounts else None
        same = earlier == signature(request, origin_of(partner_id, origin))
        if same and (partner_id is None or owner == partner_id):
            return "replay", set()
        return "conflict", {errors.TransferExistsWithDifferentFields}
    found = new_transfer_errors(m, request, partner_id)
    if origin == Transfer.Origin.ORDER and request.pending and request.timeout_seconds:
        found.add(errors.OrderHoldTimeout)  # an order's hold never expires by itself
    return "new", found


# --- Strategies ------------------------------------------------------------------------------

account_index = st.integers(0, N_ACCOUNTS)
partner_account_index = st.sampled_from(list(PARTNER_ACCOUNTS))
# ("abs", n): n minor units (0 and -1 included: invalid); ("avail", d): the debit account's
# available balance plus d, which is where the balance limits bite.
amounts = st.one_of(
    st.integers(-1, 3_000).map(lambda n: ("abs", n)),
    st.integers(-1, 1).map(lambda d: ("avail", d)),
)
timeouts = st.sampled_from([None, 0, 10, 100])
partner_modes = st.sampled_from(
    [None, None, None, "debit_owner", "debit_owner", "credit_owner", "stranger"]
)
id_modes = st.sampled_from(
    ["fresh", "fresh", "fresh", "none", "dup_prev", "dup_prev_changed", "old", "old_changed"]
)
# "own": the id of an earlier resolution of the same pending transfer (a replay), if any
resolution_id_modes = st.sampled_from([None, "fresh", "fresh", "collide", "own"])
# The credit side: mostly another account in the debit's asset ("peer", k), else any index
# (the same account, the other asset, one that does not exist).
credit_choices = st.one_of(
    st.tuples(st.sampled_from(["peer", "peer", "peer", "any"]), st.integers(0, N_ACCOUNTS))
)
items = st.tuples(
    account_index,
    credit_choices,
    amounts,
    st.sampled_from(["debit"] * 5 + ["other"]),  # the request's asset
    st.booleans(),  # pending
    timeouts,
    id_modes,
    st.sampled_from(["", "ref-a"]),
)


hold_amounts = st.one_of(
    st.integers(1, 500).map(lambda n: ("abs", n)),
    st.integers(-1, 1).map(lambda d: ("avail", d)),
)
# The arguments of hold(): post and void may place a fresh hold first and resolve that one
# (with swarm testing, a run may otherwise rarely have a pending transfer at hand).
# Who places it: the system (no partner), the debited partner through the API, an order.
placers = st.sampled_from([None, None, "debit_owner", "order", "order"])
holds = st.tuples(
    partner_account_index, st.integers(0, N_ACCOUNTS), hold_amounts, timeouts, placers
)
# Who releases it, when no partner does: the system's jobs, an app, settlement.
releasers = st.sampled_from([SYSTEM, SYSTEM, ORDER, ORDER, RISK, SETTLEMENT])
resolution_targets = st.sampled_from(
    ["fresh", "fresh", "open", "open", "pending", "any", "unknown"]
)


class LedgerMachine(RuleBasedStateMachine):
    clock: Clock  # set by the test

    def __init__(self):
        super().__init__()
        # Each example runs in its own savepoint, rolled back at teardown, the way Django's
        # TestCase isolates tests: the services' atomic blocks become savepoints inside
        # it, and every example starts from the same small database.
        self._atomics = TestCase._enter_atomics()
        self.clock.now = _real_now()
        self.steps = 0
        OUTCOMES["(examples)"] += 1
        tag = uuid.uuid4().hex[:10]
        self.partners = [partner_create(slug=f"sm-{tag}-{i}", name=f"P{i}") for i in range(4)]
        self.stranger = self.partners[3]  # owns nothing
        accounts = []
        for name, owner, asset, kind, dmnec, cmned in ACCOUNT_SPECS:
            if owner is None:
                account = services.house_accounts_ensure(asset=asset)["settlement_bank"]
            else:
                account = services.account_open(
                    partner=self.partners[owner],
                    asset=asset,
                    code=name,
                    kind=kind,
                    debits_must_not_exceed_credits=dmnec,
                    credits_must_not_exceed_debits=cmned,
                )
            account.refresh_from_db()
            accounts.append(
                Acct(
                    pk=account.pk,
                    name=name,
                    asset=asset,
                    partner_id=account.partner_id,
                    dmnec=account.debits_must_not_exceed_credits,
                    cmned=account.credits_must_not_exceed_debits,
                    status=account.status,
                    totals=[getattr(account, t) for t in TOTALS],
                )
            )
        self.order = accounts
        self.missing = uuid.uuid4()
        self.mine = [a.pk for a in accounts[2:]]
        self.m = Model(accounts={a.pk: a for a in accounts})
        self.baseline = {a.pk: list(a.totals) for a in accounts}
        self.partner_by_id = {p.pk: p for p in self.partners}

    # --- helpers -------------------------------------------------------------------------

    def _account_id(self, index: int) -> uuid.UUID:
        return self.order[index].pk if index < N_ACCOUNTS else self.missing

    def _amount(self, spec, debit_id) -> int:
        mode, value = spec
        if mode == "abs":
            return value
        debit = self.m.accounts.get(debit_id)
        if debit is None:
            return 1
        dp, dpo, _cp, cpo = debit.totals
        return max(1, cpo - dpo - dp + value)

    def _partner(self, mode, debit_id, credit_id):
        if mode is None:
            return None
        if mode == "stranger":
            return self.stranger
        account = self.m.accounts.get(debit_id if mode == "debit_owner" else credit_id)
        if account is None or account.partner_id is None:
            return None
        return self.partner_by_id[account.partner_id]

    def _snapshot(self):
        ids = [a.pk for a in self.order]
        rows = Account.objects.filter(pk__in=ids).order_by("pk")
        accounts = list(rows.values_list("pk", "status", "chain_head", *TOTALS))
        statuses = sorted(
            Transfer.objects.filter(pk__in=list(self.m.pendings)).values_list("pk", "status")
        )
        return accounts, statuses, Transfer.objects.count(), Entry.objects.count()

    def _run(self, expected: set, call, what: str):
        """Run `call`; a refusal must be one the model allows and must change nothing."""
        before = self._snapshot()
        try:
            result = call()
        except ApplicationError as exc:
            OUTCOMES[f"{what.split(' ')[0]}: {type(exc).__name__}"] += 1
            assert expected, f"{what}: refused, the model expected success: {exc!r} {exc.details}"
            assert type(exc) in expected, f"{what}: {exc!r} {exc.details}, expected {expected}"
            assert self._snapshot() == before, f"{what}: a refused operation changed the ledger"
            return None, exc
        OUTCOMES[f"{what.split(' ')[0]}: ok"] += 1
        assert not expected, f"{what}: succeeded, the model expected one of {expected}"
        return result, None

    def _lapsed_retry(self, requests, first_expected: set):
        """The service's second try: refused for funds alone, with holds past their timeout
        on the requests' accounts, it expires those holds and tries once more (one
        transaction: a refusal still changes nothing). (the model with them expired, their
        ids), or None when there is no second try."""
        if not first_expected or not first_expected <= LIMIT_ERRORS:
            return None
        ids = {r.debit_account_id for r in requests} | {r.credit_account_id for r in requests}
        due = [
            pk
            for pk, pend in self.m.pendings.items()
            if pend.status == Transfer.Status.PENDING
            and pend.expires_at is not None
            and pend.expires_at <= self.clock.now
            and (pend.debit in ids or pend.credit in ids)
        ]
        if not due:
            return None
        sim = copy.deepcopy(self.m)
        for pk in due:
            self._resolve(pk, EXPIRE, None, None, model=sim)
        OUTCOMES["(second tries after expiring lapsed holds)"] += 1
        return sim, due

    def _expire_lapsed(self, due) -> None:
        for pk in due:
            self._resolve(pk, EXPIRE, None, None)

    def _request(self, item, *, prev: TransferRequest | None) -> TransferRequest:
        debit_i, (credit_mode, k), amount, asset_mode, pending, timeout, id_mode, reference = item
        credit_i = k
        if credit_mode == "peer" and debit_i < N_ACCOUNTS:
            asset_of_debit = self.order[debit_i].asset
            peers = [
                i for i, a in enumerate(self.order) if a.asset == asset_of_debit and i != debit_i
            ]
            credit_i = peers[k % len(peers)]
        debit_id, credit_id = self._account_id(debit_i), self._account_id(credit_i)
        asset = self.order[debit_i].asset if debit_i < N_ACCOUNTS else "USD"
        if asset_mode == "other":
            asset = "EUR" if asset == "USD" else "USD"
        fields = {
            "debit_account_id": debit_id,
            "credit_account_id": credit_id,
            "amount": self._amount(amount, debit_id),
            "asset": asset,
            "pending": pending,
            "timeout_seconds": timeout if pending else None,
            "reference": reference,
        }
        old = self.m.requests[item[2][1] % len(self.m.requests)] if self.m.requests else None
        if id_mode == "dup_prev" and prev is not None:
            return prev
        if id_mode == "dup_prev_changed" and prev is not None and prev.id is not None:
            return TransferRequest(id=prev.id, **fields)
        if id_mode == "old" and old is not None:
            return old
        if id_mode == "old_changed" and old is not None:
            return TransferRequest(id=old.id, **fields)
        if id_mode == "none":
            return TransferRequest(**fields)
        return TransferRequest(id=uuid.uuid4(), **fields)

    def _resolution_id(self, mode, pick, pending_id=None):
        if mode is None:
            return None
        if mode == "own":
            mine = [r for r, p in self.m.resolution_of.items() if p == pending_id]
            return mine[0] if mine else uuid.uuid4()
        if mode == "collide" and self.m.known:
            return list(self.m.known)[pick % len(self.m.known)]
        return uuid.uuid4()

    def _record(self, request: TransferRequest, transfer, *, origin):
        assert transfer.origin == origin and transfer.origin_ref == request.origin_ref
        apply_new(self.m, request, transfer.pk, now=self.clock.now, origin=origin)
        if request.pending:
            assert transfer.expires_at == self.m.pendings[transfer.pk].expires_at
        if request.id is not None:
            self.m.requests.append(request)

    # --- rules: money in and out ---------------------------------------------------------

    @initialize(amounts=st.lists(st.integers(0, 20_000), min_size=N_ACCOUNTS, max_size=N_ACCOUNTS))
    def opening_deposits(self, amounts):
        """Start most examples with money to move (0: that account starts empty)."""
        for index in PARTNER_ACCOUNTS:
            if amounts[index] and not self.order[index].cmned:
                self.deposit(index, amounts[index])
        receivable = self.order[5]  # an asset account: credits need earlier debits
        if amounts[5]:
            request = TransferRequest(
                id=uuid.uuid4(),
                debit_account_id=receivable.pk,
                credit_account_id=self.order[4].pk,
                amount=amounts[5],
                asset="USD",
            )
            self._record(request, services.transfer_create(request=request), origin=SYSTEM)

    @rule(index=partner_account_index, amount=st.integers(1, 100_000))
    def deposit(self, index, amount):
        account = self.order[index]
        bank = self.order[0 if account.asset == "USD" else 1]
        request = TransferRequest(
            id=uuid.uuid4(),
            debit_account_id=bank.pk,
            credit_account_id=account.pk,
            amount=amount,
            asset=account.asset,
            code="deposit",
        )
        _, expected = request_outcome(self.m, request, None)
        retry = self._lapsed_retry([request], expected)
        if retry is not None:
            expected = request_outcome(retry[0], request, None)[1]
        transfer, _ = self._run(
            expected, lambda: services.transfer_create(request=request), f"deposit {request}"
        )
        if transfer is not None:
            assert transfer.pk == request.id and transfer.status == Transfer.Status.POSTED
            if retry is not None:
                self._expire_lapsed(retry[1])
            self._record(request, transfer, origin=SYSTEM)

    @rule(item=items, partner_mode=partner_modes)
    def transfer(self, item, partner_mode):
        request = self._request(item, prev=None)
        partner = self._partner(partner_mode, request.debit_account_id, request.credit_account_id)
        outcome, expected = request_outcome(self.m, request, getattr(partner, "pk", None))
        retry = self._lapsed_retry([request], expected) if outcome == "new" else None
        if retry is not None:
            expected = request_outcome(retry[0], request, getattr(partner, "pk", None))[1]
        transfer, _ = self._run(
            expected,
            lambda: services.transfer_create(request=request, partner=partner),
            f"transfer {request} partner={partner}",
        )
        if transfer is None:
            return
        if retry is not None:
            self._expire_lapsed(retry[1])
        if outcome == "replay":
            assert transfer.pk == request.id
            return
        if request.id is not None:
            assert transfer.pk == request.id
        wanted = Transfer.Status.PENDING if request.pending else Transfer.Status.POSTED
        assert transfer.status == wanted
        self._record(request, transfer, origin=origin_of(getattr(partner, "pk", None)))

    @rule(
        debit=partner_account_index,
        peer=st.integers(0, N_ACCOUNTS),
        amount=hold_amounts,
        timeout=timeouts,
        placer=placers,
    )
    def hold(self, debit, peer, amount, timeout, placer):
        """A pending transfer that usually succeeds: what post, void and expire work on."""
        item = (debit, ("peer", peer), amount, "debit", True, timeout, "fresh", "hold")
        if placer != "order":
            self.transfer(item, placer)
            return
        request = self._request(item, prev=None)
        # Now and then with a timeout, which an order's hold may not have.
        timeout = request.timeout_seconds if request.timeout_seconds == 10 else None
        request = TransferRequest(
            **{**request.__dict__, "origin_ref": f"ord-{debit}-{peer}", "timeout_seconds": timeout}
        )
        _, expected = request_outcome(self.m, request, None, origin=ORDER)
        applied, _ = self._run(
            expected,
            lambda: services.ledger_apply(origin=ORDER, transfers=[request]),
            f"order-hold {request}",
        )
        if applied is not None:
            (result,) = applied.transfers
            assert result.transfer.status == Transfer.Status.PENDING
            assert result.transfer.expires_at is None
            self._record(request, result.transfer, origin=ORDER)

    @rule(
        mode=st.sampled_from(["same", "amount", "reference", "metadata", "timeout", "kind"]),
        pick=st.integers(0, 10_000),
        partner_mode=partner_modes,
        via=st.sampled_from(["create", "atomic", "independent"]),
    )
    def replay(self, mode, pick, partner_mode, via):
        if not self.m.requests:
            return
        original = self.m.requests[pick % len(self.m.requests)]
        changes = {
            "same": {},
            "amount": {"amount": original.amount + 1},
            "reference": {"reference": original.reference + "-x"},
            "metadata": {"metadata": {"changed": True}},
            "timeout": {"timeout_seconds": (original.timeout_seconds or 0) + 7},
            "kind": {"pending": not original.pending},
        }[mode]
        request = TransferRequest(**{**original.__dict__, **changes})
        partner = self._partner(partner_mode, request.debit_account_id, request.credit_account_id)
        outcome, expected = request_outcome(self.m, request, getattr(partner, "pk", None))
        assert outcome in ("replay", "conflict")
        if via == "create":
            transfer, _ = self._run(
                expected,
                lambda: services.transfer_create(request=request, partner=partner),
                f"replay {mode} {request}",
            )
            if transfer is not None:
                assert transfer.pk == request.id
            return
        if via == "independent":
            results, _ = self._run(
                set(),
                lambda: services.transfer_batch_create(
                    requests=[request], atomic=False, partner=partner
                ),
                f"replay {mode} in an independent batch",
            )
            (result,) = results
            if expected:
                assert type(result.error) in expected, (result.error, expected)
            else:
                assert result.ok and result.replayed and result.transfer.pk == request.id
            return
        # An atomic batch of one: a failure is still a BatchRejected with per-item results.
        results, exc = self._run(
            {errors.BatchRejected} if expected else set(),
            lambda: services.transfer_batch_create(
                requests=[request], atomic=True, partner=partner
            ),
            f"replay {mode} in an atomic batch",
        )
        if exc is not None:
            assert type(exc.results[0].error) in expected
        else:
            assert results[0].replayed and results[0].transfer.pk == request.id

    @rule(
        batch=st.lists(items, min_size=1, max_size=6),
        atomic=st.booleans(),
        partner_mode=st.sampled_from([None, None, "debit_owner", "stranger"]),
    )
    def batch(self, batch, atomic, partner_mode):
        requests, prev = [], None
        for item in batch:
            prev = self._request(item, prev=prev)
            requests.append(prev)
        partner = self._partner(
            partner_mode, requests[0].debit_account_id, requests[0].credit_account_id
        )
        partner_id = getattr(partner, "pk", None)

        def predict(model):
            sim = copy.deepcopy(model)
            predicted = []  # (outcome, expected errors) per item, on the simulated model
            for request in requests:
                outcome, expected = request_outcome(sim, request, partner_id)
                predicted.append((outcome, expected))
                if outcome == "new" and not expected:
                    apply_new(
                        sim,
                        request,
                        request.id or uuid.uuid4(),
                        now=self.clock.now,
                        origin=origin_of(partner_id),
                    )
                    if request.id is not None:
                        sim.requests.append(request)
                elif expected and atomic:
                    break
            return predicted, [i for i, (_, expected) in enumerate(predicted) if expected]

        predicted, failed = predict(self.m)
        retry = None
        if atomic and failed and predicted[failed[0]][0] == "new":
            retry = self._lapsed_retry(requests, predicted[failed[0]][1])
            if retry is not None:
                predicted, failed = predict(retry[0])
        call = lambda: services.transfer_batch_create(  # noqa: E731
            requests=requests, atomic=atomic, partner=partner
        )
        what = f"{'atomic' if atomic else 'independent'} batch {requests} partner={partner}"
        if atomic and failed:
            _, exc = self._run({errors.BatchRejected}, call, what)
            results = exc.results
            assert len(results) == len(requests)
            (bad,) = failed
            for i, result in enumerate(results):
                assert result.transfer is None
                if i == bad:
                    assert type(result.error) in predicted[i][1], (i, result.error, predicted)
                else:
                    assert isinstance(result.error, LinkedTransferFailed), (i, result.error)
            return
        results, _ = self._run(set(), call, what)
        assert len(results) == len(requests)
        if retry is not None:
            self._expire_lapsed(retry[1])
        batch_ids = set()
        for request, result, (outcome, expected) in zip(requests, results, predicted, strict=True):
            if expected:
                assert type(result.error) in expected, (result.error, expected, what)
                assert result.transfer is None
                continue
            assert result.ok, (result.error, what)
            assert result.replayed == (outcome == "replay")
            if request.id is not None:
                assert result.transfer.pk == request.id
            if outcome == "new":
                self._record(request, result.transfer, origin=origin_of(partner_id))
                batch_ids.add(result.transfer.batch_id)
        if batch_ids:
            # Linked transfers share one batch id; independent ones are not linked.
            assert len(batch_ids) == 1
            (batch_id,) = batch_ids
            assert (batch_id is not None) == (atomic and len(requests) > 1)

    # --- rules: pending transfers ------------------------------------------------------------

    def _pick_transfer(self, target, pick, new_hold):
        """fresh: a new hold (when it succeeds); open: a pending transfer not resolved yet;
        pending: any pending transfer; any: any transfer; unknown: an id that names nothing."""
        if target == "unknown":
            return uuid.uuid4()
        if target == "fresh" or not self.m.pendings:
            before = set(self.m.pendings)
            self.hold(*new_hold)
            made = set(self.m.pendings) - before
            if made:
                return made.pop()
            target = "open"
        pool = {
            "open": [k for k, p in self.m.pendings.items() if p.status == Transfer.Status.PENDING],
            "pending": list(self.m.pendings),
            "any": list(self.m.kinds),
        }[target] or list(self.m.pendings)
        if not pool:
            return uuid.uuid4()
        return pool[pick % len(pool)]

    def _resolution_expected(self, transfer_id, kind, amount, partner, resolution_id, origin=None):
        """(errors the rules allow, is it a replay of an earlier resolution)."""
        if transfer_id not in self.m.kinds:
            return {errors.TransferNotFound}, False
        sig = self.m.known[transfer_id]
        debit, credit = self.m.accounts[sig[1]], self.m.accounts[sig[2]]
        pend = self.m.pendings.get(transfer_id)
        if partner is not None and partner.pk not in (debit.partner_id, credit.partner_id):
            return {errors.TransferNotFound}, False
        if self._holder_refuses(pend, origin_of(getattr(partner, "pk", None), origin)):
            return {errors.HoldOwnedElsewhere}, False
        if partner is not None and debit.partner_id != partner.pk:
            return {PermissionDenied}, False
        found = set()
        if resolution_id is not None and resolution_id in self.m.known and pend is not None:
            # The same resolution again (same id, kind and amount) returns what it made;
            # the id of anything else is a conflict.
            earlier = self.m.known[resolution_id]
            wanted = pend.amount if amount is None or kind != POST else amount
            if (
                self.m.resolution_of.get(resolution_id) == transfer_id
                and earlier[0] == kind
                and (earlier[3] == wanted)
                and self.m.kept.get(transfer_id, (None, None, 0))[1] is None  # kept nothing
            ):
                return set(), True
            found.add(errors.TransferExistsWithDifferentFields)
        elif resolution_id is not None and resolution_id in self.m.known:
            found.add(errors.TransferExistsWithDifferentFields)
        if pend is None:
            return found | {errors.NotAPendingTransfer}, False
        if pend.status == Transfer.Status.EXPIRED:  # swept: still "expired" to the client
            return found | {errors.PendingTransferExpired}, False
        if pend.status != Transfer.Status.PENDING:
            return found | {errors.PendingAlreadyResolved}, False
        if pend.expires_at is not None and pend.expires_at <= self.clock.now:
            return found | {errors.PendingTransferExpired}, False
        if kind == POST:
            if amount is not None and amount <= 0:
                found.add(AMOUNT_INVALID)
            if amount is not None and amount > pend.amount:
                found.add(errors.AmountExceedsPending)
            if debit.status != OPEN or credit.status != OPEN:
                found.add(errors.AccountFrozen)
        return found, False

    def _resolve(self, transfer_id, kind, amount, resolution, *, model=None):
        m = self.m if model is None else model
        pend = m.pendings[transfer_id]
        debit, credit = m.accounts[pend.debit], m.accounts[pend.credit]
        posted = 0
        if kind == POST:
            posted = pend.amount if amount is None else amount
        debit.totals, credit.totals, broken = moved(
            m, debit, credit, pending=-pend.amount, posted=posted
        )
        assert not broken, "resolving a pending transfer can never break a limit"
        pend.status = {
            POST: Transfer.Status.POSTED,
            VOID: Transfer.Status.VOIDED,
            EXPIRE: Transfer.Status.EXPIRED,
        }[kind]
        m.count += 1
        m.events += 1
        if resolution is not None:
            assert resolution.pending_id == transfer_id and resolution.kind == kind
            self.m.known[resolution.pk] = (kind, pend.debit, pend.credit, resolution.amount)
            self.m.kinds[resolution.pk] = kind
            self.m.resolution_of[resolution.pk] = transfer_id
            self.m.kept[transfer_id] = (resolution.pk, None, 0)
            if kind == POST:
                assert resolution.amount == posted
                self.m.posted[resolution.pk] = Posted(pend.debit, pend.credit, posted, pend.asset)

    @rule(
        which=resolution_targets,
        new_hold=holds,
        pick=st.integers(0, 10_000),
        amount_mode=st.sampled_from(["full", "none", "partial", "over", "zero"]),
        fraction=st.floats(0.01, 1.0),
        id_mode=resolution_id_modes,
        partner_mode=partner_modes,
        releaser=releasers,
    )
    def post(self, which, new_hold, pick, amount_mode, fraction, id_mode, partner_mode, releaser):
        transfer_id = self._pick_transfer(which, pick, new_hold)
        pend = self.m.pendings.get(transfer_id)
        full = pend.amount if pend else 100
        amount = {
            "full": full,
            "none": None,
            "partial": max(1, int(full * fraction)),
            "over": full + 1,
            "zero": 0,
        }[amount_mode]
        sig = self.m.known.get(transfer_id)
        partner = self._partner(partner_mode, sig[1], sig[2]) if sig else None
        resolution_id = self._resolution_id(id_mode, pick, transfer_id)
        origin = None if partner is not None else releaser
        expected, replay = self._resolution_expected(
            transfer_id, POST, amount, partner, resolution_id, origin
        )
        transfer, _ = self._run(
            expected,
            lambda: services.pending_transfer_post(
                pending_id=transfer_id,
                amount=amount,
                transfer_id=resolution_id,
                partner=partner,
                origin=origin,
            ),
            f"post {transfer_id} amount={amount} id={resolution_id} partner={partner} {origin}",
        )
        if replay:
            assert transfer.pk == resolution_id
        elif transfer is not None:
            self._resolve(transfer_id, POST, amount, transfer)

    @rule(
        which=resolution_targets,
        new_hold=holds,
        pick=st.integers(0, 10_000),
        id_mode=resolution_id_modes,
        partner_mode=partner_modes,
        releaser=releasers,
    )
    def void(self, which, new_hold, pick, id_mode, partner_mode, releaser):
        transfer_id = self._pick_transfer(which, pick, new_hold)
        sig = self.m.known.get(transfer_id)
        partner = self._partner(partner_mode, sig[1], sig[2]) if sig else None
        resolution_id = self._resolution_id(id_mode, pick, transfer_id)
        origin = None if partner is not None else releaser
        expected, replay = self._resolution_expected(
            transfer_id, VOID, None, partner, resolution_id, origin
        )
        transfer, _ = self._run(
            expected,
            lambda: services.pending_transfer_void(
                pending_id=transfer_id, transfer_id=resolution_id, partner=partner, origin=origin
            ),
            f"void {transfer_id} id={resolution_id} partner={partner} {origin}",
        )
        if replay:
            assert transfer.pk == resolution_id
        elif transfer is not None:
            self._resolve(transfer_id, VOID, None, transfer)

    # --- rules: holds kept in part (shrink; post part, keep the rest) -----------------------

    def _holder_refuses(self, pend, origin) -> bool:
        """Only the origin that placed a hold releases it, or settlement, staff, the system."""
        return pend is not None and origin not in RELEASES_ANY and pend.origin != origin

    def _keep_expected(self, transfer_id, action, amount, keep, origin, ids):
        """(the error the rules give, or None; the earlier change if this is a replay)."""
        kind = POST if action == "post" else VOID
        if transfer_id not in self.m.kinds:
            return errors.TransferNotFound, None
        pend = self.m.pendings.get(transfer_id)
        if self._holder_refuses(pend, origin):
            return errors.HoldOwnedElsewhere, None
        resolution_id, successor_id = ids
        if any(i is not None and i in self.m.known for i in ids):
            earlier = self.m.kept.get(transfer_id) if pend is not None else None
            if earlier is not None and earlier[1] is not None:
                wanted = (
                    (amount if amount is not None else pend.amount - keep)
                    if kind == POST
                    else pend.amount
                )
                resolution = self.m.known[earlier[0]]
                if (
                    earlier[2] == keep
                    and resolution_id in (None, earlier[0])
                    and successor_id in (None, earlier[1])
                    and (resolution[0], resolution[3]) == (kind, wanted)
                ):
                    return None, earlier
            return errors.TransferExistsWithDifferentFields, None
        if pend is None:
            return errors.NotAPendingTransfer, None
        if pend.status == Transfer.Status.EXPIRED:
            return errors.PendingTransferExpired, None
        if pend.status != Transfer.Status.PENDING:
            return errors.PendingAlreadyResolved, None
        if pend.expires_at is not None and pend.expires_at <= self.clock.now:
            return errors.PendingTransferExpired, None
        posted = 0
        if kind == POST:
            posted = amount if amount is not None else pend.amount - keep
            if posted <= 0:
                return AMOUNT_INVALID, None
            if posted > pend.amount:
                return errors.AmountExceedsPending, None
            debit, credit = self.m.accounts[pend.debit], self.m.accounts[pend.credit]
            if debit.status != OPEN or credit.status != OPEN:
                return errors.AccountFrozen, None
        most = pend.amount - posted if kind == POST else pend.amount - 1
        if keep > most:
            return errors.KeepNotLessThanHeld, None
        return None, None

    def _kept(self, transfer_id, kind, amount, keep, change):
        """The model after a change that kept `keep` of the hold as `change.successor`."""
        self._resolve(transfer_id, kind, amount, change.resolution)
        pend = self.m.pendings[transfer_id]
        successor = change.successor
        if not keep:
            assert successor is None
            return
        assert successor.replaces_id == transfer_id and successor.amount == keep
        assert (successor.origin, successor.origin_ref) == (pend.origin, pend.origin_ref)
        assert successor.expires_at == pend.expires_at
        debit, credit = self.m.accounts[pend.debit], self.m.accounts[pend.credit]
        debit.totals, credit.totals, broken = moved(self.m, debit, credit, pending=keep)
        assert not broken, "keeping part of a hold can never break a limit"
        self.m.count += 1
        self.m.kinds[successor.pk] = PENDING
        self.m.known[successor.pk] = (PENDING, pend.debit, pend.credit, keep, "successor")
        self.m.pendings[successor.pk] = Pend(
            pend.debit,
            pend.credit,
            keep,
            pend.asset,
            pend.expires_at,
            origin=pend.origin,
            origin_ref=pend.origin_ref,
            replaces=transfer_id,
        )
        self.m.kept[transfer_id] = (change.resolution.pk, successor.pk, keep)

    def _kept_one(self, pick):
        """A hold already kept in part (to do the same operation again), if any."""
        kept = [pk for pk, (_, successor, _) in self.m.kept.items() if successor]
        return kept[pick % len(kept)] if kept else None

    def _keep_ids(self, mode, transfer_id, pick):
        if mode == "own" and transfer_id in self.m.kept and self.m.kept[transfer_id][1]:
            resolution_id, successor_id, _ = self.m.kept[transfer_id]
            return resolution_id, successor_id
        if mode == "collide" and self.m.known:
            return list(self.m.known)[pick % len(self.m.known)], uuid.uuid4()
        if mode == "fresh":
            return uuid.uuid4(), uuid.uuid4()
        return None, None

    @rule(
        which=resolution_targets,
        new_hold=holds,
        pick=st.integers(0, 10_000),
        keep_mode=st.sampled_from(["some", "some", "one", "all_but_one", "all", "zero"]),
        fraction=st.floats(0.01, 1.0),
        id_mode=st.sampled_from([None, "fresh", "fresh", "own", "own", "collide"]),
        origin=st.one_of(st.just("placer"), releasers),
    )
    def shrink(self, which, new_hold, pick, keep_mode, fraction, id_mode, origin):
        transfer_id = self._kept_one(pick) if id_mode == "own" else None
        transfer_id = transfer_id or self._pick_transfer(which, pick, new_hold)
        pend = self.m.pendings.get(transfer_id)
        if origin == "placer":  # the hold's own origin: an order shrinking its own hold
            origin = pend.origin if pend else ORDER
        if id_mode == "own" and transfer_id in self.m.kept:  # the same shrink again
            keep = self.m.kept[transfer_id][2] or 1
        else:
            full = pend.amount if pend else 100
            keep = {
                "some": max(1, int(full * fraction)),
                "one": 1,
                "all_but_one": full - 1,
                "all": full,
                "zero": 0,
            }[keep_mode]
        ids = self._keep_ids(id_mode, transfer_id, pick)
        if keep <= 0:
            error, earlier = errors.KeepNotLessThanHeld, None
        else:
            error, earlier = self._keep_expected(transfer_id, "void", None, keep, origin, ids)
        change, _ = self._run(
            {error} if error else set(),
            lambda: services.pending_transfer_shrink(
                pending_id=transfer_id,
                keep=keep,
                origin=origin,
                transfer_id=ids[0],
                successor_id=ids[1],
            ),
            f"shrink {transfer_id} keep={keep} ids={ids} {origin}",
        )
        if change is None:
            return
        if earlier is not None:
            assert change.replayed
            assert (change.resolution.pk, change.successor.pk) == earlier[:2]
            OUTCOMES["shrink: (replayed)"] += 1
            return
        assert not change.replayed
        if ids[0] is not None:
            assert (change.resolution.pk, change.successor.pk) == ids
        self._kept(transfer_id, VOID, None, keep, change)

    @rule(
        which=resolution_targets,
        new_hold=holds,
        pick=st.integers(0, 10_000),
        amount_mode=st.sampled_from(["none", "partial", "partial", "full", "over"]),
        keep_mode=st.sampled_from(["rest", "rest", "less", "none", "too_much"]),
        fraction=st.floats(0.01, 1.0),
        id_mode=st.sampled_from([None, "fresh", "own", "collide"]),
        origin=st.sampled_from(["placer", SETTLEMENT, SETTLEMENT, ORDER, RISK]),
        spend=st.one_of(st.none(), items),
    )
    def settle(
        self, which, new_hold, pick, amount_mode, keep_mode, fraction, id_mode, origin, spend
    ):
        """ledger_apply: post part of a hold and keep the rest held, then (maybe) a new
        transfer, all or nothing, in one transaction."""
        transfer_id = self._kept_one(pick) if id_mode == "own" else None
        transfer_id = transfer_id or self._pick_transfer(which, pick, new_hold)
        pend = self.m.pendings.get(transfer_id)
        if origin == "placer":
            origin = pend.origin if pend else SETTLEMENT
        full = pend.amount if pend else 100
        amount = {
            "none": None,
            "partial": max(1, int(full * fraction)),
            "full": full,
            "over": full + 1,
        }[amount_mode]
        base = amount if amount is not None else full // 2
        keep = max(
            0,
            {"rest": full - base, "less": full - base - 1, "none": 0, "too_much": full - base + 1}[
                keep_mode
            ],
        )
        if id_mode == "own" and self.m.kept.get(transfer_id, (None, None))[1] is not None:
            keep = self.m.kept[transfer_id][2]  # the same operation again
        ids = self._keep_ids(id_mode, transfer_id, pick) if keep else (None, None)
        op = services.HoldOperation(
            pending_id=transfer_id,
            action=services.HoldOperation.POST,
            amount=amount,
            keep=keep,
            transfer_id=ids[0],
            successor_id=ids[1],
        )
        error, earlier = self._keep_expected(transfer_id, "post", amount, keep, origin, ids)
        posted = amount if amount is not None else full - keep
        request, outcome, expected = None, None, {error} if error else set()
        if spend is not None and error is None:
            request = self._request(spend, prev=None)
            sim = copy.deepcopy(self.m)
            if earlier is None:  # the hold operation runs first: what it frees is there
                held = sim.pendings[transfer_id]
                debit, credit = sim.accounts[held.debit], sim.accounts[held.credit]
                debit.totals, credit.totals, _ = moved(
                    sim, debit, credit, pending=keep - held.amount, posted=posted
                )
            outcome, expected = request_outcome(sim, request, None, origin=origin)
        applied, _ = self._run(
            expected,
            lambda: services.ledger_apply(
                origin=origin,
                hold_operations=[op],
                transfers=[request] if request is not None else [],
            ),
            f"settle {op} then {request} {origin}",
        )
        if applied is None:
            return
        (change,) = applied.holds
        if earlier is not None:
            assert change.replayed and change.resolution.pk == earlier[0]
            OUTCOMES["settle: (replayed)"] += 1
        else:
            assert not change.replayed and change.resolution.origin == origin
            self._kept(transfer_id, POST, posted, keep, change)
        if request is not None:
            (result,) = applied.transfers
            assert result.replayed == (outcome == "replay")
            if outcome == "new":
                self._record(request, result.transfer, origin=origin)

    @rule(seconds=st.sampled_from([1, 9, 10, 11, 60, 99, 100, 500]))
    def time_passes(self, seconds):
        self.clock.now += timedelta(seconds=seconds)

    @rule(how=st.sampled_from(["now", "default", "task"]))
    def expire(self, how):
        due = [
            pk
            for pk, pend in self.m.pendings.items()
            if pend.status == Transfer.Status.PENDING
            and pend.expires_at is not None
            and pend.expires_at <= self.clock.now
        ]
        if how == "now":
            count = services.pending_transfers_expire(now=self.clock.now)
        elif how == "default":
            count = services.pending_transfers_expire()
        else:
            count = ledger_pending_expire()  # the beat job, run in this process
        assert count == len(due)
        for pk in due:
            self._resolve(pk, EXPIRE, None, None)
        statuses = dict(Transfer.objects.filter(pk__in=due).values_list("pk", "status"))
        assert set(statuses.values()) <= {Transfer.Status.EXPIRED}

    # --- rules: accounts and corrections ---------------------------------------------------

    @rule(
        index=partner_account_index,
        action=st.sampled_from(["freeze", "freeze", "unfreeze", "unfreeze", "close"]),
    )
    def account_status(self, index, action):
        acct = self.order[index]
        dp, dpo, cp, cpo = acct.totals
        target = {"freeze": FROZEN, "unfreeze": OPEN, "close": CLOSED}[action]
        allowed = {
            "freeze": acct.status == OPEN,
            "unfreeze": acct.status == FROZEN,
            "close": acct.status in (OPEN, FROZEN),
        }[action]
        if not allowed:
            expected = {errors.AccountStatusConflict}
        elif action == "close" and (dp or cp or cpo != dpo):
            expected = {errors.AccountNotEmpty}
        else:
            expected = set()
        service = getattr(services, f"account_{action}")
        account = Account.objects.get(pk=acct.pk)
        result, _ = self._run(
            expected,
            lambda: service(account=account, acting_user=None, reason="hypothesis"),
            f"{action} {acct.name} ({acct.status}, {acct.totals})",
        )
        if result is not None:
            acct.status = target
            assert result.status == target

    @rule(
        which=st.sampled_from(["posted", "posted", "posted", "any"]),
        pick=st.integers(0, 10_000),
        id_mode=resolution_id_modes,
    )
    def reverse(self, which, pick, id_mode):
        pool = list(self.m.posted) if which == "posted" else list(self.m.kinds)
        if not pool:
            return
        original_id = pool[pick % len(pool)]
        original = Transfer.objects.get(pk=original_id)
        reversal_id = self._resolution_id(id_mode, pick)
        collides = reversal_id is not None and reversal_id in self.m.known
        found = {errors.TransferExistsWithDifferentFields} if collides else set()
        posted = self.m.posted.get(original_id)
        if self.m.kinds[original_id] not in REVERSIBLE:
            expected = {errors.NotAPendingTransfer}
        elif posted.reversed:
            expected = found | {errors.AlreadyReversed}
        else:
            request = TransferRequest(
                id=reversal_id or uuid.uuid4(),
                debit_account_id=posted.credit,
                credit_account_id=posted.debit,
                amount=posted.amount,
                asset=posted.asset,
                code="reversal",
                reference=f"reversal of {original_id}",
            )
            expected = found | new_transfer_errors(self.m, request, None)
        reversal, _ = self._run(
            expected,
            lambda: services.transfer_reverse(
                transfer=original, acting_user=None, transfer_id=reversal_id
            ),
            f"reverse {original} id={reversal_id}",
        )
        if reversal is None:
            return
        assert reversal.reverses_id == original_id
        assert (reversal.debit_account_id, reversal.credit_account_id) == (
            posted.credit,
            posted.debit,
        )
        if reversal_id is not None:
            assert reversal.pk == reversal_id
        request = TransferRequest(
            id=reversal.pk,
            debit_account_id=posted.credit,
            credit_account_id=posted.debit,
            amount=posted.amount,
            asset=posted.asset,
            code="reversal",
            reference=reversal.reference,
        )
        apply_new(self.m, request, reversal.pk, now=self.clock.now, origin=STAFF)
        posted.reversed = True

    # --- invariants ------------------------------------------------------------------------

    @invariant()
    def database_equals_model(self):
        self.steps += 1
        OUTCOMES["(steps)"] += 1
        rows = Account.objects.filter(pk__in=list(self.m.accounts)).values("pk", "status", *TOTALS)
        for row in rows:
            acct = self.m.accounts[row["pk"]]
            assert [row[t] for t in TOTALS] == acct.totals, (acct.name, row, acct.totals)
            assert row["status"] == acct.status, (acct.name, row["status"], acct.status)
            assert limit_error(acct, acct.totals) is None, (acct.name, acct.totals)
        statuses = dict(
            Transfer.objects.filter(pk__in=list(self.m.pendings)).values_list("pk", "status")
        )
        assert statuses == {pk: p.status for pk, p in self.m.pendings.items()}
        mine = Q(debit_account_id__in=self.mine) | Q(credit_account_id__in=self.mine)
        assert Transfer.objects.filter(mine).count() == self.m.count
        # Every change of a hold told its origin once: one outbox row each, none for others.
        events = HoldEvent.objects.filter(hold_id__in=list(self.m.pendings))
        assert events.count() == self.m.events
        successors = dict(
            Transfer.objects.filter(pk__in=list(self.m.pendings)).values_list("pk", "replaces_id")
        )
        assert successors == {pk: p.replaces for pk, p in self.m.pendings.items()}

    @invariant()
    def model_balances(self):
        """The model itself is double entry: per asset, what it added to debits equals what
        it added to credits."""
        for asset in ("USD", "EUR"):
            accts = [a for a in self.m.accounts.values() if a.asset == asset]
            for debit_i, credit_i in ((0, 2), (1, 3)):  # pending, posted
                debits = sum(a.totals[debit_i] - self.baseline[a.pk][debit_i] for a in accts)
                credits = sum(a.totals[credit_i] - self.baseline[a.pk][credit_i] for a in accts)
                assert debits == credits, (asset, debit_i, debits, credits)

    @invariant()
    def ledger_checks_pass(self):
        assert ledger_invariants_violations() == []
        per_asset = Account.objects.values("asset_id").annotate(**{t: Sum(t) for t in TOTALS})
        for row in per_asset:
            assert row["debits_posted"] == row["credits_posted"], row
            assert row["debits_pending"] == row["credits_pending"], row
        if self.steps % CHAIN_CHECK_EVERY == 0:
            assert ledger_chain_violations() == []

    def teardown(self):
        try:
            assert ledger_chain_violations() == []
        finally:
            TestCase._rollback_atomics(self._atomics)


def test_ledger_state_machine(db):
    clock = Clock()
    LedgerMachine.clock = clock
    with mock.patch("django.utils.timezone.now", clock):
        run_state_machine_as_test(LedgerMachine, settings=settings.get_profile(PROFILE))
    print("\n".join(f"{n:6} {what}" for what, n in sorted(OUTCOMES.items())))
