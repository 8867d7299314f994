from django.db import models


class RiskList(models.Model):
    """A named list (watchlist, allowlist...): rules read `"name" in partner_lists`."""

    name = models.SlugField(max_length=64, unique=True)
    description = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RiskListEntry(models.Model):
    """A partner's slug, an account id or a reference on a list."""

    risk_list = models.ForeignKey(RiskList, on_delete=models.CASCADE, related_name="entries")
    value = models.CharField(
        max_length=255, help_text="A partner's slug, an account id or a transfer reference."
    )
    note = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["risk_list", "value"]
        constraints = [
            models.UniqueConstraint(fields=["risk_list", "value"], name="risk_list_entry_once")
        ]

    def __str__(self) -> str:
        return f"{self.risk_list.name}: {self.value}"
