"""Scheduled trading jobs: thin, idempotent wrappers over services (safe to retry)."""

from celery import shared_task

from trading.matching.releases import order_holds_release_pending


@shared_task
def trading_holds_release() -> int:
    """The sweep behind the matcher's own release thread: an order that ended while no
    run_matcher was up to release its hold (an inline batch whose process died before its
    releases, say) is released within the schedule's period."""
    return order_holds_release_pending()
