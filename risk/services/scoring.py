"""Post-trade scoring: each posted transfer (a task enqueued when it commits) and each trade
(a task sent when the matcher's batch commits, and the beat run as a net; both read the
trades in order behind a mark) are scored against the post-trade controls;
an excess writes a RiskEvent (once per kind and subject: retries are harmless) for staff
to acknowledge. Scores are how far over the limit, in percent."""

import time

from django.db import IntegrityError, transaction
from django.utils import timezone

from ledger.selectors import partner_outflow, transfer_by_id
from risk.hooks import trade_feed
from risk.models import Control, RiskEvent, ScoringMark

TRADES_PER_SWEEP = 1000


def _limits(kind: str, partner_id) -> list[Control]:
    return list(
        Control.objects.filter(kind=kind, enabled=True).filter(partner_id__in=[partner_id])
    ) + list(Control.objects.filter(kind=kind, enabled=True, partner__isnull=True))


def _event(*, kind, partner_id, subject, subject_id, used, limit, details) -> RiskEvent | None:
    score = (used - limit) * 100 // limit
    try:
        with transaction.atomic():
            return RiskEvent.objects.create(
                kind=kind,
                partner_id=partner_id,
                subject=subject,
                subject_id=subject_id,
                score=score,
                details={**details, "used": used, "limit": limit},
            )
    except IntegrityError:
        return None  # scored before (a retried task)


def _day_start():
    return timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)


def transfer_score(*, transfer_id) -> list[RiskEvent]:
    transfer = transfer_by_id(transfer_id=transfer_id)
    partner_id = transfer.debit_account.partner_id
    if partner_id is None:
        return []
    events = []
    for control in _limits(Control.Kind.DAILY_OUTFLOW, partner_id):
        used = partner_outflow(partner_id=partner_id, asset=transfer.asset_id, since=_day_start())
        if used > control.limit:
            event = _event(
                kind="daily_outflow_over_limit",
                partner_id=partner_id,
                subject="transfer",
                subject_id=transfer.pk,
                used=used,
                limit=control.limit,
                details={"asset": transfer.asset_id},
            )
            events += [event] if event else []
    return events


def trades_score() -> int:
    """Score the trades since the mark (at most TRADES_PER_SWEEP); returns how many."""
    if not _volume_controls_exist():
        return 0
    mark, _ = ScoringMark.objects.get_or_create(name="trades")
    trades = trade_feed.since(mark.executed_at, mark.trade_id, TRADES_PER_SWEEP)
    since = _day_start()
    for trade in trades:
        for partner_id in {trade["buy_partner_id"], trade["sell_partner_id"]}:
            for control in _limits(Control.Kind.DAILY_VOLUME, partner_id):
                if control.instrument not in ("", trade["symbol"]):
                    continue
                used = trade_feed.volume_today(
                    partner_id, trade["quote_asset"], since, trade["executed_at"]
                )
                if used > control.limit:
                    _event(
                        kind="daily_volume_over_limit",
                        partner_id=partner_id,
                        subject="trade",
                        subject_id=trade["id"],
                        used=used,
                        limit=control.limit,
                        details={"symbol": trade["symbol"], "asset": trade["quote_asset"]},
                    )
        mark.executed_at, mark.trade_id = trade["executed_at"], trade["id"]
        mark.save(update_fields=["executed_at", "trade_id"])
    return len(trades)


def transfer_score_enqueue(*, transfer_id) -> None:
    """After commit, score a posted transfer, when any post-trade outflow limit is set."""
    from risk.snapshot import outflow_limits_set
    from risk.tasks import risk_transfer_score

    if outflow_limits_set():
        transaction.on_commit(lambda: risk_transfer_score.delay(str(transfer_id)))


def trades_committed() -> None:
    """The matcher calls this in the transaction that writes trades: once it commits, one
    task scores them (all since the mark), so a trade is scored as it happens. Only while a
    daily-volume control is enabled (checked at most once a second per process: the
    matcher writes hundreds of batches a second); the run on beat every 30 s stays as the
    net for a lost message and for a control enabled a moment ago."""
    from risk.tasks import risk_trades_score

    if volume_controls_enabled():
        transaction.on_commit(risk_trades_score.delay)


_VOLUME_CHECK_SECONDS = 1.0
_volume_check = {"at": float("-inf"), "enabled": False}


def volume_controls_enabled() -> bool:
    now = time.monotonic()
    if now - _volume_check["at"] >= _VOLUME_CHECK_SECONDS:
        _volume_check["enabled"] = _volume_controls_exist()
        _volume_check["at"] = now
    return _volume_check["enabled"]


def _volume_controls_exist() -> bool:
    return Control.objects.filter(kind=Control.Kind.DAILY_VOLUME, enabled=True).exists()


def volume_controls_forget() -> None:
    """Check again on the next trades (this process changed risk's configuration)."""
    _volume_check["at"] = float("-inf")
