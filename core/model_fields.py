"""Model fields the apps share."""

from django.conf import settings
from django.db import models


def staff_user_field(**overrides) -> models.ForeignKey:
    """Who did it (a staff user; none for a job): kept (PROTECT), never a reverse accessor,
    not indexed unless a caller looks rows up by it (`db_index=True`)."""
    options = {
        "on_delete": models.PROTECT,
        "null": True,
        "blank": True,
        "related_name": "+",
        "db_index": False,
        **overrides,
    }
    return models.ForeignKey(settings.AUTH_USER_MODEL, **options)
