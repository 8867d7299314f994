"""The Celery app. Eager (in-process) when no broker is configured; see settings."""

import os

from celery import Celery
from celery.signals import setup_logging
from django_structlog.celery.steps import DjangoStructLogInitStep

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("clearhouse")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.steps["worker"].add(DjangoStructLogInitStep)  # carries the trace id into tasks
app.autodiscover_tasks()


@setup_logging.connect
def _use_django_logging(**kwargs):
    """Workers log through the same structlog configuration as the web processes."""
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
