"""Risk fixtures: the trading ones (currencies, ACME/USD, funded accounts), and publishing
rules the way staff do (a draft, its rules saved through the service, published)."""

import pytest

from risk.models import Rule
from risk.services import rule_save, rule_set_draft, rule_set_ensure, rule_set_publish
from tests.trading.conftest import account_funded, acme, currencies, fund  # noqa: F401


def rules_publish(subject: str, *rules: dict, review_threshold=None, reject_threshold=None):
    """Publish a new version of `subject`'s rules holding exactly `rules` (dicts of Rule
    fields; reason_code and expression at least). Returns the published version."""
    draft = rule_set_draft(rule_set=rule_set_ensure(subject=subject))
    draft.rules.all().delete()
    draft.review_threshold, draft.reject_threshold = review_threshold, reject_threshold
    draft.save()
    for position, fields in enumerate(rules):
        rule_save(rule=Rule(version=draft, name=fields["reason_code"], position=position, **fields))
    return rule_set_publish(version=draft)


@pytest.fixture
def publish():
    return rules_publish
