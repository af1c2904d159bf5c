"""The dashboard in a real headless Chromium, against a real ``mockpanel serve``.

Skips, saying why, where selenium or Debian's chromium + chromium-driver are missing
(.ci/run installs them).
"""

from __future__ import annotations

import time

from decimal import Decimal
from typing import Any, Callable

import pytest

from mockpanel._domain.accounts import redact
from tests.helpers.browser import chromium, needs_browser
from mockpanel._ui.view import money
from tests.helpers.common import HTTP, serving

KEY = "browser-key-1"
WAIT = 15  # seconds: the page refreshes itself every second

pytestmark = needs_browser("the dashboard test")


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
    """The element's text; the live update replaces sections every second, so an element found may be gone
    before it is read: find it again."""
    return fresh(driver, lambda d: d.find_element("css selector", css).text, f"{css} kept being replaced while it was read")


def fresh(driver: Any, act: Callable[[Any], Any], what: str = "what this step acts on kept being replaced") -> Any:
    """``act(driver)``, again while what it found was replaced by a live update before it was used (one came
    between finding a link and clicking it on a loaded machine)."""
    from selenium.common.exceptions import StaleElementReferenceException

    for _ in range(20):
        try:
            return act(driver)
        except StaleElementReferenceException:
            time.sleep(0.05)
    raise AssertionError(what)


def click(driver: Any, css: str) -> None:
    fresh(driver, lambda d: d.find_element("css selector", css).click())


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
        click(driver, f"#key-{kid} a.ledger-link")
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
        def force_partial(d: Any) -> None:  # once its select has the focus, the live update leaves the row alone
            row = d.find_element("id", f"order-{second}")
            Select(row.find_element("css selector", "select[name=status]")).select_by_visible_text("Partial")
            row.find_element("css selector", "form.force button").click()

        fresh(driver, force_partial)
        wait(driver, lambda d: d.find_element("id", f"order-{second}").get_attribute("data-status") == "Partial", "the order Partial")
        order = HTTP.get(f"{origin}/_mock/orders/{second}").json()
        refund = Decimal(order["refunded"])
        assert order["status"] == "Partial" and refund > 0
        wait(driver, lambda d: balance(d, kid) == before + refund, "the balance with the refund")
        wait(driver, lambda d: "refund" in text(d, "#ledger") and f"+{money(refund)}" in text(d, "#ledger"), "the refund in the ledger")
        assert KEY not in driver.page_source


TOKEN = "browser-admin-token"
SHOTS = "MOCKPANEL_UI_SHOTS"  # a folder: the test saves its screenshots there (for people to look at)


def test_a_first_hour_on_the_page(tmp_path):
    """The dashboard's first-hour items, in one browser session on a server with an admin token: the sign-in,
    the API's URL, adding a key, links told apart, a fault form's error beside it, a processed fault,
    an order's page, the downloads, a reset with its confirmation and a big catalogue searched."""
    import os
    import time
    from pathlib import Path

    import httpx
    from selenium.webdriver.support.ui import Select

    from mockpanel._domain.accounts import key_id

    shots = Path(os.environ.get(SHOTS) or tmp_path)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with serving("--key", KEY, "--balance", "100", "--admin-token", TOKEN) as origin, chromium(1280, 1000) as driver:
        def shot(name: str) -> None:
            driver.save_screenshot(str(shots / f"dashboard-{name}.png"))

        # A first visit is asked for the token, not told off; a wrong token is.
        driver.get(origin + "/_mock/ui")
        assert driver.find_elements("css selector", ".problem") == [] and "enter it" in text(driver, "main")
        shot("1-sign-in")
        driver.find_element("name", "token").send_keys("wrong-token")
        driver.find_element("css selector", "form button").click()
        wait(driver, lambda d: "not this server's admin token" in text(d, ".problem"), "the wrong token refused")
        driver.find_element("name", "token").send_keys(TOKEN)
        driver.find_element("css selector", "form button").click()
        wait(driver, lambda d: redact(KEY) in text(d, f"#key-{key_id(KEY)}"), "the dashboard")

        # The API's URL, to copy.
        assert driver.find_element("id", "api-url").get_attribute("value") == origin + "/api/v2"
        driver.find_element("css selector", "button[data-copy='api-url']").click()
        wait(driver, lambda d: "copied" in text(d, "#toast"), "the URL copied")

        # "Add key" creates the balance its field shows.
        form = driver.find_element("id", "add-key")
        shown = form.find_element("name", "balance").get_attribute("value")
        form.find_element("name", "key").send_keys("browser-key-2")
        form.find_element("css selector", "button").click()
        wait(driver, lambda d: balance(d, key_id("browser-key-2")) == Decimal(shown), f"the new key with {shown}")

        # Links that share their start are told apart, the whole link in the title.
        links = [f"https://www.instagram.com/p/CxSameStartLongerThanACell{n}/" for n in range(3)]
        orders = [add(origin, link) for link in links]
        wait(driver, lambda d: all(d.find_elements("id", f"order-{o}") for o in orders), "the orders")
        cells = fresh(driver, lambda d: [(c.text, c.get_attribute("title"))
                                         for c in (d.find_element("css selector", f"#order-{o} .c-link") for o in orders)])
        assert len({words for words, _ in cells}) == 3 and [title for _, title in cells] == links

        # A refused fault: its error beside its form, still there after the page's live updates.
        fault_form = driver.find_element("id", "add-fault")
        Select(fault_form.find_element("name", "kind")).select_by_visible_text("http")
        fault_form.find_element("css selector", "button").click()
        beside = "#add-fault + .form-error"
        wait(driver, lambda d: "needs a 'status'" in text(d, beside), "the error beside the fault form")
        time.sleep(1.5)  # a live update or more
        assert "needs a 'status'" in text(driver, beside)
        shot("2-fault-error")

        # The money-losing fault: add, this key only, processed: the order is placed, the client sees none.
        fault_form = driver.find_element("id", "add-fault")
        Select(fault_form.find_element("name", "kind")).select_by_visible_text("drop")
        Select(fault_form.find_element("name", "action")).select_by_visible_text("add")
        wait(driver, lambda d: redact("browser-key-2") in text(d, "#add-fault select[name=key]"), "the new key listed")
        Select(fault_form.find_element("name", "key")).select_by_visible_text(redact(KEY))
        Select(fault_form.find_element("name", "processed")).select_by_value("yes")
        fault_form.find_element("name", "count").send_keys("1")
        fault_form.find_element("css selector", "button").click()
        wait(driver, lambda d: "processed" in text(d, ".faults") and redact(KEY) in text(d, ".faults"), "the fault")
        assert driver.find_elements("css selector", beside) == []  # the error went with its success
        before = len(HTTP.get(origin + "/_mock/orders", headers=auth).json()["orders"])
        with pytest.raises(httpx.HTTPError):
            add(origin, "https://x.test/lost-answer")
        assert len(HTTP.get(origin + "/_mock/orders", headers=auth).json()["orders"]) == before + 1

        # An order's page: its plan and ETA, moved by the clock.
        click(driver, f"#order-{orders[0]} a.order-link")
        wait(driver, lambda d: "ends in" in text(d, "#order-eta"), "the order's ETA")
        assert "Status over time" in text(driver, "main") and "In progress" in text(driver, "#order-timeline")
        shot("3-order")
        driver.find_element("id", "advance-1d").click()
        wait(driver, lambda d: text(d, "#order-status") in ("Completed", "Partial"), "the order ended")
        driver.find_element("id", "back").click()
        wait(driver, lambda d: d.find_elements("id", "reset"), "the dashboard again")

        # The downloads, with the page's own sign-in (its cookie).
        fetched = driver.execute_async_script(
            "var done = arguments[0]; Promise.all(['download-har', 'download-state'].map(function (id) {"
            " return fetch(document.getElementById(id).href).then(function (r) { return r.text().then(function (t) {"
            " return [r.status, r.headers.get('content-disposition'), t]; }); }); })).then(done);")
        (har_status, har_file, har), (state_status, state_file, state) = fetched
        assert (har_status, state_status) == (200, 200) and "journal.har" in har_file and "state.json" in state_file
        assert '"log"' in har and '"mockpanel-state"' in state and KEY not in har + state
        shot("4-dashboard")

        # Reset asks first: dismissed, nothing happens; accepted, the orders are gone and the keys stay.
        driver.find_element("id", "reset").click()
        wait(driver, lambda d: d.switch_to.alert, "the confirmation").dismiss()
        time.sleep(0.5)
        assert driver.find_elements("id", f"order-{orders[0]}")
        driver.find_element("id", "reset").click()
        wait(driver, lambda d: d.switch_to.alert, "the confirmation").accept()
        wait(driver, lambda d: not d.find_elements("id", f"order-{orders[0]}"), "the orders gone")
        assert balance(driver, key_id(KEY)) == Decimal("100")

        # A big catalogue: the service filter searches as one types.
        for n in range(120):
            HTTP.post(origin + "/_mock/services", headers=auth, json={
                "service": 1000 + n, "name": f"Telegram members {n}", "type": "Default", "rate": "1", "min": 10, "max": 100})
        driver.refresh()
        wait(driver, lambda d: d.find_elements("id", "service-filter"), "the service search")
        driver.find_element("id", "service-filter").send_keys("members 11")
        wait(driver, lambda d: len(d.find_elements("css selector", "#services-found option")) == 11, "11 services found")
        assert KEY not in driver.page_source
        driver.set_window_size(400, 860)
        shot("5-narrow")
        driver.get(f"{origin}/_mock/ui/orders/{orders[0]}")  # gone with the reset
        assert "No order" in text(driver, "main")
        # Everything above ran under the pages' Content-Security-Policy: nothing it blocked (Chromium logs each).
        blocked = [e["message"] for e in driver.get_log("browser") if "Content Security Policy" in e["message"]]
        assert blocked == []
