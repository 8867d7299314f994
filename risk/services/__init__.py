"""Risk decisions other apps ask for, and the writes of risk's own console.

By sub-domain: decisions (order_decision, transfer_decision: facts, velocity, controls,
rules, the stored Decision), transfers (transfer_submit: a partner's transfer through risk),
config (rule sets, drafts, publishing, the config token), review (the queue)."""

from risk.services.config import (
    config_changed,
    config_delete,
    config_save,
    rule_check,
    rule_delete,
    rule_save,
    rule_set_draft,
    rule_set_ensure,
    rule_set_publish,
    rule_set_thresholds_set,
)
from risk.services.decisions import Decision, decision_make, order_decision, transfer_decision
from risk.services.review import review_approve, review_claim_next, review_note, review_reject
from risk.services.scoring import trades_committed
from risk.services.transfers import (
    TransferSubmitted,
    order_rejection,
    transfer_batch_submit,
    transfer_submit,
)

__all__ = [
    "Decision",
    "TransferSubmitted",
    "config_changed",
    "config_delete",
    "config_save",
    "decision_make",
    "order_decision",
    "order_rejection",
    "review_approve",
    "review_claim_next",
    "review_note",
    "review_reject",
    "rule_check",
    "rule_delete",
    "rule_save",
    "rule_set_draft",
    "rule_set_ensure",
    "rule_set_publish",
    "rule_set_thresholds_set",
    "trades_committed",
    "transfer_batch_submit",
    "transfer_decision",
    "transfer_submit",
]
