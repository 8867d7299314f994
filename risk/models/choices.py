from django.db import models


class Subject(models.TextChoices):
    ORDER = "order"
    TRANSFER = "transfer"


class Outcome(models.TextChoices):
    """Ordered by severity: the worst hit wins."""

    ALLOW = "allow"
    REVIEW = "review"
    REJECT = "reject"


SEVERITY = {Outcome.ALLOW: 0, Outcome.REVIEW: 1, Outcome.REJECT: 2}
