"""Rules as data: one RuleSet per subject, its versions (published ones immutable, at most
one draft) and their rules. A rule keeps its `rule_id` from version to version."""

import uuid

from django.db import models
from django.db.models import Q

from core.model_fields import staff_user_field
from risk.models.choices import Outcome, Subject


class RuleSet(models.Model):
    subject = models.CharField(max_length=16, choices=Subject.choices, unique=True)
    live_version = models.ForeignKey(
        "RuleSetVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The published version decisions use now (rollback: publish an older one).",
    )

    class Meta:
        ordering = ["subject"]
        permissions = [("draft_ruleset", "Can start a draft of a rule set")]

    def __str__(self) -> str:
        return f"{self.subject} rules"


class RuleSetVersion(models.Model):
    class State(models.TextChoices):
        DRAFT = "draft"
        PUBLISHED = "published"

    rule_set = models.ForeignKey(RuleSet, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    state = models.CharField(max_length=16, choices=State.choices, default=State.DRAFT)
    review_threshold = models.IntegerField(
        null=True, blank=True, help_text="Summed score from which the outcome is review."
    )
    reject_threshold = models.IntegerField(
        null=True, blank=True, help_text="Summed score from which the outcome is reject."
    )
    note = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = staff_user_field()

    class Meta:
        ordering = ["rule_set", "-number"]
        permissions = [("publish_rulesetversion", "Can publish a rule set version (or roll back)")]
        constraints = [
            models.UniqueConstraint(fields=["rule_set", "number"], name="ruleset_version_number"),
            models.UniqueConstraint(
                fields=["rule_set"], condition=Q(state="draft"), name="ruleset_one_draft"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rule_set.subject} v{self.number} ({self.state})"

    @property
    def is_draft(self) -> bool:
        return self.state == self.State.DRAFT


class Rule(models.Model):
    class OnError(models.TextChoices):
        """What a rule that errors (or reads a missing fact) counts as."""

        REJECT = "reject", "Reject (fail closed)"
        REVIEW = "review", "Review"
        IGNORE = "ignore", "Ignore (fail open)"

    version = models.ForeignKey(RuleSetVersion, on_delete=models.CASCADE, related_name="rules")
    rule_id = models.UUIDField(default=uuid.uuid4, help_text="The same rule across versions.")
    name = models.CharField(max_length=120)
    expression = models.TextField(help_text="CEL over the facts, true when the rule hits.")
    outcome = models.CharField(max_length=8, choices=Outcome.choices, default=Outcome.ALLOW)
    score = models.IntegerField(default=0, help_text="Added to the decision's score on a hit.")
    reason_code = models.SlugField(max_length=64)
    on_error = models.CharField(max_length=8, choices=OnError.choices, default=OnError.REJECT)
    enabled = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["version", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["version", "rule_id"], name="rule_once_per_version"),
        ]

    def __str__(self) -> str:
        return f"{self.reason_code}: {self.name}"


class ScoringMark(models.Model):
    """How far post-trade scoring has read the trades: (executed_at, id) of the last one."""

    name = models.CharField(max_length=32, unique=True)
    executed_at = models.DateTimeField(null=True, blank=True)
    trade_id = models.UUIDField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} at {self.executed_at}"


class ConfigStamp(models.Model):
    """One row: a token every change of rules, lists or controls renews. Processes compare
    it (through the cache, or this row without Redis) to the token of what they loaded."""

    token = models.CharField(max_length=32)
    changed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.token
