"""One look: the dashboard serves the stylesheet the reports inline (conformance/pages.py), before its own."""

from __future__ import annotations

from pathlib import Path

import pytest

import mockpanel
from conformance import pages
from mockpanel import ServerThread, create_app
from tests.helpers.common import HTTP


@pytest.fixture
def origin(panel):  # type: ignore[no-untyped-def]
    with ServerThread(create_app(panel)) as server:
        yield server.url


def test_the_dashboard_links_and_serves_the_shared_stylesheet_first(origin: str) -> None:
    page = HTTP.get(origin + "/_mock/ui").text
    shared, own = page.find('href="/_mock/ui/static/look.css"'), page.find('href="/_mock/ui/static/ui.css"')
    assert 0 < shared < own  # the dashboard's own sheet comes after: it adds its layout to the shared look
    sheet = HTTP.get(origin + "/_mock/ui/static/look.css")
    assert sheet.status_code == 200 and sheet.headers["content-type"].startswith("text/css")
    assert sheet.text == pages.stylesheet() and "--bg:" in sheet.text
    assert pages.stylesheet() in pages.render("base.html")  # a report inlines the same sheet


def test_the_sign_in_page_has_the_shared_look_too(panel) -> None:  # type: ignore[no-untyped-def]
    with ServerThread(create_app(panel, admin_token="t0ken")) as server:
        page = HTTP.get(server.url + "/_mock/ui")  # a server with a token asks for it, loopback or not
    assert page.status_code == 401 and 'name="token"' in page.text
    assert 0 < page.text.find("/static/look.css") < page.text.find("/static/ui.css")


def test_every_page_of_the_dashboard_links_the_shared_look_first() -> None:
    folder = Path(mockpanel.__file__).parent / "_ui" / "templates"
    pages_ = sorted(p for p in folder.glob("*.html") if "<html" in p.read_text())
    assert {p.name for p in pages_} >= {"page.html", "login.html"}
    for path in pages_:
        text = path.read_text()
        assert 0 < text.find("/static/look.css") < text.find("/static/ui.css"), path.name
