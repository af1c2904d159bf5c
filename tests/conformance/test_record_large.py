"""``mockpanel record`` of panels whose services answer is large, deep or holds what a catalogue cannot:
a recording is served by ``serve --from`` whole, or ``record`` exits non-zero with one line saying why,
and never leaves a recording behind that ``serve --from`` would refuse."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner
from conformance._exchange import depth
from conformance._record_stream import ArrayItems, StreamError

from mockpanel import ServerThread, build_panel, create_app
from mockpanel._cli import main
from mockpanel._recproxy_cli import from_recording
from tests.helpers.common import HTTP

KEY = "record-large-key-1"


def _mock(catalog: Any = None) -> ServerThread:
    panel = build_panel("standard", catalog=catalog, seed=1, speed=0)
    panel.create_account(KEY, balance="100")
    return ServerThread(create_app(panel, "standard"))


def _copy(folder: Path) -> ServerThread:
    """The recording served as ``serve --from`` serves it."""
    dialect, catalog = from_recording(str(folder))
    panel = build_panel(dialect, catalog=catalog, speed=0)
    panel.create_account(KEY, balance="100")
    return ServerThread(create_app(panel, dialect))


def _record(url: str, out: Path, *more: str) -> Any:
    return CliRunner().invoke(main, ["record", url, "--key", KEY, "--out", str(out), *more])


def test_a_20000_service_panel_over_the_answer_cap_is_read_streaming_and_served_whole(tmp_path: Path) -> None:
    from mockpanel._catalog_cli import resolve_catalog

    with _mock(resolve_catalog("generate:20000")) as original:
        listed = HTTP.post(original.url + "/api/v2", data={"key": KEY, "action": "services"}).json()
        assert len(orjson.dumps(listed)) > 1024 * 1024  # over the cap given below: read a second time, streaming
        result = _record(original.url + "/api/v2", tmp_path / "rec", "--max-answer-bytes", str(1024 * 1024))
    assert result.exit_code == 0, result.output
    assert "(20000 services)" in result.output
    with _copy(tmp_path / "rec") as copy:
        served = HTTP.post(copy.url + "/api/v2", data={"key": KEY, "action": "services"})
    assert served.status_code == 200
    assert [s["service"] for s in served.json()] == [s["service"] for s in listed]
    assert [s["name"] for s in served.json()] == [s["name"] for s in listed]


async def _answering(body: bytes, scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A raw ASGI panel: balance and status as API v2 answers them, ``body`` for services."""
    fields = b""
    while True:
        message = await receive()
        fields += message.get("body", b"")
        if not message.get("more_body"):
            break
    action = dict(p.split("=", 1) for p in fields.decode().split("&") if "=" in p).get("action")
    answer = body if action == "services" else orjson.dumps(
        {"balance": "10.00000", "currency": "USD"} if action == "balance" else {"error": "Incorrect request"})
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": answer})


def _panel(body: bytes) -> ServerThread:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            await _answering(body, scope, receive, send)
    return ServerThread(app)


SERVICE = {"service": 1, "name": "Followers", "type": "Default", "category": "X", "rate": "1.00", "min": 10,
           "max": 1000, "refill": False, "cancel": False}


@pytest.mark.parametrize("cap", [None, "1024"], ids=["whole", "streaming"])
def test_a_services_answer_nested_950_deep_is_one_line_not_a_traceback(tmp_path: Path, cap: str | None) -> None:
    deep = b"[" * 950 + b"]" * 950
    body = orjson.dumps([SERVICE])[:-1] + b"," + deep + b"," + orjson.dumps(SERVICE | {"service": 2}) + b"]"
    with _panel(body) as panel:
        result = _record(panel.url + "/api/v2", tmp_path / "rec", *(("--max-answer-bytes", cap) if cap else ()))
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "nests deeper than 64 levels" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "rec").exists()


def test_a_nul_in_a_service_name_is_written_so_that_serve_from_serves_it(tmp_path: Path) -> None:
    body = orjson.dumps([SERVICE | {"name": "Fol\u0000lowers"}, SERVICE | {"service": 2, "category": "A\u0000"}])
    with _panel(body) as panel:
        result = _record(panel.url + "/api/v2", tmp_path / "rec")
    assert result.exit_code == 0, result.output
    with _copy(tmp_path / "rec") as copy:
        served = HTTP.post(copy.url + "/api/v2", data={"key": KEY, "action": "services"}).json()
    assert [s["name"] for s in served] == ["Fol\ufffdlowers", "Followers"]
    assert served[1]["category"] == "A\ufffd"
    assert "2 text field(s) changed" in (tmp_path / "rec" / "catalog.json").read_text()


def test_a_recording_serve_from_would_refuse_is_not_written(tmp_path: Path) -> None:
    # Two services, one id: the catalogue keeps the first; a rate past what the mock holds (10^15) is refused.
    body = orjson.dumps([SERVICE, SERVICE | {"name": "Again"}, SERVICE | {"service": 3, "rate": "10000000000000000"}])
    with _panel(body) as panel:
        result = _record(panel.url + "/api/v2", tmp_path / "rec")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "nothing was written" in result.output and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "rec").exists()


def test_a_services_answer_that_is_cut_and_not_a_list_fails_loudly(tmp_path: Path) -> None:
    body = b'{"error": "' + b"x" * 4000 + b'"}'
    with _panel(body) as panel:
        result = _record(panel.url + "/api/v2", tmp_path / "rec", "--max-answer-bytes", "1024")
    assert result.exit_code == 1 and "not a JSON list" in result.output, result.output
    assert not (tmp_path / "rec").exists()


def test_the_scanner_splits_items_across_any_chunking() -> None:
    items = [SERVICE, {"name": "a \"quoted\" ], {comma}, \\ back"}, [1, [2, {"x": []}]], "s", 5, None]
    text = orjson.dumps(items)
    for size in (1, 2, 3, 7, len(text)):
        reader, got = ArrayItems(), []
        for i in range(0, len(text), size):
            got += reader.feed(text[i:i + size])
        assert reader.done and got == items, size
    with pytest.raises(StreamError, match="larger than 100 bytes"):
        ArrayItems(max_item=100).feed(orjson.dumps([{"name": "x" * 200}]))
    assert depth([[[1]]]) == 3 and depth({"a": [{}]}) == 3 and depth(5) == 0
