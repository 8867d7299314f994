"""Risk decisions other apps ask for. Allow-all until the risk issue plugs its rules in."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Decision:
    """`outcome`: allow (go on), review (hold for a person), reject; `reasons`: rule codes."""

    ALLOW = "allow"
    REVIEW = "review"
    REJECT = "reject"

    outcome: str
    reasons: tuple[str, ...] = field(default_factory=tuple)

    def as_json(self) -> dict:
        return {"outcome": self.outcome, "reasons": list(self.reasons)}


_ALLOW = Decision(outcome=Decision.ALLOW)


def order_decision(*, order, partner) -> Decision:
    """What risk says about a new order (not yet saved): every order is allowed for now."""
    return _ALLOW
