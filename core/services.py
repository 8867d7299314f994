"""Writes of the core app: partners, users, sessions, audit events."""

from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.forms.models import model_to_dict
from rest_framework import exceptions
from rest_framework_simplejwt.tokens import RefreshToken

from core.api.auth_errors import TokenRefused
from core.models import AuditEvent, Partner, User
from core.principal import principal_claims
from core.sessions import (
    FAMILY_CLAIM,
    session_refresh_rotate,
    session_token_consume,
    session_tokens_register,
    session_tokens_revoke_all,
)
from core.tracing import trace_id_current


def snapshot(instance, *, exclude=("password",)) -> dict:
    """A JSON-safe picture of a model instance for before/after in audit events."""
    data = model_to_dict(instance, exclude=exclude)
    return {key: _jsonable(value) for key, value in data.items()}


def _jsonable(value):
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if hasattr(value, "pk"):
        return str(value.pk)
    return str(value)


def audit_record(*, actor, action: str, target, before=None, after=None) -> AuditEvent:
    """Append an audit event. Call inside the transaction of the change it describes."""
    return AuditEvent.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        target_type=target._meta.label_lower,
        target_id=str(target.pk),
        before=before,
        after=after,
        trace_id=trace_id_current(),
    )


@transaction.atomic
def audited_save(*, instance, acting_user, save_related=None):
    """Save a staff edit from the admin with its before/after audit event.

    `save_related` (the admin's many-to-many and inline saving) runs before the "after"
    picture is taken, so a change of groups or permissions shows in the event.
    """
    is_new = instance._state.adding
    before = None if is_new else snapshot(type(instance)._default_manager.get(pk=instance.pk))
    instance.save()
    if save_related is not None:
        save_related()
    action = "created" if is_new else "changed"
    audit_record(
        actor=acting_user,
        action=f"{instance._meta.model_name}.{action}",
        target=instance,
        before=before,
        after=snapshot(instance),
    )
    return instance


@transaction.atomic
def audited_delete(*, instance, acting_user) -> None:
    before = snapshot(instance)
    audit_record(
        actor=acting_user,
        action=f"{instance._meta.model_name}.deleted",
        target=instance,
        before=before,
    )
    instance.delete()


@transaction.atomic
def user_password_set(*, user: User, password: str, acting_user=None) -> User:
    """Set a password; every token the user holds stops working (the session epoch moves,
    core/signals.py)."""
    user.set_password(password)
    user.save(update_fields=["password"])
    audit_record(actor=acting_user, action="user.password_set", target=user)
    return user


@transaction.atomic
def staff_superuser_ensure(*, username: str, password: str) -> User:
    """The demo's staff superuser: created once, its password reset on every call."""
    user = User.objects.filter(username=username).first()
    if user is None:
        user = User.objects.create_superuser(username=username, password=password)
        audit_record(actor=None, action="user.created", target=user, after=snapshot(user))
        return user
    user.is_staff = user.is_superuser = True
    user.save(update_fields=["is_staff", "is_superuser"])
    return user_password_set(user=user, password=password)


@transaction.atomic
def staff_member_ensure(*, username: str, password: str, group: str) -> User:
    """A demo staff member (not a superuser) in one staff group: created once, its group
    and password set again on every call."""
    from django.contrib.auth.models import Group

    user = User.objects.filter(username=username).first()
    if user is None:
        user = User.objects.create_user(username=username, password=password, is_staff=True)
        audit_record(actor=None, action="user.created", target=user, after=snapshot(user))
    else:
        user.is_staff, user.is_superuser = True, False
        user.save(update_fields=["is_staff", "is_superuser"])
        user_password_set(user=user, password=password)
    user.groups.set([Group.objects.get(name=group)])
    return user


@transaction.atomic
def partner_create(*, slug: str, name: str, acting_user=None) -> Partner:
    partner = Partner.objects.create(slug=slug, name=name)
    audit_record(
        actor=acting_user, action="partner.created", target=partner, after=snapshot(partner)
    )
    return partner


@transaction.atomic
def partner_user_create(*, partner: Partner, username: str, password: str, acting_user=None):
    user = User(username=username, partner=partner)
    user.set_password(password)
    user.save()
    audit_record(actor=acting_user, action="user.created", target=user, after=snapshot(user))
    return user


# --- Sessions (JWT) ----------------------------------------------------------------------


def session_login(*, user: User, request=None):
    """Issue an access/refresh pair for a partner user and record both in the token store.

    With the login's `request` (a password login, not a refresh) it is a login in Django's
    sense: `user_logged_in` updates last_login and lets django-axes forget earlier failures.
    """
    access, refresh = _session_issue(user=user, family=None)
    if request is not None:
        user_logged_in.send(sender=user.__class__, request=request, user=user)
    return access, refresh


def _session_issue(*, user: User, family):
    if not user.is_partner_user or not user.is_active or not user.partner.is_active:
        raise exceptions.AuthenticationFailed("Invalid credentials.")
    refresh = RefreshToken.for_user(user)
    for claim, value in principal_claims(user).items():
        refresh[claim] = value
    # A login starts a family; each rotation stays in it, so reuse can revoke all of it.
    refresh[FAMILY_CLAIM] = family or refresh["jti"]
    access = refresh.access_token  # carries the same claims
    session_tokens_register(refresh, access)
    return access, refresh


def session_refresh(*, refresh: RefreshToken):
    """Rotate: the presented refresh token is consumed and can never be used again.
    Presenting it again (a stolen copy, or a client replaying) revokes its whole family:
    every access and refresh token descended from the same login is refused."""
    outcome = session_refresh_rotate(refresh)
    if outcome == "reused":
        _refresh_reuse_record(refresh)
        raise TokenRefused(
            "This refresh token was already used; every token of its session is revoked. "
            "Log in again.",
            reason="token_reused",
        )
    if outcome != "ok":
        raise TokenRefused("Refresh token has been used or revoked.", reason="token_revoked")
    user = (
        User.objects.select_related("partner")
        .filter(pk=refresh.get("user_id"), is_active=True)
        .first()
    )
    if user is None:
        raise TokenRefused("Refresh token has been used or revoked.", reason="token_revoked")
    return _session_issue(user=user, family=refresh.get(FAMILY_CLAIM) or refresh["jti"])


@transaction.atomic
def _refresh_reuse_record(refresh) -> None:
    user = User.objects.filter(pk=refresh.get("user_id")).first()
    if user is not None:
        audit_record(
            actor=None,
            action="user.refresh_token_reused",
            target=user,
            after={"family": refresh.get(FAMILY_CLAIM), "jti": refresh.get("jti")},
        )


def session_logout(*, user: User, access, refresh=None) -> None:
    session_token_consume(access)
    if refresh is not None and str(refresh.get("user_id")) == str(user.pk):
        session_token_consume(refresh)


@transaction.atomic
def user_sessions_revoke_all(*, user: User, acting_user, reason: str = "") -> None:
    """Staff action: every token the user holds is refused from the next request on."""
    session_tokens_revoke_all(user_id=user.pk)
    audit_record(
        actor=acting_user,
        action="user.sessions_revoked",
        target=user,
        after={"reason": reason} if reason else None,
    )
