"""Settlement: a cleared batch's obligations posted to the ledger, each partner's within one
linked set (partner <-> the central counterparty account `settlement_ccp` of the asset;
partners go in chunks of up to CHUNK_RELEASES hold releases, split to one partner each
when the ledger refuses, so that only the partner at fault fails),
and in the same transaction the holds its orders' fills consumed shrunk by exactly that
(voided when nothing else is held; a partly filled open order keeps its unfilled part).

Exactly once, whatever retries, redeliveries or worker deaths: a partner's postings commit
with its obligations' `posted` mark or not at all (rows locked, state re-read under the
lock); each obligation's transfer id is uuid5(batch, partner, asset) and every transfer
carries the settlement batch's id as its ledger batch id, so even a second posting of the
same obligation could only be a replay. One step of a batch runs at a time (a session
advisory lock, released if the worker dies). A posting the ledger refuses is a FAILED
obligation with the ledger's code, shown to staff; the batch then fails (retryable) rather
than settling around it.
"""

import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass

import structlog
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from core.errors import ApplicationError
from core.postgresql.deferred import write_deferred
from ledger import errors as ledger_errors
from ledger.models import Account, Transfer
from ledger.selectors import accounts_by_owner
from ledger.services import (
    HoldOperation,
    LedgerAppliedIds,
    TransferRequest,
    account_open,
    house_account,
    house_account_declare,
    ledger_apply_bulk,
)
from settlement.errors import BatchStateConflict
from settlement.models import HoldRelease, Obligation, SettlementBatch
from settlement.states import batch_state_set
from trading.services.settlement import order_holds_moved, orders_lock_with_holds

logger = structlog.get_logger(__name__)
S = SettlementBatch.State

CCP_ACCOUNT = "settlement_ccp"
SETTLEMENT_CODE = "settlement"
TRANSFER_NAMESPACE = uuid.UUID("5e77e1a2-6b0c-4c1e-9d3a-8f2b7c4d1e90")
STEP_LOCK_CLASS = 0x53544C53  # "STLS": the second key is a hash of the batch id

house_account_declare(
    code=CCP_ACCOUNT,
    kind=Account.Kind.LIABILITY,
    description="Central counterparty: every settlement posting's other side",
)


class HoldShort(ApplicationError):
    code = "hold_short"
    default_message = "The order holds less than its fills consumed."


class BatchBusy(BatchStateConflict):
    default_message = "Another worker is settling this batch."


def obligation_transfer_id(*, batch_id, partner_id, asset: str) -> uuid.UUID:
    return uuid.uuid5(TRANSFER_NAMESPACE, f"{batch_id}:{partner_id}:{asset}")


@contextmanager
def batch_step_lock(batch: SettlementBatch):
    """One worker per batch step at a time (PostgreSQL; SQLite has one writer anyway)."""
    if connection.vendor != "postgresql":
        yield
        return
    key = [STEP_LOCK_CLASS, uuid.UUID(str(batch.pk)).int % (2**31)]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", key)
        if not cursor.fetchone()[0]:
            raise BatchBusy()
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", key)


def batch_settle(
    *, batch: SettlementBatch, via: str, acting_user=None, progress=None
) -> SettlementBatch:
    """Post a cleared batch (or retry one whose settlement failed): settled when every
    obligation posted, failed (retryable) when any could not. `progress(done, total)` is
    called after each partner. A settled batch is returned as it is."""
    with transaction.atomic():
        batch = SettlementBatch.objects.select_for_update().get(pk=batch.pk)
        if batch.state == S.SETTLED:
            return batch
        if batch.state == S.FAILED and batch.failed_step == "settle":
            batch_state_set(batch, to=S.CLEARED, via=via, acting_user=acting_user, reason="retry")
        if batch.state != S.CLEARED:
            raise BatchStateConflict(f"Only a cleared batch settles; this one is {batch.state}.")
    with batch_step_lock(batch):
        partners = _partners_to_settle(batch)
        accounts = _Accounts(batch, [partner for partner, _ in partners])
        pause = settings.SETTLEMENT_PARTNER_PAUSE_MS / 1000
        done = 0
        for chunk in _chunks(partners, pause=pause):
            _chunk_settle(batch, chunk, accounts=accounts, acting_user=acting_user)
            done += len(chunk)
            if progress is not None:
                progress(done, len(partners))
            if pause:
                time.sleep(pause)
        return _batch_conclude(batch, via=via, acting_user=acting_user)


# Partners posted together in one transaction, up to this many hold releases: fewer
# commits and lookups; a refusal splits the chunk so that only the partner at fault fails.
CHUNK_RELEASES = 500


def _partners_to_settle(batch) -> list[tuple]:
    """(partner id, hold releases left) of every partner with something left to post."""
    owing = Obligation.objects.filter(batch=batch).exclude(status=Obligation.Status.POSTED)
    counts = dict(
        HoldRelease.objects.filter(batch=batch, released=False)
        .values("partner_id")
        .annotate(n=Count("id"))
        .values_list("partner_id", "n")
    )
    ids = set(owing.values_list("partner_id", flat=True)) | set(counts)
    return [(partner, counts.get(partner, 0)) for partner in sorted(ids, key=str)]


def _chunks(partners, *, pause: float):
    chunk, size = [], 0
    for partner, releases in partners:
        if chunk and (pause or size + releases > CHUNK_RELEASES):
            yield chunk
            chunk, size = [], 0
        chunk.append(partner)
        size += releases
    if chunk:
        yield chunk


def _batch_conclude(batch, *, via, acting_user) -> SettlementBatch:
    with transaction.atomic():
        batch = SettlementBatch.objects.select_for_update().get(pk=batch.pk)
        if batch.state != S.CLEARED:
            return batch
        unposted = Obligation.objects.filter(batch=batch).exclude(status=Obligation.Status.POSTED)
        failed = list(unposted.values("partner_id", "asset_id", "error_code")[:20])
        if failed or HoldRelease.objects.filter(batch=batch, released=False).exists():
            batch_state_set(
                batch,
                to=S.FAILED,
                via=via,
                acting_user=acting_user,
                reason=f"{unposted.count()} obligation(s) could not post.",
                details={"failed": [{k: str(v) for k, v in row.items()} for row in failed]},
                failed_step="settle",
            )
            logger.error("settlement_batch_failed", batch=str(batch.pk), failed=len(failed))
        else:
            batch_state_set(batch, to=S.SETTLED, via=via, acting_user=acting_user)
        return batch


RACE_RETRIES = 3


def _chunk_settle(batch, partner_ids: list, *, accounts, acting_user) -> None:
    """Post the partners' obligations and releases in one transaction; if the ledger
    refuses, each partner alone (only the one at fault fails)."""
    for attempt in range(RACE_RETRIES):
        try:
            with transaction.atomic():
                _partners_post(batch, partner_ids, accounts=accounts, acting_user=acting_user)
            return
        except ledger_errors.PendingAlreadyResolved as exc:
            # A trading release shrank one of the holds between our read and the ledger's
            # locks: read again. Past the retries it is a failure like any other.
            if attempt == RACE_RETRIES - 1:
                failure = exc
        except ApplicationError as exc:
            failure = exc
            break
    if len(partner_ids) > 1:
        for partner_id in partner_ids:
            _chunk_settle(batch, [partner_id], accounts=accounts, acting_user=acting_user)
        return
    _partner_failed(batch, partner_ids[0], failure)


def _partner_failed(batch, partner_id, exc: ApplicationError) -> None:
    logger.error(
        "settlement_obligation_failed", batch=str(batch.pk), partner=str(partner_id), code=exc.code
    )
    Obligation.objects.filter(batch=batch, partner_id=partner_id).exclude(
        status=Obligation.Status.POSTED
    ).update(
        status=Obligation.Status.FAILED,
        error_code=getattr(exc, "reason", None) or exc.code,
        error_message=f"{exc.message} {exc.details or ''}".strip()[:2000],
    )


def _partners_post(batch, partner_ids, *, accounts, acting_user) -> None:
    obligations = list(
        Obligation.objects.select_for_update()
        .filter(batch=batch, partner_id__in=partner_ids)
        .exclude(status=Obligation.Status.POSTED)
        .order_by("pk")
    )
    releases = [
        _Release(*row)
        for row in HoldRelease.objects.select_for_update()
        .filter(batch=batch, partner_id__in=partner_ids, released=False)
        .order_by("pk")
        .values_list("pk", "order_id", "amount")
    ]
    if not obligations and not releases:
        return  # posted by an earlier run: nothing twice
    operations, kept_by = _hold_operations(releases)
    transfers = [_obligation_request(batch, o, accounts) for o in obligations if o.net_amount]
    applied = LedgerAppliedIds()
    if transfers or operations:
        applied = ledger_apply_bulk(
            origin=Transfer.Origin.SETTLEMENT,
            transfers=transfers,
            hold_operations=operations,
            acting_user=acting_user,
            batch_id=batch.pk,
        )
    now = timezone.now()
    for obligation in obligations:
        obligation.status = Obligation.Status.POSTED
        obligation.transfer_id = (
            obligation_transfer_id(
                batch_id=batch.pk, partner_id=obligation.partner_id, asset=obligation.asset_id
            )
            if obligation.net_amount
            else None
        )
        obligation.error_code = obligation.error_message = ""
        obligation.posted_at = now
    obligations_mark_posted(obligations, now=now)
    moved = {}
    for release, change in zip(kept_by, applied.holds, strict=True):
        release.resolution_id = change.resolution_id
        moved[release.order_id] = change.successor_id or change.hold_id
    done = [r for r in releases if r.amount == 0]  # a fill worth less than a minor unit
    releases_mark_released([*kept_by, *done])
    order_holds_moved(moved=moved)


def obligations_mark_posted(obligations: list[Obligation], *, now) -> None:
    """Write what posting set on the obligations (posted, their transfer ids)."""
    if not obligations:
        return
    if connection.vendor != "postgresql":
        fields = ["status", "transfer_id", "error_code", "error_message", "posted_at"]
        Obligation.objects.bulk_update(obligations, fields)
        return
    # One statement (bulk_update's CASE per row and field cost more Python than the chunk's
    # ledger reads), sent with the COMMIT: nothing reads it back before.
    write_deferred(
        f"UPDATE {Obligation._meta.db_table} AS o SET status = %(status)s,"
        " transfer_id = v.transfer, error_code = '', error_message = '', posted_at = %(now)s"
        " FROM unnest(%(ids)b::bigint[], %(transfers)b::uuid[]) AS v(id, transfer)"
        " WHERE o.id = v.id AND o.id = ANY(%(ids)b::bigint[])",  # by the index: see below
        {
            "status": Obligation.Status.POSTED,
            "now": now,
            "ids": [o.pk for o in obligations],
            "transfers": [o.transfer_id for o in obligations],
        },
    )


@dataclass
class _Release:
    """A hold release as a chunk posts it: read as values (a chunk has 500)."""

    pk: int
    order_id: uuid.UUID
    amount: int
    resolution_id: uuid.UUID | None = None  # the ledger's, once posted


def releases_mark_released(releases: list[_Release]) -> None:
    if not releases:
        return
    if connection.vendor != "postgresql":
        HoldRelease.objects.bulk_update(
            [HoldRelease(pk=r.pk, released=True, resolution_id=r.resolution_id) for r in releases],
            ["released", "resolution_id"],
        )
        return
    write_deferred(  # one statement, an array per column, sent with the COMMIT
        f"UPDATE {HoldRelease._meta.db_table} AS r SET released = true,"
        " resolution_id = v.resolution"
        " FROM unnest(%(ids)b::bigint[], %(resolutions)b::uuid[]) AS v(id, resolution)"
        # The ids said twice: joined to the unnest alone, the planner hashed every release
        # of the batch (a seq scan) for each chunk's 500; by the array, the primary key.
        " WHERE r.id = v.id AND r.id = ANY(%(ids)b::bigint[])",
        {"ids": [r.pk for r in releases], "resolutions": [r.resolution_id for r in releases]},
    )


def _hold_operations(releases) -> tuple[list[HoldOperation], list[_Release]]:
    wanted = [r for r in releases if r.amount > 0]
    holds = orders_lock_with_holds(order_ids=[r.order_id for r in wanted])
    operations = []
    for release in wanted:
        hold = holds.get(release.order_id)
        if hold is None or hold.amount < release.amount:
            raise HoldShort(
                details={
                    "order": str(release.order_id),
                    "held": hold.amount if hold else 0,
                    "consumed": release.amount,
                }
            )
        keep = hold.amount - release.amount
        operations.append(
            HoldOperation(
                pending_id=hold.pk,
                action=HoldOperation.VOID,
                keep=keep,
                origin_ref=str(release.order_id),
            )
        )
    return operations, wanted


class _Accounts:
    """The batch's partners' main accounts and the CCP account per asset, read once, and
    opened here if missing (a partner receiving an asset it never held), before any
    partner's transaction: an account opened inside one that rolls back would be gone."""

    def __init__(self, batch, partner_ids):
        owed = Obligation.objects.filter(batch=batch).exclude(status=Obligation.Status.POSTED)
        needed = set(owed.values_list("partner_id", "asset_id"))
        assets = {asset for _, asset in needed}
        self.main = accounts_by_owner(partner_ids=partner_ids, assets=assets)
        missing = needed - set(self.main)
        if missing:
            from core.models import Partner

            partners = Partner.objects.in_bulk({partner for partner, _ in missing})
            for partner_id, asset in sorted(missing, key=str):
                self.main[(partner_id, asset)] = account_open(
                    partner=partners[partner_id], asset=asset
                ).pk
        self.ccp = {asset: house_account(code=CCP_ACCOUNT, asset=asset).pk for asset in assets}

    def partner(self, partner_id, asset: str):
        return self.main[(partner_id, asset)]

    def central(self, asset: str):
        return self.ccp[asset]


def _obligation_request(batch, obligation: Obligation, accounts: _Accounts) -> TransferRequest:
    partner = accounts.partner(obligation.partner_id, obligation.asset_id)
    ccp = accounts.central(obligation.asset_id)
    pays = obligation.net_amount < 0
    return TransferRequest(
        id=obligation_transfer_id(
            batch_id=batch.pk, partner_id=obligation.partner_id, asset=obligation.asset_id
        ),
        debit_account_id=partner if pays else ccp,
        credit_account_id=ccp if pays else partner,
        amount=abs(obligation.net_amount),
        asset=obligation.asset_id,
        code=SETTLEMENT_CODE,
        reference=f"settlement {batch.business_date} #{batch.cycle}",
        origin_ref=str(batch.pk),
    )
