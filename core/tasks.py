import structlog
from celery import shared_task

from core.idempotency import idempotency_keys_purge as purge
from core.tracing import trace_id_current

logger = structlog.get_logger(__name__)


@shared_task
def idempotency_keys_purge() -> int:
    deleted = purge()
    logger.info("idempotency_keys_purged", deleted=deleted)
    return deleted


@shared_task
def trace_probe() -> str:
    """Returns the trace id bound in the task's log context (used by readiness checks and
    tests to see that the caller's trace id travelled with the task)."""
    logger.info("trace_probe")
    return trace_id_current()
