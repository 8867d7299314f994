"""Demo rules: a transfer over 10,000.00 goes to review; an order over 1,000,000.00 notional
is rejected; more than 20 orders a minute from one partner go to review. Amounts are minor
units of an asset with 2 decimals (the demo's USD, EUR and CNY).

Idempotent: a rule set that has a live version already is left as it is (staff may have
changed it since)."""

from core.demo import register_demo_seeder
from risk.models import Rule
from risk.models.choices import Subject
from risk.services import rule_save, rule_set_draft, rule_set_ensure, rule_set_publish

DEMO_RULES = {
    Subject.TRANSFER: [
        {
            "name": "Transfer over 10,000.00",
            "reason_code": "large_transfer",
            "expression": "amount > 1000000",
            "outcome": "review",
        },
    ],
    Subject.ORDER: [
        {
            "name": "Order over 1,000,000.00 notional",
            "reason_code": "large_notional",
            "expression": "notional > 100000000",
            "outcome": "reject",
        },
        {
            "name": "More than 20 orders a minute from one partner",
            "reason_code": "order_burst",
            "expression": "vel_partner_count_1m > 20",
            "outcome": "review",
        },
    ],
}


@register_demo_seeder("risk")
def seed(*, acting_user, stdout) -> None:
    for subject, rules in DEMO_RULES.items():
        rule_set = rule_set_ensure(subject=subject)
        if rule_set.live_version_id is not None:
            continue
        draft = rule_set_draft(rule_set=rule_set, acting_user=acting_user)
        for position, fields in enumerate(rules):
            rule_save(
                rule=Rule(version=draft, position=position, **fields), acting_user=acting_user
            )
        rule_set_publish(version=draft, acting_user=acting_user)
        stdout.write(f"  risk: {subject} rules v{draft.number} published ({len(rules)} rules)")
