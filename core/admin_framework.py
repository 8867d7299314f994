"""The framework apps' console pages (groups, login lockouts, beat schedules) under the role
table. Their own actions say nothing about rights, so anyone who could view the list could
run them (disable the ledger check, run any task): here each needs a right on its model.
Groups and their permissions are a superuser's alone, whatever a group holds."""

import functools

from axes.models import AccessAttempt
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin
from django.contrib.auth.models import Group
from django.utils import timezone
from django_celery_beat.models import PeriodicTask


def _requiring(func, *rights):
    """The action `func`, allowed only to staff holding every one of `rights`."""

    @functools.wraps(func)
    def action(modeladmin, request, queryset):
        return func(modeladmin, request, queryset)

    action.allowed_permissions = rights
    return action


def _with_action_rights(model, **rights_by_action) -> None:
    registered = type(admin.site.get_model_admin(model))
    actions = [
        _requiring(getattr(registered, name), *rights) for name, rights in rights_by_action.items()
    ]
    admin.site.unregister(model)
    admin.site.register(model, type(registered.__name__, (registered,), {"actions": actions}))


_with_action_rights(
    PeriodicTask,
    enable_tasks=("change",),
    disable_tasks=("change",),
    toggle_tasks=("change",),
    run_tasks=("change",),  # any task with any arguments: the console's "run now" is narrower
)
_with_action_rights(AccessAttempt, cleanup_expired_attempts=("delete",))


def _axes_cleanup_at_now(cleanup):
    # axes reads the cool-off threshold from the time its middleware stamps on a login
    # request; from the console there is none, and the action was a 500.
    @functools.wraps(cleanup)
    def action(modeladmin, request, queryset):
        if not hasattr(request, "axes_attempt_time"):
            request.axes_attempt_time = timezone.now()
        return cleanup(modeladmin, request, queryset)

    return action


_axes_admin = type(admin.site.get_model_admin(AccessAttempt))
_axes_admin.actions = [_axes_cleanup_at_now(_axes_admin.actions[0])]


class SuperuserGroupAdmin(GroupAdmin):
    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


admin.site.unregister(Group)
admin.site.register(Group, SuperuserGroupAdmin)
