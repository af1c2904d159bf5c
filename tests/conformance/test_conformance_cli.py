"""`mockpanel conformance`: progress, summary, reports and exit codes, as a user runs it."""

from __future__ import annotations

import json
import os
import signal
import time
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from click.testing import CliRunner

from mockpanel import ServerThread, VirtualClock, build_panel, create_app
from mockpanel._cli import main
from mockpanel._endpoint.api import replaying
from mockpanel._endpoint.params import urlencoded_fields
from tests.helpers.broken_panels import DEFECTS, MAIN_KEY, START, open_keys


@pytest.fixture
def url():  # type: ignore[no-untyped-def]
    panel = build_panel(clock=VirtualClock(speed=0, start=START), seed=1)
    open_keys(panel)
    with ServerThread(create_app(panel)) as server:
        yield server.url + "/api/v2"


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, ["conformance", *args], catch_exceptions=False)


def test_a_passing_run_prints_progress_and_a_summary_and_writes_every_report(url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    paths = {kind: tmp_path / f"report.{kind}" for kind in ("json", "xml", "html")}
    result = invoke(url, "--key", MAIN_KEY, "--examples", "5", "--json", str(paths["json"]),
                    "--junit", str(paths["xml"]), "--html", str(paths["html"]))
    assert result.exit_code == 0, result.output
    out = result.output
    for line in ("preflight", "read-only checks", "auth: wrong, empty and missing keys", "summary:", "result: PASSED (exit 0)"):
        assert line in out
    assert MAIN_KEY not in out and "key#" in out
    data = json.loads(paths["json"].read_text())
    assert data["exit_code"] == 0 and data["counts"]["failed"] == 0 and len(data["requirements"]) > 70
    suite = ET.parse(paths["xml"]).getroot()
    assert suite.get("failures") == "0" and int(suite.get("tests")) == len(data["requirements"])
    assert "Panel conformance report" in paths["html"].read_text()


def test_a_failing_panel_exits_1(tmp_path) -> None:  # type: ignore[no-untyped-def]
    defect = next(d for d in DEFECTS if d.name == "unknown_ids_dropped")
    panel, app = defect.build()
    open_keys(panel)
    with ServerThread(app) as server:
        result = invoke(server.url + "/api/v2", "--key", MAIN_KEY, "--examples", "5", "--quiet")
    assert result.exit_code == 1
    assert "1 failed" in result.output


def test_orders_tier_prints_its_estimate_before_spending(url: str) -> None:
    result = invoke(url, "--key", MAIN_KEY, "--tier", "orders", "--link", "https://instagram.com/x",
                    "--max-spend", "2", "--examples", "5", "--programs", "2", "--steps", "15")
    assert result.exit_code in (0, 1), result.output
    out = result.output
    assert out.index("estimate") < out.index("orders placed")
    assert "hard stop" in out and "spent" in out
    assert "this run changed the mock: moved its clock by" in out and "added 1 key(s) (key#" in out


@pytest.mark.parametrize("args, message", [
    (["--tier", "orders"], "needs --link and --max-spend"),
    (["--tier", "orders", "--link", "https://x.test/p"], "needs --max-spend"),
    (["--tier", "orders", "--link", "https://x.test/p", "--max-spend", "-1"], "positive amount"),
    (["--tier", "orders", "--link", "https://x.test/p", "--max-spend", "lots"], "not an amount"),
    (["--dialect", "no-such-dialect"], "no dialect named"),
    (["--second-key", MAIN_KEY], "must differ"),
    (["--tier", "everything"], "Invalid value"),
])
def test_bad_arguments_exit_2(url: str, args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["conformance", url, "--key", MAIN_KEY, *args])
    assert result.exit_code == 2
    assert message in result.output


def test_cannot_run_exits_2(url: str) -> None:
    assert invoke("ftp://panel", "--key", "k").exit_code == 2
    result = invoke(url, "--key", MAIN_KEY, "--dialect", "no-such-dialect")
    assert result.exit_code == 2 and "no dialect named" in result.output
    result = invoke(url, "--key", "not-a-key-of-this-panel")
    assert result.exit_code == 2 and "refused --key" in result.output
    result = invoke(url.replace("/api/v2", "/nothing"), "--key", MAIN_KEY)
    assert result.exit_code == 2 and "could not run" in result.output


def test_orders_options_without_the_orders_tier_are_a_warning(url: str) -> None:
    result = CliRunner().invoke(main, ["conformance", url, "--key", MAIN_KEY, "--examples", "3", "--max-spend", "1",
                                       "--link", "https://instagram.com/x", "-q"])
    assert result.exit_code == 0, result.output
    assert "warning: --max-spend and --link given without --tier orders" in result.output
    assert "passed" in result.output and "exit 0" in result.output


def test_quiet_still_says_why_a_run_could_not_judge(url: str) -> None:
    result = invoke(url, "--key", "not-a-key-of-this-panel", "-q")
    assert result.exit_code == 2
    assert "could not judge: the panel refused --key" in result.output
    assert "preflight" not in result.output  # quiet: only the summary and the cause


class Watch:
    """ASGI middleware: the API requests a panel receives (their actions, when), and a hook on the first add."""

    def __init__(self, app: Any, on_add: Any = None) -> None:
        self.app, self.on_add = app, on_add
        self.actions: list[tuple[str, float]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        action = (urlencoded_fields(body).get("action") or "").strip().lower()
        self.actions.append((action, time.monotonic()))
        if action == "add" and self.on_add is not None and [a for a, _ in self.actions].count("add") == 1:
            self.on_add()
        await self.app(scope, replaying(body), send)


@pytest.mark.parametrize("signum, broken, code", [(signal.SIGINT, None, 2), (signal.SIGTERM, None, 2),
                                                  (signal.SIGINT, "unknown_ids_dropped", 1)],
                         ids=["SIGINT", "SIGTERM", "SIGINT-after-a-failure"])
def test_a_signal_in_the_orders_tier_stops_the_run_and_writes_every_report_marked_interrupted(
        signum: int, broken: str | None, code: int, tmp_path) -> None:  # type: ignore[no-untyped-def]
    if broken is None:
        panel = build_panel(clock=VirtualClock(speed=0, start=START), seed=1)
        api = create_app(panel)
    else:  # the read-only checks find its failure before the orders tier begins
        panel, api = next(d for d in DEFECTS if d.name == broken).build()
    open_keys(panel)
    sent: list[float] = []
    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)

    def interrupt() -> None:  # on the first add the panel receives, before it answers
        sent.append(time.monotonic())
        os.kill(os.getpid(), signum)

    app = Watch(api, interrupt)
    paths = {kind: tmp_path / f"report.{kind}" for kind in ("json", "xml", "html")}
    with ServerThread(app) as server:
        result = invoke(server.url + "/api/v2", "--key", MAIN_KEY, "--tier", "orders", "--link",
                        "https://instagram.com/x", "--max-spend", "5", "--examples", "3", "--no-control-api",
                        "--json", str(paths["json"]), "--junit", str(paths["xml"]), "--html", str(paths["html"]))
    ended = time.monotonic()
    assert sent, "the run never sent an add"
    assert ended - sent[0] < 5
    assert result.exit_code == code, result.output  # 1 if a failure was found before the signal, else 2
    name = signal.Signals(signum).name
    assert f"INTERRUPTED by {name}" in result.output
    data = json.loads(paths["json"].read_text())
    assert data["interrupted"] is True and data["interrupted_by"] == name and data["exit_code"] == code
    assert data["counts"]["passed"] > 0  # what was found before the signal is kept
    assert f"the run stopped early: interrupted by {name}" in data["notes"]
    assert ET.parse(paths["xml"]).getroot().find("properties/property[@name='interrupted']").get("value") == name
    assert f"Interrupted</b> by {name}" in paths["html"].read_text()
    adds = [when for action, when in app.actions if action == "add"]
    assert len(adds) == 1  # the one the signal came in: no add after it
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == handlers  # given back


def test_a_report_path_that_cannot_be_written_exits_2_before_any_request(tmp_path) -> None:  # type: ignore[no-untyped-def]
    panel = build_panel(clock=VirtualClock(speed=0, start=START), seed=1)
    open_keys(panel)
    app = Watch(create_app(panel))
    with ServerThread(app) as server:
        for flag in ("--json", "--junit", "--html", "--trace"):
            result = CliRunner().invoke(main, ["conformance", server.url + "/api/v2", "--key", MAIN_KEY, "--tier",
                                               "orders", "--link", "https://instagram.com/x", "--max-spend", "5",
                                               flag, str(tmp_path / "no-such-dir" / "report")])
            assert result.exit_code == 2, result.output
            assert f"cannot write {flag} " in result.output and "no request was sent" in result.output
        result = CliRunner().invoke(main, ["conformance", server.url + "/api/v2", "--key", MAIN_KEY,
                                           "--html", str(tmp_path)])  # a directory
        assert result.exit_code == 2 and "it is a directory" in result.output
    assert app.actions == []
