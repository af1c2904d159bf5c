"""One look, one engine: the dashboard's pages and the reports are rendered by the same Jinja2
settings (conformance/pages.py) from the same layout (base.html: head, top bar, main), and share the
stylesheet the reports inline and the dashboard serves. The dashboard's pages carry a policy that lets
only the server's own files run (no inline script or style), and are never framed."""

from __future__ import annotations

import re
from pathlib import Path

import jinja2
import pytest

import mockpanel
from conformance import pages
from mockpanel import ServerThread, create_app
from mockpanel._proxy.journal import ProxyJournal
from mockpanel._proxy.report import build, to_html
from mockpanel._ui import app as ui, view
from tests.helpers.common import HTTP

UI_TEMPLATES = Path(mockpanel.__file__).parent / "_ui" / "templates"
# base.html's frame, as every page has it: the head's first lines, the bar with the brand first, one main.
FRAME = re.compile(
    r'<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<meta name="viewport" [^>]*>\n.*'
    r'</head>\n<body[^>]*>\n<header class="top">\n  <div class="brand">(?P<brand>.*?)</div>\n.*</header>\n'
    r"<main[^>]*>\n.*\n</main>.*</body>\n</html>\n$", re.DOTALL)


@pytest.fixture
def origin(panel):  # type: ignore[no-untyped-def]
    with ServerThread(create_app(panel)) as server:
        yield server.url


def report() -> str:
    """A real report page: the proxy's, of a run that saw no traffic."""
    return to_html(build("http://panel.test/api/v2", ProxyJournal(), "standard"))


def frame(page: str) -> re.Match[str]:
    found = FRAME.match(page)
    assert found is not None, f"not base.html's frame: {page[:600]}"
    return found


def bar(page: str) -> str:
    return page[page.index('<header class="top">'):page.index("</header>")]


def test_the_dashboard_and_a_report_share_the_frame_the_top_bar_and_the_stylesheet(origin: str) -> None:
    dashboard = HTTP.get(origin + "/_mock/ui").text
    page = report()
    for text in (dashboard, page):
        assert "mockpanel</" in frame(text)["brand"]
    assert re.sub(r"<a [^>]*>|</a>", "", frame(dashboard)["brand"]).startswith(frame(page)["brand"])  # <strong>mockpanel</strong>
    assert 'class="clock" data-live="clock"' in bar(dashboard) and "verdict" in bar(page)  # each its own right side
    # The stylesheet: the report inlines it, the dashboard links it (first) and serves the same file.
    assert pages.stylesheet() in page and "<style>" not in dashboard
    shared, own = dashboard.find('href="/_mock/ui/static/look.css"'), dashboard.find('href="/_mock/ui/static/ui.css"')
    assert 0 < shared < own  # the dashboard's own sheet comes after: it adds its layout to the shared look
    sheet = HTTP.get(origin + "/_mock/ui/static/look.css")
    assert sheet.status_code == 200 and sheet.headers["content-type"].startswith("text/css")
    assert sheet.text == pages.stylesheet() and "--bg:" in sheet.text and ".top {" in sheet.text


def test_the_sign_in_and_an_order_page_have_the_frame_too(panel) -> None:  # type: ignore[no-untyped-def]
    with ServerThread(create_app(panel, admin_token="t0ken")) as server:
        sign_in = HTTP.get(server.url + "/_mock/ui")  # a server with a token asks for it, loopback or not
        missing = HTTP.get(server.url + "/_mock/ui/orders/404", headers={"Authorization": "Bearer t0ken"})
    assert sign_in.status_code == 401 and 'name="token"' in sign_in.text
    assert frame(sign_in.text)["brand"] == "<strong>mockpanel</strong>"  # nothing of the panel before the sign-in
    assert "dialect" not in bar(sign_in.text) and "<script" not in sign_in.text
    assert missing.status_code == 404 and "No order 404" in missing.text
    assert "dialect" in frame(missing.text)["brand"]
    for text in (sign_in.text, missing.text):
        assert 0 < text.find("/static/look.css") < text.find("/static/ui.css")


def test_every_page_of_the_dashboard_extends_base_html_and_renders_with_the_reports_settings() -> None:
    env = ui.TEMPLATES
    assert env is pages.environment(UI_TEMPLATES, money=view.money_filter, short_link=view.short_link)
    assert env.undefined is jinja2.StrictUndefined and env.autoescape is True and env.trim_blocks
    assert "base.html" in env.list_templates() and "page.html" in env.list_templates()

    def parent(name: str) -> str | None:
        source = env.loader.get_source(env, name)[0]  # type: ignore[union-attr]
        node = env.parse(source).find(jinja2.nodes.Extends)
        return None if node is None else node.template.value  # type: ignore[attr-defined]

    full = {p.name for p in UI_TEMPLATES.glob("*.html") if not p.name.startswith("_")}
    assert full >= {"page.html", "order.html", "login.html", "dashboard.html"}
    for name in full:
        chain = [name]
        while (up := parent(chain[-1])) is not None:
            chain.append(up)
        assert chain[-1] == "base.html", f"{name} is not built on base.html: {chain}"
    for name in (p.name for p in UI_TEMPLATES.glob("_*.html")):  # the live sections are fragments, no page
        assert "<html" not in (UI_TEMPLATES / name).read_text() and parent(name) is None
    with pytest.raises(jinja2.UndefinedError):  # strict: a name a context lacks is an error, as in a report
        env.get_template("_clock.html").render()


def test_the_dashboards_pages_let_only_its_own_files_run_and_are_never_framed(origin: str) -> None:
    for path in ("/_mock/ui", "/_mock/ui/orders/1"):
        answer = HTTP.get(origin + path)
        policy = answer.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "script-src 'self'" in policy and "style-src 'self'" in policy
        assert "frame-ancestors 'none'" in policy and "unsafe" not in policy
        assert answer.headers["x-content-type-options"] == "nosniff"
        # What the policy would block is absent: no inline script, no style element or attribute.
        assert not re.search(r"<script(?![^>]*\bsrc=)|<style|\sstyle=|\son[a-z]+=", answer.text), path
    live = HTTP.get(origin + "/_mock/ui/live").json()["sections"]
    assert not re.search(r"<script|<style|\sstyle=|\son[a-z]+=", "".join(live.values()))
    for name in ("look.css", "ui.css", "ui.js"):
        assert HTTP.get(origin + "/_mock/ui/static/" + name).headers["x-content-type-options"] == "nosniff"


def test_strict_rendering_holds_for_every_kind_of_fault_on_the_page(panel) -> None:  # type: ignore[no-untyped-def]
    """Each kind shows different fields (a latency fault has no status, a drop no seconds): the strict
    environment turns a field a template reads but a kind lacks into an error, so each kind is shown once."""
    app = create_app(panel)
    kinds = {"http": {"status": 502}, "html": {"status": 500}, "latency": {"seconds": 1}, "drop": {"processed": True}}
    for kind in view.FAULT_KINDS:
        app.state.control.add_fault({"kind": kind, "action": "status", "probability": 0.5, **kinds.get(kind, {})})
    with ServerThread(app) as server:
        page, live = HTTP.get(server.url + "/_mock/ui"), HTTP.get(server.url + "/_mock/ui/live")
    assert page.status_code == live.status_code == 200
    shown = live.json()["sections"]["faults"]
    assert all(f'class="badge fault">{kind}' in shown for kind in view.FAULT_KINDS)
    assert "http 502" in shown and "latency 1.0s" in shown and "processed</b>" in shown
