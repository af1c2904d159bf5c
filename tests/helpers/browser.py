"""A headless Chromium driven by selenium, for the dashboard's browser test and screenshots.

Debian's ``chromium`` and ``chromium-driver`` (``apt-get install chromium chromium-driver``);
no driver is ever downloaded. ``BrowserMissing`` says what is missing.
"""

from __future__ import annotations

import shutil
import tempfile
from contextlib import contextmanager
from typing import Any, Iterator

import pytest

CHROMIUM = ("chromium", "chromium-browser", "google-chrome")
FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
    "--hide-scrollbars", "--force-device-scale-factor=1",
)


class BrowserMissing(RuntimeError):
    pass


def find() -> tuple[str, str]:
    """(chromium, chromedriver) paths, or BrowserMissing saying what to install."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        raise BrowserMissing("selenium is not installed (pip install selenium)") from None
    browser = next((p for p in map(shutil.which, CHROMIUM) if p), None)
    driver = shutil.which("chromedriver")
    if browser is None or driver is None:
        raise BrowserMissing("no headless Chromium here (apt-get install chromium chromium-driver)")
    return browser, driver


def needs_browser(what: str) -> pytest.MarkDecorator:
    """A skip mark for tests of ``what`` that need headless Chromium: they skip, saying what to install."""
    try:
        find()
    except BrowserMissing as exc:
        return pytest.mark.skip(reason=f"no browser for {what}: {exc}")
    return pytest.mark.skipif(False, reason="a browser is here")


@contextmanager
def chromium(width: int = 1280, height: int = 900, flags: tuple[str, ...] = ()) -> Iterator[Any]:
    """A selenium WebDriver on a fresh profile, closed afterwards; ``flags``: more of Chromium's own."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser, driver_path = find()
    with tempfile.TemporaryDirectory(prefix="mockpanel-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = browser
        for flag in (*FLAGS, *flags):
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={profile}")
        options.add_argument(f"--window-size={width},{height}")
        driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
        try:
            driver.set_page_load_timeout(20)
            yield driver
        finally:
            driver.quit()
