"""Trading in the operations console: the blotter, an order's page with its fills and
hold, the cancel actions (audited, funds released), halt/resume, the book, the matchers'
status and the dashboard tiles."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse
from django.utils import timezone

from core.models import AuditEvent
from ledger.selectors import hold_current
from trading.models import Instrument, MatcherState, Order

from .matcher_support import money_problems, place

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _inline(settings):
    settings.TRADING_MATCH_INLINE = True


@pytest.fixture
def traded(acme, partner, other_partner, fund):
    """beta rests 100 @ 10.00 and 50 @ 10.50; alpha buys 60 @ 10.00 (a fill) and rests
    a buy of 20 @ 9.00."""
    fund(partner, "USD", 10_000_000)
    fund(other_partner, "ACME", 1_000)
    sells = [
        place(other_partner, acme, "beta-sell-1", "sell", 100),
        place(other_partner, acme, "beta-sell-2", "sell", 50, 1050),
    ]
    buy = place(partner, acme, "alpha-buy-1", "buy", 60)
    resting_buy = place(partner, acme, "alpha-buy-2", "buy", 20, 900)
    return sells, buy, resting_buy


def action(client, model: str, name: str, objects, reason="ops check", confirmed=True):
    data = {"action": name, ACTION_CHECKBOX_NAME: [str(o.pk) for o in objects], "reason": reason}
    if confirmed:
        data["confirmed"] = "yes"
    return client.post(reverse(f"admin:trading_{model}_changelist"), data, follow=True)


def test_the_blotter_filters_by_status_and_finds_a_client_order_id(staff_client, traded):
    url = reverse("admin:trading_order_changelist")
    page = staff_client.get(url, {"status__exact": "partially_filled"}).content.decode()
    assert ">beta-sell-1<" in page and ">alpha-buy-1<" not in page  # it sold 60 of 100
    page = staff_client.get(url, {"q": "alpha-buy-2"}).content.decode()
    assert ">alpha-buy-2<" in page and ">beta-sell-1<" not in page
    today = timezone.now().date()
    page = staff_client.get(
        url, {"created_at__year": today.year, "created_at__month": today.month}
    ).content.decode()
    assert ">alpha-buy-1<" in page


def test_an_orders_page_shows_its_fills_and_its_hold(staff_client, traded):
    (sell, _), buy, _ = traded
    page = staff_client.get(reverse("admin:trading_order_change", args=[sell.pk])).content.decode()
    assert "Fills (1)" in page
    assert "10.00" in page and ">60<" in page
    hold = hold_current(hold_id=Order.objects.get(pk=sell.pk).hold_id)
    assert reverse("admin:ledger_transfer_change", args=[hold.pk]) in page
    assert "Cancel this order" in page  # still open
    page = staff_client.get(reverse("admin:trading_order_change", args=[buy.pk])).content.decode()
    assert "Cancel this order" not in page  # filled


def test_cancelling_an_order_from_the_console_releases_its_funds_and_is_audited(
    staff_client, staff_user, traded, acme
):
    (sell, _), _, _ = traded
    asked = action(staff_client, "order", "cancel", [sell], confirmed=False)
    assert b"Are you sure?" in asked.content
    assert Order.objects.get(pk=sell.pk).status == "partially_filled"

    done = action(staff_client, "order", "cancel", [sell])

    assert b"Orders cancelled: 1." in done.content
    sell.refresh_from_db()
    assert (sell.status, sell.cancel_reason) == ("cancelled", "staff")
    assert hold_current(hold_id=sell.hold_id).amount == 60  # what the fill consumed
    event = AuditEvent.objects.get(action="order.cancelled", target_id=str(sell.pk))
    assert event.actor == staff_user and event.after["reason"] == "ops check"
    assert money_problems(acme) == []


def test_cancel_all_for_partner_cancels_every_open_order_of_that_partner_only(
    staff_client, traded, partner, other_partner
):
    (_, second_sell), _, resting_buy = traded

    done = action(staff_client, "order", "cancel_all_for_partner", [second_sell])

    assert b"2 open orders cancelled" in done.content  # beta's s1 (partly) and s2
    assert set(Order.objects.filter(partner=other_partner).values_list("status", flat=True)) == {
        "cancelled"
    }
    assert Order.objects.get(pk=resting_buy.pk).status == "accepted"  # alpha's untouched
    assert AuditEvent.objects.filter(action="order.cancelled").count() == 2


def test_cancelling_a_filled_order_says_so_and_changes_nothing(staff_client, traded):
    _, buy, _ = traded
    done = action(staff_client, "order", "cancel", [buy])
    assert b"can no longer be cancelled" in done.content or b"The order is filled" in done.content
    assert Order.objects.get(pk=buy.pk).status == "filled"
    assert not AuditEvent.objects.filter(action="order.cancelled").exists()


def test_halt_and_resume_are_audited(staff_client, acme):
    action(staff_client, "instrument", "halt", [acme])
    assert Instrument.objects.get(pk=acme.pk).status == "halted"
    action(staff_client, "instrument", "resume", [acme])
    assert Instrument.objects.get(pk=acme.pk).status == "trading"
    actions = list(
        AuditEvent.objects.filter(target_id=str(acme.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions[-2:] == ["instrument.halted", "instrument.resumed"]


def test_the_book_view_shows_depth_from_the_database(staff_client, traded, acme):
    page = staff_client.get(reverse("admin:trading_instrument_book", args=[acme.pk])).content
    page = page.decode()
    assert "9.00" in page and ">20<" in page  # alpha's resting buy
    assert "10.00" in page and ">40<" in page  # what is left of s1
    assert "10.50" in page and ">50<" in page
    assert "spread 1.00" in page


def test_matcher_status_and_the_dashboard_tiles(staff_client, traded, acme):
    MatcherState.objects.filter(instrument=acme).update(owner="host:42", lag=7)
    page = staff_client.get(reverse("admin:trading_matcherstate_changelist")).content.decode()
    assert "host:42" in page and ">7<" in page

    dashboard = staff_client.get(reverse("admin:index")).content.decode()
    assert "Orders today" in dashboard and "Trades today" in dashboard
    assert "Notional ACME/USD" in dashboard and "600.00" in dashboard  # 60 @ 10.00
    assert "Open orders" in dashboard
    assert "Matcher ACME/USD" in dashboard and "lag 7" in dashboard


def test_an_operations_user_without_change_rights_sees_no_cancel_action(client, traded):
    from django.contrib.auth.models import Permission

    from core.models import User

    viewer = User.objects.create_user(username="auditor", password="x", is_staff=True)
    viewer.user_permissions.set(
        Permission.objects.filter(content_type__app_label="trading", codename__startswith="view_")
    )
    client.force_login(viewer)
    page = client.get(reverse("admin:trading_order_changelist")).content.decode()
    assert ">beta-sell-1<" in page
    assert 'value="cancel"' not in page
    (sell, _), _, _ = traded
    action(client, "order", "cancel", [sell])
    assert Order.objects.get(pk=sell.pk).status == "partially_filled"


def test_every_trading_tile_links_to_a_page_that_opens(staff_client, traded):
    from trading.dashboard import trading_tiles

    urls = [tile["url"] for tile in trading_tiles(None) if "url" in tile]
    assert len(urls) >= 4
    for url in urls:
        assert staff_client.get(reverse("admin:index") + url).status_code == 200, url
