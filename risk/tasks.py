"""Risk's Celery tasks: thin, idempotent wrappers over services (safe to retry)."""

from celery import shared_task

from risk.services.backtest import backtest_run


@shared_task
def risk_backtest_run(backtest_id: int) -> int:
    return backtest_run(backtest_id=backtest_id).done
