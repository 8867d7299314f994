from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class CoreConfig(AppConfig):
    default = True
    name = "core"
    verbose_name = "Partners and access"

    def ready(self):
        from core import jobs, lookups, signals  # noqa: F401 - connect receivers, register __any
        from core.api import converters  # noqa: F401 - registers the api_uuid path converter


class ClearhouseAdminConfig(admin_apps.AdminConfig):
    """Replaces django.contrib.admin so that `admin.site` is the operations console."""

    default = False
    default_site = "core.admin_site.ClearhouseAdminSite"
