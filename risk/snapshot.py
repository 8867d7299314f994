"""What this process decides with: the live rule books (compiled), lists and controls, as of
a config token. Every change renews the token (risk.services.config_changed); each decision
compares the token it read from the cache (in the same round trip as its velocity) with the
loaded one and reloads when they differ, so a publish is live in every process on its next
decision. Without Redis, or should the cache miss a change, the database's token is read at
most every RELOAD_POLL_SECONDS as well."""

import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field

from risk.engine import EMPTY_BOOKS, CompiledRule, ControlSpec, RuleBook
from risk.expressions import ExpressionInvalid, expression_compile
from risk.models import ConfigStamp, Control, RiskListEntry, Rule, RuleSet
from risk.velocity import velocity_store

RELOAD_POLL_SECONDS = 1.0


@dataclass(frozen=True)
class Snapshot:
    token: str
    books: dict[str, RuleBook] = field(default_factory=lambda: dict(EMPTY_BOOKS))
    lists: dict[str, tuple[str, ...]] = field(default_factory=dict)  # value -> list names
    controls: tuple[ControlSpec, ...] = ()
    outflow_limits: bool = False  # any post-trade outflow limit: posted transfers are scored

    def lists_of(self, value) -> list[str]:
        return list(self.lists.get(str(value), ()))


_state = {"snapshot": None, "polled": 0.0}
_lock = threading.Lock()


def config_token_stored() -> str:
    return ConfigStamp.objects.values_list("token", flat=True).first() or ""


def snapshot_current(token: str | None) -> Snapshot:
    """The snapshot for `token` (the cache's), reloading if it moved on."""
    now = time.monotonic()
    if token is None:  # not in the cache (flushed, or a change not yet committed)
        token = config_token_stored()
        velocity_store().token_add(token)
        _state["polled"] = now
    elif now - _state["polled"] > RELOAD_POLL_SECONDS:
        _state["polled"] = now
        stored = config_token_stored()
        if stored != token:  # the cache missed a change: put it right for everyone
            token = stored
            velocity_store().token_set(token)
    current = _state["snapshot"]
    if current is not None and current.token == token:
        return current
    with _lock:
        current = _state["snapshot"]
        if current is None or current.token != token:
            current = _state["snapshot"] = snapshot_load(token)
    return current


def outflow_limits_set() -> bool:
    """As of the last loaded snapshot (a decision just loaded it)."""
    current = _state["snapshot"]
    return current is not None and current.outflow_limits


def snapshot_forget() -> None:
    _state["snapshot"] = None


def snapshot_load(token: str) -> Snapshot:
    books = dict(EMPTY_BOOKS)
    for rule_set in RuleSet.objects.select_related("live_version").exclude(live_version=None):
        books[rule_set.subject] = rule_book(rule_set.live_version, subject=rule_set.subject)
    lists = defaultdict(list)
    for value, name in RiskListEntry.objects.values_list("value", "risk_list__name"):
        lists[value].append(name)
    controls = tuple(
        ControlSpec(
            kind=c.kind,
            partner_id=str(c.partner_id) if c.partner_id else None,
            instrument=c.instrument,
            limit=c.limit,
            reference_price=c.reference_price,
        )
        for c in Control.objects.filter(enabled=True).exclude(kind__in=Control.POST_TRADE)
    )
    outflow = Control.objects.filter(enabled=True, kind=Control.Kind.DAILY_OUTFLOW).exists()
    return Snapshot(
        token=token,
        books=books,
        lists={value: tuple(names) for value, names in lists.items()},
        controls=controls,
        outflow_limits=outflow,
    )


def rule_book(version, *, subject: str) -> RuleBook:
    """A version's enabled rules, compiled (a rule that no longer compiles errors)."""
    rules = []
    for rule in Rule.objects.filter(version=version, enabled=True).order_by("position", "id"):
        try:
            compiled = expression_compile(source=rule.expression, subject=subject)
            program, variables, error = compiled.program, tuple(sorted(compiled.variables)), ""
        except ExpressionInvalid as exc:
            program, variables, error = None, (), f"does not compile: {exc}"
        rules.append(
            CompiledRule(
                rule_id=str(rule.rule_id),
                name=rule.name,
                reason=rule.reason_code,
                outcome=rule.outcome,
                score=rule.score,
                on_error=rule.on_error,
                program=program,
                variables=variables,
                compile_error=error,
            )
        )
    return RuleBook(
        subject=subject,
        version_id=version.pk,
        version_number=version.number,
        review_threshold=version.review_threshold,
        reject_threshold=version.reject_threshold,
        rules=tuple(rules),
    )
