"""Order entry's reads by prebuilt statements (core.prebuilt_sql) give what the ORM gives,
on every backend, and read fresh: nothing of an instrument is kept between requests."""

import pytest

from core.prebuilt_sql import row_get, values_get
from risk.models import Decision
from trading.models import MatcherState, Order
from trading.selectors import instrument_get
from trading.services.instruments import instrument_halt, instrument_resume
from trading.services.orders import order_place

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _separate_matcher(settings, matcher_alive):
    settings.TRADING_MATCH_INLINE = False


def _fields(obj):
    return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}


def test_row_get_loads_what_the_orm_loads(partner, acme, fund):
    fund(partner, "USD", 100_000)
    placed = order_place(
        partner=partner,
        instrument=acme,
        client_order_id="c1",
        side="buy",
        type="limit",
        time_in_force="gtc",
        price=1000,
        quantity=5,
    ).order
    via_orm = Order.objects.get(pk=placed.pk)
    via_sql = row_get(Order, partner_id=partner.pk, client_order_id="c1")
    assert _fields(via_sql) == _fields(via_orm)  # uuids, datetimes, JSON (risk_decision)
    stored = Decision.objects.get()  # risk's record of the order's decision
    assert via_sql.risk_decision == {"outcome": "allow", "reasons": [], "decision": str(stored.pk)}
    assert not via_sql._state.adding  # a saved row: save() updates it
    assert row_get(Order, partner_id=partner.pk, client_order_id="c2") is None


def test_values_get_reads_the_columns_asked_for(acme, matcher_alive):
    state = values_get(MatcherState, ("last_sequence", "heartbeat_at"), instrument_id=acme.pk)
    assert state == (0, matcher_alive.heartbeat_at)
    assert values_get(MatcherState, ("last_sequence",), instrument_id=acme.pk + 1) is None


def test_instrument_get_reads_a_halt_and_a_new_collar_at_once(acme):
    assert instrument_get(symbol="ACME-USD").status == "trading"
    instrument_halt(instrument=acme, acting_user=None)
    assert instrument_get(symbol="ACME/USD").status == "halted"
    instrument_resume(instrument=acme, acting_user=None)
    type(acme).objects.filter(pk=acme.pk).update(collar_high=50_000)
    fresh = instrument_get(symbol="ACME/USD")
    assert (fresh.status, fresh.collar_high) == ("trading", 50_000)
    assert (fresh.base_asset.code, fresh.base_asset.scale) == ("ACME", 0)
    assert (fresh.quote_asset.code, fresh.quote_asset.scale) == ("USD", 2)


def test_row_insert_stores_what_save_stores(partner):
    from core.models import User
    from core.prebuilt_sql import row_insert
    from ledger.models import Account

    facts = {"amount": 5, "lists": ["a"], "pending": False}
    saved = Decision(subject="transfer", subject_id=partner.pk, partner=partner, facts=facts)
    saved.save(force_insert=True)
    inserted = Decision(
        subject="transfer", subject_id=partner.pk, partner=partner, facts=facts, hits=[{"x": 1}]
    )
    row_insert(inserted)
    assert inserted.created_at is not None and not inserted._state.adding  # auto_now_add ran
    stored = {d.pk: _fields(d) for d in Decision.objects.all()}
    assert stored[inserted.pk] == {**_fields(saved), **_fields(inserted)} == _fields(inserted)
    assert stored[saved.pk]["created_at"] <= stored[inserted.pk]["created_at"]
    with pytest.raises(TypeError, match="overrides save"):
        row_insert(User(username="x"))  # its save() does more than insert
    with pytest.raises(TypeError, match="save signals"):
        row_insert(Account(partner=partner, asset_id="USD"))  # the ledger listens to its saves
