"""Backtests: a version's rules over the stored facts of the last N days of decisions of its
subject, beside the live version's rules over the same facts: per rule how many subjects it
would hit, and how many outcomes would change (and to what). Controls are not rules, so they
are left out of both sides. Progress is written every PROGRESS_EVERY decisions."""

from collections import Counter
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from core.services import audit_record
from risk.engine import Evaluation, rules_evaluate
from risk.facts import facts_clean
from risk.models import Backtest, Decision, RuleSetVersion
from risk.snapshot import rule_book

PROGRESS_EVERY = 500
MAX_DAYS = 90


def backtest_request(*, version: RuleSetVersion, days: int, acting_user=None) -> Backtest:
    """Queue a backtest (the task runs once the request commits)."""
    from risk.tasks import risk_backtest_run

    days = max(1, min(int(days), MAX_DAYS))
    with transaction.atomic():
        backtest = Backtest.objects.create(version=version, days=days, requested_by=acting_user)
        audit_record(actor=acting_user, action="risk.backtest_requested", target=backtest)
        transaction.on_commit(lambda: risk_backtest_run.delay(backtest.pk))
    return backtest


def backtest_run(*, backtest_id: int) -> Backtest:
    """Run a queued backtest (again from the start if a worker died midway)."""
    backtest = Backtest.objects.select_related("version__rule_set__live_version").get(
        pk=backtest_id
    )
    if backtest.state == Backtest.State.DONE:
        return backtest
    version = backtest.version
    subject = version.rule_set.subject
    live = version.rule_set.live_version
    draft_book = rule_book(version, subject=subject)
    live_book = rule_book(live, subject=subject) if live is not None else None
    since = timezone.now() - timedelta(days=backtest.days)
    decisions = Decision.objects.filter(subject=subject, created_at__gte=since)
    backtest.state, backtest.total, backtest.done = Backtest.State.RUNNING, decisions.count(), 0
    backtest.save(update_fields=["state", "total", "done"])
    hits: Counter = Counter()
    changes: Counter = Counter()
    for done, facts in enumerate(decisions.values_list("facts", flat=True).iterator(1000), 1):
        facts = facts_clean(subject=subject, facts=facts)
        draft = rules_evaluate(draft_book, facts, Evaluation())
        now_outcome = (
            rules_evaluate(live_book, facts, Evaluation()).outcome if live_book else "allow"
        )
        for hit in draft.hits:
            if "rule" in hit and "error" not in hit:
                hits[hit["rule"]] += 1
        if draft.outcome != now_outcome:
            changes[f"{now_outcome}->{draft.outcome}"] += 1
        if done % PROGRESS_EVERY == 0:
            Backtest.objects.filter(pk=backtest.pk).update(done=done)
    backtest.done = backtest.total
    backtest.result = {
        "against": live.number if live else None,
        "rules": [
            {"rule": r.rule_id, "reason": r.reason, "name": r.name, "hits": hits[r.rule_id]}
            for r in draft_book.rules
        ],
        "changes": dict(sorted(changes.items())),
        "changed": sum(changes.values()),
    }
    backtest.state, backtest.finished_at = Backtest.State.DONE, timezone.now()
    backtest.save(update_fields=["done", "result", "state", "finished_at"])
    return backtest
