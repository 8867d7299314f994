"""The console in a real browser (Debian's chromium via chromedriver) against a live server:
the two demo staff users run a four-eyes deposit end to end, and each step's page is kept as
a screenshot under test-artifacts/browser/."""

import pytest
from django.core.management import call_command

from core.models import AuditEvent, Partner, User
from ledger.models import Account, Adjustment, LedgerCheckRun
from tests.e2e.browser import chrome, chromium_ready, screenshot

pytestmark = pytest.mark.django_db(transaction=True)

DEMO_PASSWORD = "demo-password-for-the-browser"


@pytest.fixture
def browser():
    chromium_ready()
    driver = chrome()
    yield driver
    driver.quit()


@pytest.fixture
def demo(settings, live_server):
    settings.DEMO_PASSWORD = DEMO_PASSWORD
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False  # plain http here
    # Seeded as on a stack whose matcher has not started: no demo trades, so each test's
    # day holds only the trades it makes (tests/settlement/test_demo.py covers the demo's).
    settings.TRADING_MATCH_INLINE = False
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    return live_server.url


def _log_in(driver, base, username):
    from selenium.webdriver.common.by import By

    driver.delete_all_cookies()
    driver.get(f"{base}/admin/login/?next=/admin/")
    driver.find_element(By.NAME, "username").send_keys(username)
    driver.find_element(By.NAME, "password").send_keys(DEMO_PASSWORD)
    _submit(driver, driver.find_element(By.CSS_SELECTOR, "input[type=submit]"))
    assert "Clearhouse operations console" in driver.page_source, driver.page_source[:500]


def _submit(driver, button) -> None:
    """Click a button that loads a new page, and wait until the new page is there."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    page = driver.find_element(By.TAG_NAME, "html")
    button.click()
    WebDriverWait(driver, 15).until(expected_conditions.staleness_of(page))


def _messages(driver) -> str:
    from selenium.webdriver.common.by import By

    return " ".join(m.text for m in driver.find_elements(By.CSS_SELECTOR, "ul.messagelist li"))


def test_two_demo_staff_users_run_a_four_eyes_deposit_in_the_browser(browser, demo):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    alpha = Partner.objects.get(slug="alpha")
    account = Account.objects.get(partner=alpha, asset_id="USD", code="main")
    bank = Account.objects.get(partner=None, asset_id="USD", code="settlement_bank")
    before = account.posted_balance

    # ops (operations) proposes a bank deposit of 2,500.00 to alpha.
    _log_in(browser, demo, "ops")
    screenshot(browser, "1-dashboard")
    browser.get(
        f"{demo}/admin/ledger/adjustment/add/?debit_account={bank.pk}&credit_account={account.pk}"
    )
    browser.find_element(By.NAME, "amount").send_keys("2500.00")
    code = browser.find_element(By.NAME, "code")
    code.clear()
    code.send_keys("deposit")
    browser.find_element(By.NAME, "reason").send_keys("wire 4711 received at the bank")
    _submit(browser, browser.find_element(By.NAME, "_save"))
    assert "was added successfully" in _messages(browser), browser.page_source[:2000]
    adjustment = Adjustment.objects.get()
    assert adjustment.proposed_by.username == "ops"

    # ops cannot approve its own proposal: told at once.
    browser.get(f"{demo}/admin/ledger/adjustment/")
    browser.find_element(By.CSS_SELECTOR, f"input.action-select[value='{adjustment.pk}']").click()
    Select(browser.find_element(By.NAME, "action")).select_by_value("approve")
    _submit(browser, browser.find_element(By.NAME, "index"))
    assert "someone other than its proposer" in _messages(browser)

    # admin, the second pair of eyes, approves it with a reason.
    _log_in(browser, demo, "admin")
    browser.get(f"{demo}/admin/ledger/adjustment/")
    browser.find_element(By.CSS_SELECTOR, f"input.action-select[value='{adjustment.pk}']").click()
    Select(browser.find_element(By.NAME, "action")).select_by_value("approve")
    _submit(browser, browser.find_element(By.NAME, "index"))
    assert "Approve and post these adjustments?" in browser.page_source
    browser.find_element(By.ID, "id_reason").send_keys("matches the bank statement")
    screenshot(browser, "2-approval-confirmation")
    _submit(
        browser, browser.find_element(By.CSS_SELECTOR, "#action-confirmation input[type=submit]")
    )
    assert "Adjustments approved and posted: 1." in _messages(browser)

    adjustment.refresh_from_db()
    account.refresh_from_db()
    assert adjustment.state == Adjustment.State.APPROVED
    assert adjustment.decided_by == User.objects.get(username="admin")
    assert account.posted_balance == before + 250_000
    event = AuditEvent.objects.get(action="adjustment.approved")
    assert event.after["reason"] == "matches the bank statement"

    browser.get(f"{demo}/admin/ledger/adjustment/{adjustment.pk}/change/")
    assert "approved" in browser.page_source
    screenshot(browser, "3-adjustment")
    browser.get(f"{demo}/admin/ledger/account/{account.pk}/change/")
    assert "1,002,500.00" in browser.page_source
    screenshot(browser, "4-account-statement")
    browser.get(f"{demo}/admin/core/partner/{alpha.pk}/change/")
    screenshot(browser, "5-partner")
    browser.get(f"{demo}/admin/")
    screenshot(browser, "6-dashboard-after")
    browser.get(f"{demo}/admin/core/jobrun/")
    row = browser.find_element(By.CSS_SELECTOR, "tr.job-ledger-check")
    row.find_element(By.NAME, "reason").send_keys("after the deposit")
    _submit(browser, row.find_element(By.CSS_SELECTOR, "input[type=submit]"))
    assert "Ran ledger-check: ok (True)" in _messages(browser)
    assert LedgerCheckRun.objects.get(kind="invariants").ok
    screenshot(browser, "7-scheduled-jobs")


def _action(driver, base, changelist: str, pk, action: str, reason: str) -> str:
    """Select row `pk` of a changelist, run `action`, confirm it with `reason`; the messages."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver.get(f"{base}{changelist}")
    driver.find_element(By.CSS_SELECTOR, f"input.action-select[value='{pk}']").click()
    Select(driver.find_element(By.NAME, "action")).select_by_value(action)
    _submit(driver, driver.find_element(By.NAME, "index"))
    driver.find_element(By.ID, "id_reason").send_keys(reason)
    _submit(driver, driver.find_element(By.CSS_SELECTOR, "#action-confirmation input[type=submit]"))
    return _messages(driver)


def test_staff_approve_a_held_transfer_and_settle_the_days_trades_in_the_browser(
    browser, demo, settings
):
    from selenium.webdriver.common.by import By

    from ledger.services import TransferRequest
    from risk.models import ReviewCase
    from risk.services import transfer_submit
    from settlement.models import SettlementBatch
    from trading.models import Instrument, Trade
    from trading.services.orders import order_place

    alpha, beta = Partner.objects.get(slug="alpha"), Partner.objects.get(slug="beta")
    alpha_usd = Account.objects.get(partner=alpha, asset_id="USD", code="main")
    beta_usd = Account.objects.get(partner=beta, asset_id="USD", code="main")
    alpha_before, beta_before = alpha_usd.posted_balance, beta_usd.posted_balance
    # A partner's 15,000.00 transfer: the demo rule sends it to review.
    held = transfer_submit(
        request=TransferRequest(
            debit_account_id=alpha_usd.pk,
            credit_account_id=beta_usd.pk,
            amount=1_500_000,
            asset="USD",
            reference="browser review",
        ),
        partner=alpha,
    )
    assert held.held
    # And a trade: alpha buys 100 ACME from beta at 10.00, matched as the embedded default does.
    settings.TRADING_MATCH_INLINE = True
    acme = Instrument.objects.get(symbol="ACME/USD")
    for partner, side in ((beta, "sell"), (alpha, "buy")):
        order_place(
            partner=partner,
            instrument=acme,
            client_order_id=f"browser-{side}",
            side=side,
            type="limit",
            time_in_force="gtc",
            price=1000,
            quantity=100,
        )
    assert Trade.objects.count() == 1

    _log_in(browser, demo, "admin")
    browser.get(f"{demo}/admin/risk/reviewcase/")
    assert "Claim next (1 open)" in browser.page_source
    screenshot(browser, "8-review-queue")
    _submit(browser, browser.find_element(By.CSS_SELECTOR, "input[value^='Claim next']"))
    assert "Claimed:" in _messages(browser)
    case = ReviewCase.objects.get()
    assert case.claimed_by.username == "admin"
    screenshot(browser, "9-review-case")
    done = _action(
        browser, demo, "/admin/risk/reviewcase/", case.pk, "approve", "customer called in"
    )
    assert "Approved" in done, done
    alpha_usd.refresh_from_db()
    beta_usd.refresh_from_db()
    assert alpha_usd.posted_balance == alpha_before - 1_500_000
    assert beta_usd.posted_balance == beta_before + 1_500_000

    batch = SettlementBatch.objects.get(state=SettlementBatch.State.OPEN)
    done = _action(
        browser, demo, "/admin/settlement/settlementbatch/", batch.pk, "close", "early close"
    )
    assert "Batches closed" in done, done
    batch.refresh_from_db()
    assert batch.state == SettlementBatch.State.SETTLED  # the chain runs on from the close
    closing = batch.events.get(to_state="closed")
    assert (closing.actor.username, closing.reason) == ("admin", "early close")
    browser.get(f"{demo}/admin/settlement/settlementbatch/{batch.pk}/change/")
    screenshot(browser, "10-settled-batch")
    alpha_usd.refresh_from_db()
    assert alpha_usd.posted_balance == alpha_before - 1_500_000 - 100_000  # 100 x 10.00
    assert alpha_usd.pending_balance == 0  # the order's hold released as its obligation posted
