"""``serve --cors ORIGIN`` in a real headless Chromium: a page of the listed origin reads the API's
answers (a simple form post, and a JSON post after its preflight); it cannot read the control API;
a page of an origin not listed reads nothing. Skips, saying why, without selenium or Chromium."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from starlette.responses import HTMLResponse

from mockpanel import ServerThread
from tests.helpers.browser import chromium, needs_browser
from tests.helpers.common import HTTP, serving

KEY = "cors-browser-key"

pytestmark = needs_browser("the CORS test")


@contextmanager
def site(host: str) -> Iterator[str]:
    """A blank page on another loopback origin (Linux routes all of 127/8 to lo)."""

    async def page(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            await HTMLResponse("<!doctype html><title>client</title>")(scope, receive, send)

    with ServerThread(page, host=host) as server:
        yield server.url


READ = """
var done = arguments[arguments.length - 1];
fetch(arguments[0], arguments[1]).then(function (r) { return r.text(); })
  .then(function (t) { done("read " + t); }, function (e) { done("refused " + e.name); });
"""


def _read(driver: Any, url: str, options: dict[str, Any]) -> str:
    answer: str = driver.execute_async_script(READ, url, options)
    return answer


def test_a_listed_origin_reads_the_api_and_nothing_else_does() -> None:
    with site("127.0.0.2") as listed, site("127.0.0.3") as other, \
            serving("--key", KEY, "--balance", "7", "--cors", listed) as mock, chromium() as driver:
        driver.set_script_timeout(20)
        form = {"method": "POST", "headers": {"Content-Type": "application/x-www-form-urlencoded"},
                "body": f"key={KEY}&action=balance"}
        as_json = {"method": "POST", "headers": {"Content-Type": "application/json"},
                   "body": json.dumps({"key": KEY, "action": "balance"})}  # not simple: a preflight first

        driver.get(listed + "/")
        read = _read(driver, mock + "/api/v2", form)
        assert read.startswith("read ") and json.loads(read[5:])["balance"].startswith("7.00"), read
        read = _read(driver, mock + "/api/v2", as_json)
        assert read.startswith("read ") and json.loads(read[5:])["balance"].startswith("7.00"), read
        assert _read(driver, mock + "/_mock/clock", {}) == "refused TypeError"  # never the control API
        assert _read(driver, mock + "/_mock/health", {}) == "refused TypeError"

        driver.get(other + "/")
        assert _read(driver, mock + "/api/v2", form) == "refused TypeError"
        assert _read(driver, mock + "/api/v2", as_json) == "refused TypeError"
        assert HTTP.post(mock + "/api/v2", data={"key": KEY, "action": "balance"}).json()["balance"].startswith("7.00")
