"""Each outcome end to end through the partner API: allow, review (held; then approved or
rejected in the review queue) and reject with its reason codes, for transfers and orders;
and what each leaves in the ledger meanwhile."""

import pytest

from ledger.models import Account
from ledger.services import account_open
from risk.models import Decision, ReviewCase
from risk.services import review_approve, review_claim_next, review_reject
from trading.models import Order

pytestmark = pytest.mark.django_db
TRANSFERS = "/api/v1/ledger/transfers/"
ORDERS = "/api/v1/trading/orders/"

BIG_TRANSFER = {
    "reason_code": "large_transfer",
    "expression": "amount > 1000000",
    "outcome": "review",
}


def available(account) -> int:
    return Account.objects.get(pk=account.pk).available_balance


def posted(account) -> int:
    return Account.objects.get(pk=account.pk).posted_balance


@pytest.fixture
def accounts(partner, other_partner, fund):
    return fund(partner, "USD", 5_000_000), account_open(partner=other_partner, asset="USD")


def send(client, debit, credit, amount, **extra):
    body = {
        "debit_account": str(debit.pk),
        "credit_account": str(credit.pk),
        "amount": amount,
        "asset": "USD",
        **extra,
    }
    return client.post(TRANSFERS, body, format="json")


def test_an_allowed_transfer_is_applied_and_its_decision_stored(partner_api, accounts, publish):
    publish("transfer", BIG_TRANSFER)
    alpha, beta = accounts
    response = send(partner_api, alpha, beta, "10000.00")
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "posted"
    assert posted(beta) == 1_000_000
    decision = Decision.objects.get(subject_id=response.json()["id"])
    assert (decision.outcome, decision.hits, decision.version_number) == ("allow", [], 1)
    assert decision.facts["amount"] == 1_000_000 and decision.facts["vel_partner_count_1m"] == 1


def test_a_held_transfer_reserves_its_funds_until_approval_posts_it(
    partner_api, accounts, publish, staff_user
):
    publish("transfer", BIG_TRANSFER)
    alpha, beta = accounts
    response = send(partner_api, alpha, beta, "10000.01")
    assert response.status_code == 202, response.content
    held = response.json()
    assert (held["status"], held["origin"]) == ("held", "risk")
    assert (available(alpha), posted(alpha), posted(beta)) == (5_000_000 - 1_000_001, 5_000_000, 0)
    # The partner can neither post nor void the hold risk placed.
    for action in ("post", "void"):
        refused = partner_api.post(f"{TRANSFERS}{held['id']}/{action}/", {}, format="json")
        assert refused.status_code == 409, refused.content
    assert partner_api.get(f"{TRANSFERS}?status=held").json()["results"][0]["id"] == held["id"]

    case = review_claim_next(acting_user=staff_user)
    assert (case.subject, str(case.subject_id)) == ("transfer", held["id"])
    review_approve(case=case, acting_user=staff_user, reason="known customer")

    assert partner_api.get(f"{TRANSFERS}{held['id']}/").json()["status"] == "posted"
    assert (available(alpha), posted(alpha), posted(beta)) == (
        5_000_000 - 1_000_001,
        5_000_000 - 1_000_001,
        1_000_001,
    )


def test_a_rejected_held_transfer_releases_its_funds_and_reads_rejected(
    partner_api, accounts, publish, staff_user
):
    publish("transfer", BIG_TRANSFER)
    alpha, beta = accounts
    held = send(partner_api, alpha, beta, "20000.00").json()
    case = ReviewCase.objects.get(subject_id=held["id"])
    review_reject(case=case, acting_user=staff_user, reason="mule account")
    body = partner_api.get(f"{TRANSFERS}{held['id']}/").json()
    assert body["status"] == "rejected"
    assert (available(alpha), posted(beta)) == (5_000_000, 0)
    assert partner_api.get(f"{TRANSFERS}?status=rejected").json()["results"][0]["id"] == held["id"]
    case.refresh_from_db()
    assert (case.state, case.reason, case.decided_by) == ("rejected", "mule account", staff_user)


def test_a_retried_held_transfer_replays_as_held_and_is_decided_once(
    partner_api, accounts, publish
):
    publish("transfer", BIG_TRANSFER)
    alpha, beta = accounts
    body = {"id": "3f0c2f7e-5a4b-4c1d-9e8f-0a1b2c3d4e5f"}
    first = send(partner_api, alpha, beta, "20000.00", **body)
    again = send(partner_api, alpha, beta, "20000.00", **body)
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["status"] == "held"
    assert Decision.objects.count() == 1 and available(alpha) == 5_000_000 - 2_000_000


def test_a_rejected_transfer_is_422_with_reason_codes_and_moves_nothing(
    partner_api, accounts, publish
):
    publish(
        "transfer",
        {"reason_code": "huge", "expression": "amount >= 2000000", "outcome": "reject"},
        {"reason_code": "round_amount", "expression": "amount % 100000 == 0", "outcome": "reject"},
        {"reason_code": "never", "expression": "amount < 0", "outcome": "reject"},
    )
    alpha, beta = accounts
    response = send(partner_api, alpha, beta, "20000.00")
    assert response.status_code == 422, response.content
    error = response.json()
    assert error["code"] == "risk_rejected"
    assert error["details"]["rules"] == ["huge", "round_amount"]
    assert (available(alpha), posted(beta)) == (5_000_000, 0)
    decision = Decision.objects.get(pk=error["details"]["decision"])
    assert decision.outcome == "reject"
    assert [h["values"] for h in decision.hits] == [{"amount": 2_000_000}, {"amount": 2_000_000}]


def test_a_pending_transfer_that_needs_review_is_refused(partner_api, accounts, publish):
    publish("transfer", BIG_TRANSFER)
    alpha, beta = accounts
    response = send(partner_api, alpha, beta, "20000.00", pending=True)
    assert response.status_code == 422
    assert response.json()["details"]["rules"] == ["large_transfer", "review_needs_single_phase"]


def test_a_rule_that_errors_fails_closed(partner_api, accounts, publish):
    # 1/0 errors; an order fact a transfer does not have cannot even be saved.
    publish("transfer", {"reason_code": "broken", "expression": "amount / 0 > 1"})
    alpha, beta = accounts
    response = send(partner_api, alpha, beta, "1.00")
    assert response.status_code == 422 and response.json()["details"]["rules"] == ["broken"]
    hit = Decision.objects.get().hits[0]
    assert hit["outcome"] == "reject" and "division by zero" in hit["error"]


def test_a_rule_may_say_it_fails_open(partner_api, accounts, publish):
    publish(
        "transfer",
        {"reason_code": "broken", "expression": "amount / 0 > 1", "on_error": "ignore"},
    )
    alpha, beta = accounts
    assert send(partner_api, alpha, beta, "1.00").status_code == 201


def test_score_thresholds_turn_the_summed_score_into_review_or_reject(
    partner_api, accounts, publish
):
    publish(
        "transfer",
        {"reason_code": "new_payee", "expression": "vel_counterparty_count_24h == 1", "score": 30},
        {"reason_code": "large", "expression": "amount > 500000", "score": 40},
        review_threshold=50,
        reject_threshold=100,
    )
    alpha, beta = accounts
    assert send(partner_api, alpha, beta, "100.00").status_code == 201  # 30
    assert send(partner_api, alpha, beta, "6000.00").status_code == 201  # 40: payee known now
    response = send(
        partner_api,
        alpha,
        account_open(partner=alpha.partner, asset="USD", code="savings"),
        "6000.00",
    )
    assert response.status_code == 202  # 70: a new payee and large
    assert Decision.objects.get(subject_id=response.json()["id"]).score == 70


# --- orders --------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _inline(settings):
    settings.TRADING_MATCH_INLINE = True


def order(cid="c1", side="buy", price="10.00", quantity="100", **extra):
    return {
        "client_order_id": cid,
        "symbol": "ACME/USD",
        "side": side,
        "type": "limit",
        "time_in_force": "gtc",
        "price": price,
        "quantity": quantity,
        **extra,
    }


def _drop_none(data):
    return {k: v for k, v in data.items() if v is not None}


def test_a_rejected_order_is_422_with_reasons_and_holds_nothing(
    partner_api, partner, acme, fund, publish
):
    usd = fund(partner, "USD", 100_000_000)
    publish(
        "order", {"reason_code": "notional", "expression": "notional > 100000", "outcome": "reject"}
    )
    response = partner_api.post(ORDERS, order(quantity="101"), format="json")
    assert response.status_code == 422, response.content
    assert response.json()["details"]["rules"] == ["notional"]
    stored = Order.objects.get(pk=response.json()["details"]["order"])
    assert (stored.status, stored.reject_reason, stored.hold_id) == ("rejected", "notional", None)
    assert available(usd) == 100_000_000
    again = partner_api.post(ORDERS, order(quantity="101"), format="json")
    assert again.status_code == 422 and Decision.objects.count() == 1


def test_a_held_order_waits_outside_the_book_until_approved_then_matches(
    partner_api,
    other_partner_api,
    partner,
    other_partner,
    acme,
    fund,
    publish,
    staff_user,
    django_capture_on_commit_callbacks,
):
    usd = fund(partner, "USD", 100_000_000)
    fund(other_partner, "ACME", 1_000)
    publish(
        "order",
        {
            "reason_code": "big_buy",
            "expression": "side == 'buy' && quantity >= 100",
            "outcome": "review",
        },
    )
    held = partner_api.post(ORDERS, order(), format="json").json()
    assert held["status"] == "held"
    assert available(usd) == 100_000_000 - 100_000  # held meanwhile
    sold = other_partner_api.post(ORDERS, order("s1", side="sell"), format="json").json()
    assert sold["status"] == "accepted"  # the held buy is not in the book

    with django_capture_on_commit_callbacks(execute=True):  # the matcher runs at commit
        review_approve(case=review_claim_next(acting_user=staff_user), acting_user=staff_user)

    assert partner_api.get(f"{ORDERS}{held['id']}/").json()["status"] == "filled"
    assert other_partner_api.get(f"{ORDERS}{sold['id']}/").json()["status"] == "filled"


def test_a_held_order_rejected_in_review_releases_its_hold(
    partner_api, partner, acme, fund, publish, staff_user
):
    usd = fund(partner, "USD", 100_000_000)
    publish(
        "order", {"reason_code": "big_buy", "expression": "quantity >= 100", "outcome": "review"}
    )
    held = partner_api.post(ORDERS, order(), format="json").json()
    review_reject(case=ReviewCase.objects.get(), acting_user=staff_user, reason="spoofing")
    body = partner_api.get(f"{ORDERS}{held['id']}/").json()
    assert body["status"] == "rejected"
    assert available(usd) == 100_000_000


def test_a_market_order_has_no_price_so_a_rule_reading_it_fails_closed(
    partner_api, partner, acme, fund, publish
):
    fund(partner, "USD", 100_000_000)
    publish("order", {"reason_code": "price_band", "expression": "price > 500000"})
    response = partner_api.post(
        ORDERS, _drop_none(order(type="market", time_in_force="ioc", price=None)), format="json"
    )
    assert response.status_code == 422 and response.json()["details"]["rules"] == ["price_band"]


# --- batches -------------------------------------------------------------------------------


ODD_CENT = {"reason_code": "odd_cent", "expression": "amount % 2 == 1", "outcome": "reject"}


def _batch_items(debit, credit, *amounts) -> list[dict]:
    """A transfer batch's items, debit -> credit in USD, one per amount."""
    return [
        {
            "debit_account": str(debit.pk),
            "credit_account": str(credit.pk),
            "amount": a,
            "asset": "USD",
        }
        for a in amounts
    ]


def test_a_batch_item_risk_rejects_or_would_hold_fails_alone_in_an_independent_batch(
    partner_api, accounts, publish
):
    publish("transfer", BIG_TRANSFER, ODD_CENT)
    alpha, beta = accounts
    items = _batch_items(alpha, beta, "10.00", "10.01", "20000.00")
    response = partner_api.post(
        f"{TRANSFERS}batch/", {"mode": "independent", "transfers": items}, format="json"
    )
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["created", "failed", "failed"]
    assert [r.get("code") for r in results] == [None, "risk_rejected", "risk_rejected"]
    assert results[1]["details"]["rules"] == ["odd_cent"]
    assert results[2]["details"]["rules"] == ["large_transfer", "review_not_in_batch"]
    assert posted(beta) == 1_000 and Decision.objects.count() == 3


def test_an_atomic_batch_with_a_rejected_item_applies_nothing(partner_api, accounts, publish):
    publish("transfer", ODD_CENT)
    alpha, beta = accounts
    items = _batch_items(alpha, beta, "10.00", "10.01")
    response = partner_api.post(
        f"{TRANSFERS}batch/", {"mode": "atomic", "transfers": items}, format="json"
    )
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["code"] == "risk_rejected"
    assert [r.get("code") for r in body["details"]["results"]] == [
        "linked_transfer_failed",
        "risk_rejected",
    ]
    assert (posted(beta), available(alpha)) == (0, 5_000_000)


def test_a_held_order_cancelled_meanwhile_is_withdrawn_from_the_queue(
    partner_api, partner, acme, fund, publish, staff_user
):
    usd = fund(partner, "USD", 100_000_000)
    publish("order", {"reason_code": "big", "expression": "quantity >= 100", "outcome": "review"})
    held = partner_api.post(ORDERS, order(), format="json").json()
    assert partner_api.post(f"{ORDERS}{held['id']}/cancel/", {}, format="json").status_code == 200
    case = review_approve(case=ReviewCase.objects.get(), acting_user=staff_user, reason="ok")
    assert case.state == "withdrawn" and "no longer held" in case.reason
    assert Order.objects.get(pk=held["id"]).status == "cancelled"
    assert available(usd) == 100_000_000


def test_list_membership_is_a_fact_and_a_list_edit_counts_on_the_next_transfer(
    partner_api, partner, accounts, publish
):
    from risk.models import RiskList, RiskListEntry
    from risk.services import config_delete, config_save

    publish(
        "transfer",
        {"reason_code": "watched", "expression": "'watch' in partner_lists", "outcome": "reject"},
    )
    alpha, beta = accounts
    assert send(partner_api, alpha, beta, "1.00").status_code == 201
    watch = config_save(instance=RiskList(name="watch"))
    entry = config_save(instance=RiskListEntry(risk_list=watch, value=partner.slug))
    response = send(partner_api, alpha, beta, "1.00")
    assert response.status_code == 422 and response.json()["details"]["rules"] == ["watched"]
    config_delete(instance=entry)
    assert send(partner_api, alpha, beta, "1.00").status_code == 201
