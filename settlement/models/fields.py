"""Fields settlement's models share."""

from django.conf import settings
from django.db import models


def staff_user_field(**kwargs) -> models.ForeignKey:
    """Who did it (a staff user; none for a job): kept, never cascaded, not indexed."""
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        **kwargs,
    )
