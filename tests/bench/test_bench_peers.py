"""The peers and the big catalogue of bench/: WireMock's stub, the generated catalogue, the goals."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from bench.catalogue import TEMPLATE, generate
from bench.peers import wiremock_missing
from bench.targets import targets
from mockpanel._domain.catalog import Catalog
from tests.bench.test_bench_smoke import run_bench

NO_WIREMOCK = wiremock_missing()


def test_the_generated_catalogue_is_varied_and_loads_as_a_catalogue() -> None:
    data = generate(5000)
    services = data["services"]
    ids = [s["service"] for s in services]
    assert len(ids) == 5000 == len(set(ids)) and ids == sorted(ids) and ids[-1] > 5000  # gaps
    assert services[0] == json.loads(TEMPLATE.read_text())["services"][0]  # the one bench orders
    assert len({s["name"] for s in services}) == 5000
    assert len({s["type"] for s in services}) == len({s["type"] for s in json.loads(TEMPLATE.read_text())["services"]})
    assert len(Catalog.from_json(data)) == 5000  # the mock's own loader accepts it


def test_services_runs_against_a_bare_endpoint_with_the_same_bytes(tmp_path: Path) -> None:
    stdout, report = run_bench(
        tmp_path, "--loadgen", "python", "--duration", "0.3", "--parts", "services", "--services", "40",
    )
    rows = {r["config"]: r for r in report["results"]}
    assert set(rows) == {"bare", "services@40", "bare-services@40"}
    assert all(r["requests"] > 0 and r["errors"] == 0 for r in rows.values())
    assert report["stores"]["catalog"]["rss_now"] > 0 and "services@40 rps / bare (same bytes)" in stdout


def test_a_missing_wiremock_jar_is_skipped_with_a_message(tmp_path: Path) -> None:
    stdout, report = run_bench(
        tmp_path, "--loadgen", "python", "--duration", "0.3", "--parts", "peers",
        env={"MOCKPANEL_BENCH_WIREMOCK_JAR": str(tmp_path / "missing.jar")},
    )
    assert "WireMock skipped" in stdout and "missing.jar" in stdout
    assert [r["config"] for r in report["results"]] == ["bare"]


@pytest.mark.skipif(NO_WIREMOCK is not None, reason=f"no WireMock: {NO_WIREMOCK}")
def test_wiremock_serves_the_stub_with_its_journal_on_and_off(tmp_path: Path) -> None:
    stdout, report = run_bench(
        tmp_path, "--loadgen", "python", "--duration", "0.5", "--peer-warmup", "0", "--parts", "balance,peers",
    )
    rows = {r["config"]: r for r in report["results"]}
    assert set(rows) == {"bare", "balance", "wiremock", "wiremock-nojournal"}
    for name in ("wiremock", "wiremock-nojournal"):
        assert rows[name]["requests"] > 0 and rows[name]["errors"] == 0, rows[name]
        assert report["stores"][name]["rss_now"] > 50 * 2**20  # a JVM's resident memory, read from /proc
    assert "balance rps / wiremock" in stdout and report["machine"]["wiremock"].endswith(".jar")


@pytest.mark.skipif(NO_WIREMOCK is not None, reason=f"no WireMock: {NO_WIREMOCK}")
def test_the_wiremock_journal_flag_is_real(tmp_path: Path) -> None:
    from bench.peers import WireMock

    for journal in (True, False):
        server = WireMock("w", [], journal=journal)
        (tmp_path / str(journal)).mkdir()
        server.start("auto", tmp_path / str(journal))
        try:
            server.wait_ready(time.monotonic() + 60)
            request = urllib.request.Request(server.url + "/api/v2", data=b"key=k&action=balance", method="POST")
            with urllib.request.urlopen(request, timeout=10) as response:
                assert json.loads(response.read()) == {"balance": "100.84292", "currency": "USD"}
            try:
                with urllib.request.urlopen(server.url + "/__admin/requests", timeout=10) as response:
                    recorded = json.loads(response.read())["requests"]
            except urllib.error.HTTPError as exc:  # WireMock refuses to list a disabled journal
                assert not journal and b"disabled" in exc.read().lower()
            else:
                assert journal and len(recorded) == 1
        finally:
            server.stop()
        assert server.process is not None and server.process.poll() is not None


def row(config: str, rps: float, p99: float = 10.0, server: str = "s") -> dict:
    return {"config": config, "server": server, "rps": rps, "ratio": round(rps / 10_000, 3), "p99_ms": p99}


def test_targets_compare_with_bare_and_with_the_wiremock_stub() -> None:
    rows = [row("bare", 10_000), row("balance", 9_500), row("wiremock", 9_000), row("wiremock-nojournal", 20_000),
            row("multi@1M", 3_000, p99=60), row("multi@10k", 3_100), row("services@5k", 100),
            row("bare-services@5k", 500)]
    stores = {"large": {"bytes_per_order": 250.0}}
    got = {t["target"]: t for t in targets(rows, stores, "10k", "1M", "5k", {"stores": {"large": {"bytes_per_order": 200.0}}})}
    assert got["balance rps / bare"]["met"] is True
    assert got["balance rps / wiremock"]["value"] == pytest.approx(1.056, abs=1e-3) and got["balance rps / wiremock"]["met"]
    assert got["balance rps / wiremock-nojournal"]["met"] is None  # information only
    assert got["multi@1M rps / bare"]["met"] is False and got["multi@1M p99 ms"]["met"] is False
    assert got["multi cost 1M vs 10k"]["value"] == pytest.approx(0.033, abs=1e-3) and got["multi cost 1M vs 10k"]["met"]
    assert got["services@5k rps / bare (same bytes)"]["value"] == 0.2
    assert got["services@5k rps / bare (same bytes)"]["met"] is False
    assert got["services@5k rps / bare (constant)"]["met"] is None  # information only
    assert got["bytes per stored order"]["met"] is False  # 250 > 200 + 5 %
    no_baseline = {t["target"]: t for t in targets(rows, stores, "10k", "1M", "5k", None)}
    assert no_baseline["bytes per stored order"]["met"] is True  # <= 300


def test_targets_for_an_add_as_clients_send_it_and_a_poll_of_running_orders() -> None:
    rows = [row("bare", 10_000), row("add", 7_100), row("multi-running@10k", 3_900)]
    got = {t["target"]: t for t in targets(rows, {}, "10k", "1M", "5k", None)}
    assert (got["add rps / bare"]["value"], got["add rps / bare"]["met"]) == (0.71, True)
    assert (got["multi-running@10k rps / bare"]["value"], got["multi-running@10k rps / bare"]["met"]) == (0.39, False)
    paired = [row("bare", 10_000), {**row("add", 7_100), "ratio_paired": 0.69}]
    assert targets(paired, {}, "10k", "1M", "5k", None)[0]["met"] is False  # the paired ratio when the run has it


def test_profile_samples_are_split_into_disjoint_pieces_of_work(tmp_path: Path) -> None:
    from bench.profile import by_group

    loop = "run_asgi (uvicorn/protocols/http/httptools_impl.py:422);MockApp.__call__ (mockpanel/_server/app.py:100)"
    fm = loop + ";FaultMiddleware.__call__ (mockpanel/_powers/faults.py:411)"
    stacks = tmp_path / "stacks.txt"
    stacks.write_text("\n".join([
        f"{fm};key_id (mockpanel/_domain/accounts.py:44) 3",  # innermost claimed frame wins
        f"{fm};Journal.record (mockpanel/_powers/journal.py:140);key_id (mockpanel/_domain/accounts.py:44) 1",
        f"{fm} 2",
        f"{fm};Journal.record (mockpanel/_powers/journal.py:140) 2",
        "main (elsewhere/thing.py:1) 2",
    ]) + "\n")
    shares = dict(by_group(stacks))
    assert shares == {"key digest": 0.4, "fault check": 0.2, "journal record": 0.2, "other": 0.2}


def test_the_lean_parser_stand_in_reads_what_the_mock_reads() -> None:
    from bench.levers import lean_fields
    from mockpanel._endpoint.params import urlencoded_fields

    for body in (b"key=k&action=balance", b"key=k&action=status&orders=1%2C2%2C3",
                 b"key=k&action=add&link=https%3A%2F%2Fx.io%2Fa+b&quantity=50&comments=a%0Ab", b"a=&b=1"):
        assert lean_fields(body) == urlencoded_fields(body), body


def test_levers_measure_every_lean_path_change() -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "bench.levers", "--orders", "300", "--services", "50", "--number", "40", "--repeat", "1",
         "--results", "/nonexistent.json"],
        cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    for lever in ("form parser", "key digest", "cached answer", "final orders", "journal", "fault check", "asgi now"):
        assert lever in done.stdout, lever
    assert "SHA-256s of the key per request: balance" in done.stdout


@pytest.mark.skipif(__import__("shutil").which("py-spy") is None, reason="py-spy is not installed")
def test_profile_prints_where_the_time_goes_by_piece_of_work(tmp_path: Path) -> None:
    stdout, report = run_bench(
        tmp_path, "--loadgen", "python", "--duration", "1", "--parts", "balance", "--orders-small", "100",
        "--profile", "balance",
    )
    groups = dict(report["profiles"]["balance"]["groups"])
    assert sum(groups.values()) == pytest.approx(1.0)
    # the server was sampled under load, answering in the connection (_server/protocol.py, the hot path)
    assert {"mockpanel protocol (checks, socket write)", "hot path"} <= set(groups)
    assert "by piece of work" in stdout


@pytest.mark.skipif(NO_WIREMOCK is not None, reason=f"no WireMock: {NO_WIREMOCK}")
def test_wiremock_takes_another_port_when_its_port_is_taken(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    from bench import peers

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    ports = iter([taken.getsockname()[1]])
    real = peers.free_port
    monkeypatch.setattr(peers, "free_port", lambda: next(ports, None) or real())
    server = peers.WireMock("w", [], journal=False)
    try:
        server.start("auto", tmp_path)
        server.wait_ready(time.monotonic() + 60)
        assert server.binds == 2 and server.info["port"] != taken.getsockname()[1]
    finally:
        server.stop()
        taken.close()
