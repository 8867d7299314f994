"""Deciding: build the facts, record the velocity and read the config token (one cache
round trip), evaluate controls and rules, store the Decision (and a ReviewCase when held),
in the caller's transaction."""

import time
import uuid
from dataclasses import dataclass, field

from django.utils import timezone

from core.prebuilt_sql import row_insert
from risk.engine import Evaluation, controls_evaluate, rules_evaluate
from risk.hooks import reference_prices
from risk.models import Decision as DecisionRecord
from risk.models import ReviewCase
from risk.models.choices import Outcome, Subject
from risk.snapshot import snapshot_current
from risk.velocity import Tally, velocity_store


@dataclass(frozen=True)
class Decision:
    """`outcome`: allow (go on), review (hold for a person), reject; `reasons`: rule codes."""

    ALLOW = "allow"
    REVIEW = "review"
    REJECT = "reject"

    outcome: str
    reasons: tuple[str, ...] = field(default_factory=tuple)
    decision_id: uuid.UUID | None = None

    def as_json(self) -> dict:
        answer = {"outcome": self.outcome, "reasons": list(self.reasons)}
        if self.decision_id is not None:
            answer["decision"] = str(self.decision_id)
        return answer


def decision_make(
    *,
    subject: str,
    subject_id,
    partner,
    facts: dict,
    tally: Tally,
    record: bool = True,
    cannot_hold: str = "",
) -> Decision:
    """Decide on one subject. `facts` are the subject's own (risk.facts); velocity and list
    facts are added here. Writes the Decision row (and a ReviewCase when held)."""
    started = time.perf_counter()
    reading = velocity_store().record(tally, now=timezone.now())
    snapshot = snapshot_current(reading.token)
    facts.update(reading.facts)
    facts["partner_status"] = "active" if partner.is_active else "inactive"
    facts["partner_lists"] = snapshot.lists_of(partner.slug)
    if subject == Subject.TRANSFER:
        facts["counterparty_lists"] = snapshot.lists_of(facts["counterparty"])
        facts["reference_lists"] = (
            snapshot.lists_of(facts["reference"]) if facts["reference"] else []
        )
    evaluation = Evaluation()
    if subject == Subject.ORDER and snapshot.controls:
        symbol = facts["instrument"]
        controls_evaluate(
            snapshot.controls,
            facts,
            evaluation,
            partner_id=str(partner.pk),
            credit_today=reading.credit_today,
            last_trade_price=lambda: reference_prices.last_trade(symbol),
        )
    book = snapshot.books[subject]
    rules_evaluate(book, facts, evaluation)
    if evaluation.outcome == Outcome.REVIEW and cannot_hold:
        # What cannot wait for a person (cannot_hold says why) is refused instead.
        evaluation.hit(reason=cannot_hold, outcome=Outcome.REJECT, score=0)
    decision = DecisionRecord(
        id=uuid.uuid4(),
        subject=subject,
        subject_id=subject_id,
        partner=partner,
        outcome=evaluation.outcome,
        score=evaluation.score,
        hits=evaluation.hits,
        facts=facts,
        version_id=book.version_id,
        version_number=book.version_number,
        latency_us=int((time.perf_counter() - started) * 1e6),
    )
    if record:
        # On every order and transfer: prebuilt (the ORM's save cost 1.6x as much), and sent
        # with the caller's next statement (the ledger's lock) rather than on its own.
        row_insert(decision, deferred=True)
        if evaluation.outcome == Outcome.REVIEW:
            ReviewCase.objects.create(
                decision=decision, subject=subject, subject_id=subject_id, partner=partner
            )
    return Decision(outcome=evaluation.outcome, reasons=evaluation.reasons, decision_id=decision.id)


def order_facts(*, order) -> dict:
    instrument = order.instrument
    price = order.price if order.price is not None else instrument.collar_high
    notional = price * order.quantity // 10**instrument.base_asset.scale
    facts = {
        "amount": notional,
        "notional": notional,
        "asset": instrument.quote_asset_id,
        "partner": order.partner.slug,
        "quantity": order.quantity,
        "side": order.side,
        "order_type": order.type,
        "time_in_force": order.time_in_force,
        "instrument": instrument.symbol,
        "base_asset": instrument.base_asset_id,
    }
    if order.price is not None:
        facts["price"] = order.price
    return facts


def order_decision(*, order, partner) -> Decision:
    """What risk says about a new order (not yet saved; the Decision is written in the
    caller's transaction, so it stands or falls with the order)."""
    facts = order_facts(order=order)
    tally = Tally(
        subject=Subject.ORDER,
        partner=str(partner.pk),
        asset=facts["asset"],
        amount=facts["notional"],
        credit=facts["notional"] if order.side == "buy" else 0,
    )
    return decision_make(
        subject=Subject.ORDER, subject_id=order.id, partner=partner, facts=facts, tally=tally
    )


def transfer_facts(*, request, partner) -> dict:
    return {
        "amount": request.amount,
        "asset": request.asset,
        "partner": partner.slug,
        "counterparty": str(request.credit_account_id),
        "debit_account": str(request.debit_account_id),
        "reference": request.reference,
        "code": request.code,
        "pending": request.pending,
    }


def transfer_decision(*, request, partner, transfer_id, in_batch: bool = False) -> Decision:
    """A pending transfer that needs a review is refused (review_needs_single_phase): a hold
    risk placed cannot become the partner's own under the same id, as only its placer
    releases a hold. So is a batch item (review_not_in_batch): a batch cannot wait."""
    facts = transfer_facts(request=request, partner=partner)
    tally = Tally(
        subject=Subject.TRANSFER,
        partner=str(partner.pk),
        asset=request.asset,
        amount=request.amount,
        counterparty=facts["counterparty"],
    )
    cannot_hold = "review_needs_single_phase" if request.pending else ""
    cannot_hold = "review_not_in_batch" if in_batch else cannot_hold
    return decision_make(
        subject=Subject.TRANSFER,
        subject_id=transfer_id,
        partner=partner,
        facts=facts,
        tally=tally,
        cannot_hold=cannot_hold,
    )
