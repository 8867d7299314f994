"""Receivers: request log context (django-structlog), the staff groups after migrate, and
the session epoch moved when a user or partner changes in a way that must end sessions."""

import structlog
from django.db import transaction
from django.db.models.signals import post_delete, post_migrate, post_save, pre_save
from django.dispatch import receiver
from django_structlog import signals as structlog_signals

from core.models import Partner, User
from core.sessions import session_tokens_revoke_all
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


# --- Sessions end when what a token stands for changes ------------------------------------
# Partner API requests take the user and partner from the token (core/principal.py), so a
# change that must refuse a user's tokens moves the session epoch: refused on the very next
# request. A bulk QuerySet.update() sends no signal: call user_sessions_revoke_all then.

_ENDS_SESSIONS = {"password", "is_active", "partner", "partner_id"}


@receiver(pre_save, sender=User)
def _user_note_session_ending_change(sender, instance, raw=False, update_fields=None, **kw):
    instance._ends_sessions = False
    if raw or instance._state.adding or instance.pk is None:
        return
    if update_fields is not None and not _ENDS_SESSIONS & set(update_fields):
        return  # e.g. last_login on every login: no query
    before = User.objects.filter(pk=instance.pk).values("password", "is_active", "partner_id")
    before = before.first()
    instance._ends_sessions = before is not None and (
        before["password"] != instance.password
        or (before["is_active"] and not instance.is_active)
        or before["partner_id"] != instance.partner_id
    )


@receiver(post_save, sender=User)
def _user_end_sessions_after_change(sender, instance, **kwargs):
    if getattr(instance, "_ends_sessions", False):
        _revoke_now_and_on_commit([instance.pk])


@receiver(post_delete, sender=User)
def _user_end_sessions_after_delete(sender, instance, **kwargs):
    _revoke_now_and_on_commit([instance.pk])


@receiver(pre_save, sender=Partner)
def _partner_note_deactivation(sender, instance, raw=False, **kwargs):
    instance._ends_sessions = False
    if raw or instance._state.adding or instance.is_active:
        return
    was_active = Partner.objects.filter(pk=instance.pk, is_active=True).exists()
    instance._ends_sessions = was_active


@receiver(post_save, sender=Partner)
def _partner_end_sessions_after_deactivation(sender, instance, **kwargs):
    if getattr(instance, "_ends_sessions", False):
        users = User.objects.filter(partner_id=instance.pk).values_list("pk", flat=True)
        _revoke_now_and_on_commit(list(users))


def _revoke_now_and_on_commit(user_ids) -> None:
    # At once (fail closed even if the change is rolled back), and again at commit: a token
    # issued between the two, from the row as it was, is refused too.
    def revoke():
        for user_id in user_ids:
            session_tokens_revoke_all(user_id=user_id)

    revoke()
    transaction.on_commit(revoke)
