"""A version's rules over given facts, deciding nothing: the console's test box."""

from risk.engine import Evaluation, rules_evaluate
from risk.facts import facts_clean
from risk.snapshot import rule_book


def version_preview(*, version, facts: dict) -> tuple[Evaluation, dict]:
    """What `version` would decide on `facts` (only the schema's facts of the schema's
    types are kept; returned beside the evaluation). Writes nothing, counts nothing."""
    subject = version.rule_set.subject
    kept = facts_clean(subject=subject, facts=facts)
    return rules_evaluate(rule_book(version, subject=subject), kept, Evaluation()), kept
