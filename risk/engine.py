"""Evaluating a subject's facts: pre-trade controls, then the live rules, then the score
thresholds. Pure over a loaded `Snapshot` (rules compiled, lists and controls in memory);
risk.snapshot loads and reloads it."""

from dataclasses import dataclass, field

import cel

from risk.models.choices import SEVERITY, Outcome, Subject


@dataclass(frozen=True)
class CompiledRule:
    rule_id: str
    name: str
    reason: str
    outcome: str
    score: int
    on_error: str
    program: object | None  # None: it no longer compiles (it errors on every decision)
    variables: tuple[str, ...]
    compile_error: str = ""


@dataclass(frozen=True)
class RuleBook:
    subject: str
    version_id: int | None = None
    version_number: int | None = None
    review_threshold: int | None = None
    reject_threshold: int | None = None
    rules: tuple[CompiledRule, ...] = ()


@dataclass(frozen=True)
class ControlSpec:
    kind: str
    partner_id: str | None
    instrument: str
    limit: int | None
    reference_price: int | None


@dataclass
class Evaluation:
    outcome: str = Outcome.ALLOW
    score: int = 0
    hits: list[dict] = field(default_factory=list)

    @property
    def reasons(self) -> tuple[str, ...]:
        return tuple(h["reason"] for h in self.hits if h["outcome"] != Outcome.ALLOW)

    def hit(self, **hit) -> None:
        self.hits.append(hit)
        if SEVERITY[hit["outcome"]] > SEVERITY[self.outcome]:
            self.outcome = hit["outcome"]


_ERROR_OUTCOME = {"reject": Outcome.REJECT, "review": Outcome.REVIEW, "ignore": Outcome.ALLOW}


def rules_evaluate(book: RuleBook, facts: dict, evaluation: Evaluation) -> Evaluation:
    """Every enabled rule of the book over `facts`; then the thresholds on the score."""
    context = cel.Context(facts)
    for rule in book.rules:
        error = rule.compile_error
        if not error:
            try:
                result = rule.program.execute(context)
            except Exception as exc:  # CEL's own errors: a missing fact, no overload, 1/0
                error = f"{type(exc).__name__}: {str(exc)[:200]}"
            else:
                if result is True:
                    evaluation.score += rule.score
                    evaluation.hit(
                        rule=rule.rule_id,
                        reason=rule.reason,
                        outcome=rule.outcome,
                        score=rule.score,
                        values={name: facts.get(name) for name in rule.variables},
                    )
                    continue
                if result is not False:
                    error = f"not true or false: {type(result).__name__}"
        if error:
            evaluation.hit(
                rule=rule.rule_id,
                reason=rule.reason,
                outcome=_ERROR_OUTCOME[rule.on_error],
                score=0,
                values={name: facts.get(name) for name in rule.variables},
                error=error,
            )
    if book.reject_threshold is not None and evaluation.score >= book.reject_threshold:
        evaluation.hit(reason="score_reject", outcome=Outcome.REJECT, score=evaluation.score)
    elif book.review_threshold is not None and evaluation.score >= book.review_threshold:
        evaluation.hit(reason="score_review", outcome=Outcome.REVIEW, score=evaluation.score)
    return evaluation


def controls_evaluate(
    controls: tuple[ControlSpec, ...],
    facts: dict,
    evaluation: Evaluation,
    *,
    partner_id: str,
    credit_today: int,
    last_trade_price,
) -> Evaluation:
    """The pre-trade controls applying to this order's partner and instrument (orders only).
    Each refusal is a reject with the control's kind as its reason."""
    symbol = facts.get("instrument", "")
    for control in controls:
        if control.partner_id not in (None, partner_id) or control.instrument not in ("", symbol):
            continue
        refused, seen = _control_refuses(control, facts, credit_today, last_trade_price)
        if refused:
            evaluation.hit(
                control=control.kind,
                reason=refused,
                outcome=Outcome.REJECT,
                score=0,
                values=seen,
            )
    return evaluation


def _control_refuses(control, facts, credit_today, last_trade_price) -> tuple[str, dict]:
    kind, limit = control.kind, control.limit
    if kind == "kill_switch":
        return "kill_switch", {}
    if kind == "reduce_only":
        # No short selling: a sell can only reduce a position, a buy only grow one.
        return ("reduce_only" if facts["side"] == "buy" else "", {"side": facts["side"]})
    if kind == "max_quantity":
        return (
            "max_quantity" if facts["quantity"] > limit else "",
            {"quantity": facts["quantity"]},
        )
    if kind == "max_notional":
        return (
            "max_notional" if facts["notional"] > limit else "",
            {"notional": facts["notional"]},
        )
    if kind == "order_rate":
        count = facts["vel_partner_count_1m"]
        return ("order_rate" if count > limit else "", {"vel_partner_count_1m": count})
    if kind == "daily_credit":
        used = credit_today if facts["side"] == "buy" else 0
        return ("daily_credit" if used > limit else "", {"credit_today": used})
    if kind == "price_collar":
        if "price" not in facts:
            return "", {}  # a market order: bounded by the instrument's own collar
        reference = last_trade_price() or control.reference_price
        if reference is None:  # fail closed: nothing to hold the price against
            return "price_collar_no_reference", {"price": facts["price"]}
        low = reference * (10_000 - limit) // 10_000
        high = -(-reference * (10_000 + limit) // 10_000)
        seen = {"price": facts["price"], "reference": reference, "low": low, "high": high}
        return ("price_collar" if not low <= facts["price"] <= high else "", seen)
    return "", {}


EMPTY_BOOKS = {subject: RuleBook(subject=subject) for subject in Subject.values}
