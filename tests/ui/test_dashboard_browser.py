"""The dashboard in a real headless Chromium, against a real ``mockpanel serve``.

Skips, saying why, where selenium or Debian's chromium + chromium-driver are missing
(.ci/run installs them).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Callable

import pytest

from mockpanel._domain.accounts import redact
from tests.helpers.browser import BrowserMissing, chromium, find
from mockpanel._ui.view import money
from tests.helpers.common import HTTP, serving

KEY = "browser-key-1"
WAIT = 15  # seconds: the page refreshes itself every second

try:
    find()
    MISSING = None
except BrowserMissing as exc:
    MISSING = str(exc)

pytestmark = pytest.mark.skipif(MISSING is not None, reason=f"no browser for the dashboard test: {MISSING}")


def wait(driver: Any, check: Callable[[Any], Any], what: str) -> Any:
    """Until ``check(driver)`` is truthy; re-reads the page each time (live updates replace it)."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException, TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    def attempt(d: Any) -> Any:
        try:
            return check(d)
        except (NoSuchElementException, StaleElementReferenceException):
            return False

    try:
        return WebDriverWait(driver, WAIT, poll_frequency=0.2).until(attempt)
    except TimeoutException:
        page = driver.find_element("tag name", "body").text[:3000]
        raise AssertionError(f"the dashboard never showed {what}; the page had:\n{page}") from None


def text(driver: Any, css: str) -> str:
    return driver.find_element("css selector", css).text  # type: ignore[no-any-return]


def add(origin: str, link: str) -> int:
    answer = HTTP.post(origin + "/api/v2", data={"key": KEY, "action": "add", "service": "1", "link": link, "quantity": "1000"}).json()
    return int(answer["order"])


def balance(driver: Any, kid: str) -> Decimal:
    return Decimal(text(driver, f"#key-{kid} .balance").split()[0])


def test_orders_move_on_the_page_as_the_clock_and_the_controls_say():
    from selenium.webdriver.support.ui import Select

    from mockpanel._domain.accounts import key_id

    kid, shown = key_id(KEY), redact(KEY)
    with serving("--key", KEY, "--balance", "100") as origin, chromium(1280, 1000) as driver:
        driver.get(origin + "/_mock/ui")
        wait(driver, lambda d: shown in text(d, f"#key-{kid}"), "the key, redacted")
        assert KEY not in driver.page_source
        assert balance(driver, kid) == Decimal("100")

        # An order placed through the API appears Pending, charged, without reloading the page.
        first = add(origin, "https://x.test/p/1?mockpanel=completed")
        wait(driver, lambda d: d.find_element("id", f"order-{first}").get_attribute("data-status") == "Pending", "the order Pending")
        charge = Decimal(HTTP.get(f"{origin}/_mock/orders/{first}").json()["price"])
        wait(driver, lambda d: balance(d, kid) == Decimal("100") - charge, "the balance less the charge")

        # The page's clock control: a day later the order is Completed.
        driver.find_element("id", "advance-1d").click()
        wait(driver, lambda d: d.find_element("id", f"order-{first}").get_attribute("data-status") == "Completed", "the order Completed")
        driver.find_element("css selector", f"#key-{kid} a.ledger-link").click()
        wait(driver, lambda d: "charge" in text(d, "#ledger"), "the ledger")
        assert str(first) in text(driver, "#ledger") and f"-{money(charge)}" in text(driver, "#ledger")
        assert balance(driver, kid) == Decimal("100") - charge

        # Forcing a Partial from the page refunds the undelivered share.
        second = add(origin, "https://x.test/p/2")
        wait(driver, lambda d: d.find_element("id", f"order-{second}").get_attribute("data-status") == "Pending",
             "the second order Pending")
        price = Decimal(HTTP.get(f"{origin}/_mock/orders/{second}").json()["price"])
        before = wait(driver, lambda d: balance(d, kid) if balance(d, kid) == Decimal("100") - charge - price else None,
                      "the second charge")
        row = driver.find_element("id", f"order-{second}")
        Select(row.find_element("css selector", "select[name=status]")).select_by_visible_text("Partial")
        row.find_element("css selector", "form.force button").click()
        wait(driver, lambda d: d.find_element("id", f"order-{second}").get_attribute("data-status") == "Partial", "the order Partial")
        order = HTTP.get(f"{origin}/_mock/orders/{second}").json()
        refund = Decimal(order["refunded"])
        assert order["status"] == "Partial" and refund > 0
        wait(driver, lambda d: balance(d, kid) == before + refund, "the balance with the refund")
        wait(driver, lambda d: "refund" in text(d, "#ledger") and f"+{money(refund)}" in text(d, "#ledger"), "the refund in the ledger")
        assert KEY not in driver.page_source
