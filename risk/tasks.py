"""Risk's Celery tasks: thin, idempotent wrappers over services (safe to retry)."""

from celery import shared_task

from risk.services.backtest import backtest_run


@shared_task
def risk_backtest_run(backtest_id: int) -> int:
    return backtest_run(backtest_id=backtest_id).done


@shared_task
def risk_transfer_score(transfer_id: str) -> int:
    from risk.services.scoring import transfer_score

    return len(transfer_score(transfer_id=transfer_id))


@shared_task
def risk_trades_score() -> int:
    from risk.services.scoring import trades_score

    return trades_score()
