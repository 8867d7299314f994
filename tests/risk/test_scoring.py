"""Post-trade scoring: a posted transfer or a trade that takes a partner past a post-trade
limit writes one risk event (however often the task runs), which staff acknowledge."""

import pytest

from ledger.services import account_open
from risk.models import Control, RiskEvent
from risk.services import config_save
from risk.services.events import risk_event_acknowledge
from risk.tasks import risk_trades_score, risk_transfer_score
from trading.services.orders import order_place

pytestmark = pytest.mark.django_db
TRANSFERS = "/api/v1/ledger/transfers/"


def test_a_posted_transfer_over_the_daily_outflow_writes_one_event(
    partner_api, partner, other_partner, fund, staff_user, django_capture_on_commit_callbacks
):
    config_save(instance=Control(kind="daily_outflow", partner=partner, limit=150_000))
    alpha = fund(partner, "USD", 1_000_000)
    beta = account_open(partner=other_partner, asset="USD")
    ids = []
    for amount in ("1000.00", "1000.00"):
        body = {
            "debit_account": str(alpha.pk),
            "credit_account": str(beta.pk),
            "amount": amount,
            "asset": "USD",
        }
        with django_capture_on_commit_callbacks(execute=True):  # the task is sent at commit
            ids.append(partner_api.post(TRANSFERS, body, format="json").json()["id"])
    event = RiskEvent.objects.get()
    assert (event.kind, str(event.subject_id), event.score) == (
        "daily_outflow_over_limit",
        ids[1],
        33,
    )
    assert event.details == {"asset": "USD", "used": 200_000, "limit": 150_000}
    assert risk_transfer_score.delay(ids[1]).get() == 0  # again: no second event
    risk_event_acknowledge(event=event, acting_user=staff_user)
    event.refresh_from_db()
    assert event.acknowledged_by == staff_user


def test_trades_past_the_daily_volume_write_an_event_per_trade_once(
    partner, other_partner, fund, acme, settings
):
    settings.TRADING_MATCH_INLINE = True
    fund(partner, "USD", 10_000_000)
    fund(other_partner, "ACME", 1_000)
    config_save(instance=Control(kind="daily_volume", partner=partner, limit=150_000))
    for i in range(2):  # two trades of 100 x 10.00 = 1,000.00 each
        order_place(
            partner=other_partner,
            instrument=acme,
            client_order_id=f"s{i}",
            side="sell",
            type="limit",
            time_in_force="gtc",
            price=1000,
            quantity=100,
        )
        order_place(
            partner=partner,
            instrument=acme,
            client_order_id=f"b{i}",
            side="buy",
            type="limit",
            time_in_force="gtc",
            price=1000,
            quantity=100,
        )
    assert risk_trades_score.delay().get() == 2
    assert risk_trades_score.delay().get() == 0  # behind the mark now
    event = RiskEvent.objects.get()
    assert (event.kind, event.partner, event.details["used"]) == (
        "daily_volume_over_limit",
        partner,
        200_000,
    )


def test_trades_are_scored_when_the_matcher_commits_them_without_waiting_for_the_sweep(
    partner, other_partner, fund, acme, settings, django_capture_on_commit_callbacks
):
    settings.TRADING_MATCH_INLINE = True
    fund(partner, "USD", 10_000_000)
    fund(other_partner, "ACME", 1_000)
    config_save(instance=Control(kind="daily_volume", partner=partner, limit=50_000))
    with django_capture_on_commit_callbacks(execute=True):  # the matcher's commit, the task
        for side, who in (("sell", other_partner), ("buy", partner)):
            order_place(
                partner=who,
                instrument=acme,
                client_order_id=f"{side}-now",
                side=side,
                type="limit",
                time_in_force="gtc",
                price=1000,
                quantity=100,
            )
    event = RiskEvent.objects.get()  # nobody ran the sweep
    assert (event.kind, event.partner, event.details["used"]) == (
        "daily_volume_over_limit",
        partner,
        100_000,
    )
    assert risk_trades_score.delay().get() == 0  # the sweep finds nothing left to score
