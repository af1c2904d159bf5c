"""A report (an HTML file) as a person sees it: opened from disk in headless Chromium, with a screenshot.

``MOCKPANEL_SCREENSHOTS=DIR`` keeps the screenshots there (to look at them); otherwise they go to
the test's own temporary folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from tests.helpers.browser import chromium


@dataclass
class SeenPage:
    title: str
    text: str  # what is visible, as Chromium lays it out
    ran: bool  # whether a script from the panel's answers ran (window.pwned was set)
    copied: str  # the first copy-as-curl button's label after a click ("Copied"), or "" without one
    screenshot: Path


def open_report(path: Path, name: str, width: int = 1280, height: int = 1600) -> SeenPage:
    folder = Path(os.environ.get("MOCKPANEL_SCREENSHOTS") or path.parent)
    folder.mkdir(parents=True, exist_ok=True)
    shot = folder / f"{name}.png"
    with chromium(width, height) as driver:
        driver.get(path.resolve().as_uri())
        text = driver.find_element("tag name", "body").text
        ran = bool(driver.execute_script("return window.pwned === 1"))
        driver.save_screenshot(str(shot))
        buttons = driver.find_elements("css selector", "button[data-copy]")
        copied = ""
        if buttons:
            from selenium.webdriver.support.ui import WebDriverWait

            buttons[0].click()  # the label turns to "Copied" once the command is on the clipboard (async)
            try:
                WebDriverWait(driver, 5, poll_frequency=0.1).until(lambda d: buttons[0].text == "Copied")
            except Exception:  # noqa: BLE001, S110 - the label read below says what happened
                pass
            copied = buttons[0].text
        return SeenPage(driver.title, text, ran, copied, shot)
