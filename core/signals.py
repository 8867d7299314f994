"""Receivers: request log context (django-structlog) and the staff groups after migrate."""

import structlog
from django.db.models.signals import post_migrate
from django.dispatch import receiver
from django_structlog import signals as structlog_signals

from core.staff_groups import ROLE_TABLE, staff_groups_sync


@receiver(structlog_signals.bind_extra_request_metadata)
def _bind_trace_id(request, logger, **kwargs):
    # django-structlog clears the context per request; bind the trace id again.
    structlog.contextvars.bind_contextvars(trace_id=getattr(request, "trace_id", ""))


@receiver(structlog_signals.bind_extra_request_finished_metadata)
def _bind_user_and_partner(request, logger, response, **kwargs):
    # DRF authenticates inside the view, so user and partner are known only at the end.
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        structlog.contextvars.bind_contextvars(
            user_id=user.pk, partner_id=str(user.partner_id) if user.partner_id else None
        )


@receiver(post_migrate)
def _sync_staff_groups(sender, app_config=None, **kwargs):
    # post_migrate fires once per app, after that app's permissions exist; syncing after
    # each of the apps the groups govern means none is missed (the sync is idempotent).
    governed = {model.split(".")[0] for model in ROLE_TABLE}
    if app_config is not None and app_config.label in governed:
        staff_groups_sync()
