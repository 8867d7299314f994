"""Changing what risk decides with: rule set drafts and publishing, rules, lists and
controls. Each change renews the config token, so every process reloads on its next
decision (risk.snapshot)."""

import uuid

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from core.services import audit_record, audited_delete, audited_save
from risk.errors import ReviewCaseConflict
from risk.expressions import ExpressionInvalid, expression_compile
from risk.models import ConfigStamp, Rule, RuleSet, RuleSetVersion
from risk.velocity import velocity_store


def config_changed() -> str:
    """Renew the config token (call inside the change's transaction). The cache forgets the
    old one now and learns the new one at commit: a process deciding in between reads the
    database's token, which is still the old one until the change is visible."""
    from risk.services.scoring import volume_controls_forget

    token = uuid.uuid4().hex
    ConfigStamp.objects.update_or_create(pk=1, defaults={"token": token})
    volume_controls_forget()
    store = velocity_store()
    store.token_forget()
    transaction.on_commit(lambda: store.token_set(token))
    return token


def rule_set_ensure(*, subject: str) -> RuleSet:
    return RuleSet.objects.get_or_create(subject=subject)[0]


def rule_set_draft(
    *, rule_set: RuleSet, source: RuleSetVersion | None = None, acting_user=None
) -> RuleSetVersion:
    """The set's draft; if it has none, a new one copied from `source` (default: the live
    version), its rules keeping their rule_id."""
    with transaction.atomic():
        locked = RuleSet.objects.select_for_update().get(pk=rule_set.pk)
        draft = locked.versions.filter(state=RuleSetVersion.State.DRAFT).first()
        if draft is not None:
            return draft
        live = source or locked.live_version
        number = (locked.versions.aggregate(n=Max("number"))["n"] or 0) + 1
        draft = RuleSetVersion.objects.create(
            rule_set=locked,
            number=number,
            review_threshold=live.review_threshold if live else None,
            reject_threshold=live.reject_threshold if live else None,
        )
        if live is not None:
            Rule.objects.bulk_create(
                Rule(
                    version=draft,
                    rule_id=r.rule_id,
                    name=r.name,
                    expression=r.expression,
                    outcome=r.outcome,
                    score=r.score,
                    reason_code=r.reason_code,
                    on_error=r.on_error,
                    enabled=r.enabled,
                    position=r.position,
                )
                for r in live.rules.all()
            )
        audit_record(actor=acting_user, action="risk.draft_created", target=draft)
        return draft


def rule_check(*, rule: Rule) -> None:
    """Raise ExpressionInvalid when the rule's expression cannot be saved for its subject."""
    expression_compile(source=rule.expression, subject=rule.version.rule_set.subject)


def rule_save(*, rule: Rule, acting_user=None) -> Rule:
    """Save a draft's rule after compiling it; a published version never changes."""
    rule_check(rule=rule)
    with transaction.atomic():
        version = RuleSetVersion.objects.select_for_update().get(pk=rule.version_id)
        if not version.is_draft:
            raise ReviewCaseConflict("A published version cannot change: edit the draft.")
        created = rule.pk is None
        rule.save()
        audit_record(
            actor=acting_user,
            action="risk.rule_created" if created else "risk.rule_changed",
            target=rule,
            after={"expression": rule.expression, "outcome": rule.outcome, "score": rule.score},
        )
    return rule


def rule_delete(*, rule: Rule, acting_user=None) -> None:
    with transaction.atomic():
        version = RuleSetVersion.objects.select_for_update().get(pk=rule.version_id)
        if not version.is_draft:
            raise ReviewCaseConflict("A published version cannot change: edit the draft.")
        audit_record(actor=acting_user, action="risk.rule_deleted", target=rule)
        rule.delete()


def rule_set_thresholds_set(
    *, version: RuleSetVersion, review_threshold, reject_threshold, acting_user=None
) -> RuleSetVersion:
    with transaction.atomic():
        locked = RuleSetVersion.objects.select_for_update().get(pk=version.pk)
        if not locked.is_draft:
            raise ReviewCaseConflict("A published version cannot change: edit the draft.")
        before = {"review": locked.review_threshold, "reject": locked.reject_threshold}
        locked.review_threshold, locked.reject_threshold = review_threshold, reject_threshold
        locked.save(update_fields=["review_threshold", "reject_threshold"])
        audit_record(
            actor=acting_user,
            action="risk.thresholds_changed",
            target=locked,
            before=before,
            after={"review": review_threshold, "reject": reject_threshold},
        )
        return locked


def rule_set_publish(*, version: RuleSetVersion, acting_user=None) -> RuleSetVersion:
    """Make `version` live: a draft becomes published (its rules must all compile); an
    older published version is live again (a rollback)."""
    with transaction.atomic():
        locked = RuleSetVersion.objects.select_for_update().get(pk=version.pk)
        rule_set = RuleSet.objects.select_for_update().get(pk=locked.rule_set_id)
        for rule in locked.rules.all():
            try:
                expression_compile(source=rule.expression, subject=rule_set.subject)
            except ExpressionInvalid as exc:
                raise ReviewCaseConflict(
                    f"Rule {rule.reason_code} does not compile: {exc}",
                    details={"rule": str(rule.rule_id)},
                ) from None
        if locked.is_draft:
            locked.state = RuleSetVersion.State.PUBLISHED
            locked.published_at = timezone.now()
            locked.published_by = acting_user if getattr(acting_user, "pk", None) else None
            locked.save(update_fields=["state", "published_at", "published_by"])
        before = rule_set.live_version.number if rule_set.live_version else None
        rule_set.live_version = locked
        rule_set.save(update_fields=["live_version"])
        audit_record(
            actor=acting_user,
            action="risk.version_published",
            target=rule_set,
            before={"live_version": before},
            after={"live_version": locked.number},
        )
        config_changed()
    return locked


def config_save(*, instance, acting_user=None):
    """Save a list, list entry or control from the console: audited, and live everywhere on
    the next decision."""
    with transaction.atomic():
        audited_save(instance=instance, acting_user=acting_user)
        config_changed()
    return instance


def config_delete(*, instance, acting_user=None) -> None:
    with transaction.atomic():
        audited_delete(instance=instance, acting_user=acting_user)
        config_changed()
