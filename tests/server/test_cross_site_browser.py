"""A web page cannot take the mock over: a real headless Chromium, a real ``mockpanel serve``, and an
attacker's page on another loopback origin (127.0.0.2) that sends every request a page may send
without asking (text/plain and form posts, bodiless posts) to the control API and the dashboard.

Each attack worked before the checks of _control_api/access.py (``forged``) and _server/hosts.py
(``Hosts``): it moved the clock, planted a funded key, added a ``drop`` fault and reset a panel kept
in a state file. Skips, saying why, where selenium or Debian's chromium + chromium-driver are missing.
"""

from __future__ import annotations

import json
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from starlette.requests import Request
from starlette.responses import HTMLResponse

from mockpanel import ServerThread
from tests.helpers.browser import chromium, needs_browser
from tests.helpers.common import HTTP, serving

KEY = "cross-site-key"
REBIND = "rebind.test"

pytestmark = needs_browser("the cross-site test")


def _fetches(mock: str) -> str:
    """Simple requests (no preflight): the page cannot read their answers, but they are sent."""
    calls = [
        ("/_mock/clock", "text/plain", {"advance": "30d"}),
        ("/_mock/keys", "text/plain", {"key": "planted", "balance": "999999"}),
        ("/_mock/faults", "text/plain", {"kind": "drop"}),
        ("/_mock/faults", "application/x-www-form-urlencoded", {"kind": "drop"}),
        ("/_mock/reset", None, None),
        ("/_mock/ui/act/clock", "text/plain", {"advance": "30d"}),
        ("/_mock/ui/act/reset", None, None),
    ]
    sends = []
    for path, content_type, body in calls:
        options: dict[str, Any] = {"method": "POST", "mode": "no-cors"}
        if content_type is not None:
            options["headers"] = {"Content-Type": content_type}
        if body is not None:
            options["body"] = json.dumps(body)
        sends.append(f"fetch({json.dumps(mock + path)}, {json.dumps(options)})")
    # One request the API journals, to show the page's requests do reach the server.
    api = {"method": "POST", "mode": "no-cors", "headers": {"Content-Type": "application/x-www-form-urlencoded"},
           "body": f"key={KEY}&action=balance&from=attack"}
    sends.append(f"fetch({json.dumps(mock + '/api/v2')}, {json.dumps(api)})")
    return f"""<!doctype html><title>sending</title><script>
Promise.allSettled([{", ".join(sends)}]).then(function () {{ document.title = "sent"; }});
</script>"""


def _forms(mock: str) -> str:
    """HTML forms, each into its own frame: a text/plain form can carry a JSON-looking body."""
    forms = [
        ("/_mock/keys", "text/plain", '{"key":"formkey","balance":"999999","pad":"', '"}'),
        ("/_mock/clock", "text/plain", '{"advance":"30d","pad":"', '"}'),
        ("/_mock/reset", "application/x-www-form-urlencoded", "a", "b"),
        ("/_mock/ui/act/keys", "text/plain", '{"key":"uikey","balance":"999999","pad":"', '"}'),
        ("/_mock/ui/act/reset", "application/x-www-form-urlencoded", "a", "b"),
        ("/_mock/ui/login", "application/x-www-form-urlencoded", "token", "guess"),
    ]
    html = []
    for n, (path, enctype, name, value) in enumerate(forms):
        html.append(f'<iframe name="f{n}"></iframe><form target="f{n}" method="post" enctype="{enctype}" '
                    f'action="{mock}{path}"><input name=\'{name}\' value=\'{value}\'></form>')
    return f"""<!doctype html><title>posting</title>{"".join(html)}<script>
var left = {len(forms)};
document.querySelectorAll("iframe").forEach(function (f) {{
  f.addEventListener("load", function () {{ left -= 1; if (left === 0) {{ document.title = "posted"; }} }});
}});
document.querySelectorAll("form").forEach(function (f) {{ f.submit(); }});
</script>"""


@contextmanager
def attacker(mock: str) -> Iterator[str]:
    """The attacker's site, on another loopback origin: 127.0.0.2 (Linux routes all of 127/8 to lo)."""

    async def site(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        path = Request(scope, receive).url.path
        page = _fetches(mock) if path == "/fetches" else _forms(mock)
        await HTMLResponse(page)(scope, receive, send)

    with ServerThread(site, host="127.0.0.2") as server:
        yield server.url


def wait_for(driver: Any, check: Callable[[Any], bool], what: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not check(driver):
        if time.monotonic() > deadline:
            raise AssertionError(f"the browser never showed {what}; title {driver.title!r}")
        time.sleep(0.1)


def test_no_page_of_another_origin_changes_the_mock_and_no_rebinding_name_reaches_it(tmp_path: Path) -> None:
    state = tmp_path / "panel.sqlite"
    flags = (f"--host-resolver-rules=MAP {REBIND} 127.0.0.1", "--disable-features=HttpsUpgrades")
    with serving("--key", KEY, "--balance", "100", "--state", str(state)) as mock, attacker(mock) as site, \
            chromium(flags=flags) as driver:
        order = HTTP.post(mock + "/api/v2", data={"key": KEY, "action": "add", "service": "1",
                                                 "link": "https://x.test/p", "quantity": "1000"}).json()["order"]
        before = HTTP.get(mock + "/_mock/state").json()

        driver.get(site + "/fetches")
        wait_for(driver, lambda d: d.title == "sent", "every fetch sent")
        driver.get(site + "/forms")
        wait_for(driver, lambda d: d.title == "posted", "every form posted")

        # Nothing changed: the clock, the keys, the orders, no fault, no reset ...
        assert HTTP.get(mock + "/_mock/faults").json() == []
        assert HTTP.get(f"{mock}/_mock/orders/{order}").status_code == 200
        assert HTTP.get(mock + "/_mock/state").json() == before
        # ... though the page's requests reached the server (the API journals its own).
        journal = HTTP.get(mock + "/_mock/journal").json()
        assert any("attack" in json.dumps(e) for e in journal), "the attacker's page never reached the mock"
        assert "balance" in HTTP.post(mock + "/api/v2", data={"key": KEY, "action": "balance"}).json()

        # A name of the attacker's that resolves to this machine (DNS rebinding) is refused, whatever the path.
        port = mock.rsplit(":", 1)[1]
        for path in ("/_mock/state", "/_mock/ui", "/api/v2"):
            driver.get(f"http://{REBIND}:{port}{path}")
            text = driver.find_element("tag name", "body").text
            assert f"does not answer for the name '{REBIND}'" in text and "--allow-host" in text, (path, text)
            assert "accounts" not in text


def test_a_page_served_under_an_allowed_name_still_works(tmp_path: Path) -> None:
    """--allow-host NAME: that name is served, the dashboard's own controls included."""
    flags = (f"--host-resolver-rules=MAP {REBIND} 127.0.0.1", "--disable-features=HttpsUpgrades")
    with serving("--key", KEY, "--allow-host", REBIND) as mock, chromium(flags=flags) as driver:
        port = mock.rsplit(":", 1)[1]
        origin = f"http://{REBIND}:{port}"
        start = HTTP.get(mock + "/_mock/clock").json()["now"]
        driver.get(origin + "/_mock/ui")
        wait_for(driver, lambda d: d.find_elements("css selector", "[data-post]") != [], "the dashboard's controls")
        answer = driver.execute_async_script(
            "var done = arguments[0];"
            "fetch('/_mock/ui/act/clock', {method: 'POST', headers: {'Content-Type': 'application/json',"
            " 'X-Mockpanel-UI': '1'}, body: JSON.stringify({advance: 3600})}).then(r => done(r.status));")
        assert answer == 200
        assert HTTP.get(mock + "/_mock/clock").json()["now"] == start + 3600


SCRIPT = "<script>fetch('/_mock/state').then(function (r) { return r.text(); })" \
         ".then(function (t) { document.title = 'read ' + t.length; }); document.title = 'ran';</script>"


def test_a_page_the_mock_serves_runs_no_script() -> None:
    """A fault's HTML body and a dialect's HTML answer, opened in the browser: sandboxed, their script never runs
    (it would read /_mock/state as the mock's origin)."""
    with serving("--key", KEY, "--dialect", "smartpanel-v1") as mock, chromium() as driver:
        fault = HTTP.post(mock + "/_mock/faults", json={"kind": "html", "body": f"<title>page</title>{SCRIPT}",
                                                       "content_type": "text/html; charset=utf-8"})
        assert fault.status_code == 201, fault.text
        driver.get(f"{mock}/api/v1?key={KEY}&action=balance")
        time.sleep(0.5)  # the script, were it to run, has run by now
        assert "document.title" in driver.page_source  # the page is the fault's, script included ...
        assert driver.title == "page"  # ... and it never ran
        HTTP.delete(mock + "/_mock/faults")
        # PHP's escapes (\/) leave no closing tag whole; a tag that needs none runs where script may.
        added = HTTP.post(mock + "/_mock/services", json={"service": 900, "name": "<img src=x onerror=document.title=this.tagName>",
                                                         "type": "Default", "rate": "1", "min": 10, "max": 1000})
        assert added.status_code == 201, added.text
        driver.get(f"{mock}/api/v1?key={KEY}&action=services")  # the dialect's own answer, in text/html
        time.sleep(0.5)
        assert driver.find_elements("css selector", "img[onerror]")  # the markup is in the page, as an element ...
        assert driver.title != "IMG"  # ... and its handler never ran
