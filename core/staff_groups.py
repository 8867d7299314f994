"""The back office's roles as Django groups. Permissions follow the apps they govern."""

from django.contrib.auth.models import Group, Permission

# group -> (apps whose models it may change, apps it may only view)
STAFF_GROUPS = {
    "operations": (["core", "ledger", "trading"], ["risk", "settlement", "django_celery_beat"]),
    "risk": (["risk"], ["core", "ledger", "trading", "settlement"]),
    "settlement": (["settlement"], ["core", "ledger", "trading", "risk", "django_celery_beat"]),
    "auditor": ([], ["core", "ledger", "trading", "risk", "settlement", "django_celery_beat"]),
}


def staff_groups_sync() -> None:
    """Create the staff groups and give each its permissions (idempotent)."""
    for name, (change_apps, view_apps) in STAFF_GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        permissions = Permission.objects.filter(content_type__app_label__in=change_apps) | (
            Permission.objects.filter(
                content_type__app_label__in=view_apps, codename__startswith="view_"
            )
        )
        group.permissions.set(permissions)
