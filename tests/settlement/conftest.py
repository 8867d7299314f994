"""Settlement fixtures: trading's (currencies, ACME/USD, funded accounts), and trades
between alpha and beta made through order entry with inline matching."""

from datetime import datetime, time

import pytest
import time_machine

from settlement.services.windows import business_zone
from tests.trading.conftest import account_funded, acme, currencies, fund  # noqa: F401
from tests.trading.matcher_support import place  # noqa: F401 - settlement's tests import it here


@pytest.fixture(autouse=True)
def _inline(settings):
    settings.TRADING_MATCH_INLINE = True


@pytest.fixture
def business_time(settings):
    """travel(hour): today at that hour, business time, the clock ticking on from there,
    with the cutoff at 18:00: for tests whose batch dates depend on which side of the
    cutoff they run (trades after it go to the next day's batch)."""
    settings.SETTLEMENT_CUTOFF = "18:00"
    travels = []

    def travel(hour: int) -> datetime:
        zone = business_zone()
        moment = datetime.combine(datetime.now(zone).date(), time(hour), tzinfo=zone)
        travels.append(time_machine.travel(moment, tick=True))
        travels[-1].start()
        return moment

    yield travel
    for traveller in reversed(travels):
        traveller.stop()
