"""The Celery app. Eager (in-process) when no broker is configured; see settings."""

import os

from celery import Celery
from celery.signals import setup_logging

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("clearhouse")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Carries the trace id (and the rest of the log context) into tasks; see core.celery_context.
app.steps["worker"].add("core.celery_context:TaskLogContextStep")
app.autodiscover_tasks()


@setup_logging.connect
def _use_django_logging(**kwargs):
    """Workers log through the same structlog configuration as the web processes."""
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
