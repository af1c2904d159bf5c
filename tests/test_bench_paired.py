"""bench/paired.py and bench/micro.py: the in-process measurements run and report every config
(no timing asserted: these are smoke tests of the tools, not of the speed)."""

from __future__ import annotations

import asyncio
import re

import pytest

from bench import micro, paired


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_paired_reports_bare_and_each_mock_config(capsys: pytest.CaptureFixture[str], loop: str) -> None:
    assert paired.main(["--orders", "300", "--rounds", "1", "--batches", "2", "--loop", loop]) == 0
    out = capsys.readouterr().out
    for name in ("bare", "balance", "status@300", "multi@300"):
        assert re.search(rf"^{re.escape(name)} +\d+\.\d +\d+\.\d +\d+\.\d +\d+%", out, re.M), out


def test_paired_feeds_real_requests_and_every_answer_is_written() -> None:
    bare, _ = paired.bare_app()
    mock, info = paired.mock_app(orders=20)
    configs = [paired.Config("bare", paired.config(bare, as_serve=False, loop="asyncio"),
                             [paired.raw_request("key=x&action=balance")]),
               paired.Config("status", paired.config(mock, as_serve=True, loop="asyncio"),
                             paired.bodies("status", info["first_order"], info["last_order"]))]
    asyncio.run(paired.measure(configs, rounds=2, batches=1, warmup=0))
    for c in configs:
        assert len(c.batches) == 1 and c.batches[0] > 0
        assert all(t.written > 0 and not t.is_closing() for _, t in c.connections)
    # Each connection's protocol answered its requests: the mock journalled every one.
    assert len(mock.state.control.journal) == 2 * paired.CONNECTIONS


def test_a_config_whose_server_closes_a_connection_is_an_error() -> None:
    mock, _ = paired.mock_app()
    broken = paired.Config("broken", paired.config(mock, as_serve=True, loop="asyncio"), [b"GARBAGE\r\n\r\n"])
    with pytest.raises(RuntimeError, match="closed a connection"):
        asyncio.run(paired.measure([broken], rounds=1, batches=1, warmup=0))


def test_micro_reports_each_action(capsys: pytest.CaptureFixture[str]) -> None:
    assert micro.main(["--orders", "50", "--number", "20", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    for action in ("balance", "status", "multi"):
        assert re.search(rf"^{action} +\d", out, re.M), out


def test_with_paired_each_config_runs_between_two_bare_runs_and_is_compared_with_them(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import argparse

    from bench import rounds
    from bench.run import Config, summarise

    speed = iter(range(1, 1000))
    seen: list[str] = []

    def fake_run(args, fleet, c, seconds, tag):  # type: ignore[no-untyped-def]
        seen.append(c.name)
        rps = 1000.0 * next(speed) if c.kind == "bare" else 500.0
        return {"rps": rps, "cpu_us_per_req": 1.0, "p50_ms": 1.0, "p99_ms": 1.0, "p999_ms": 1.0, "max_ms": 1.0,
                "errors": 0, "requests": 1, "server_cpu_s": 0.0, "loadgen_cpu_s": 0.0, "other_cpu_s": 0.0, "steal_s": 0.0}

    monkeypatch.setattr(rounds, "one_run", fake_run)
    configs = [Config("bare", "bare", "bare"), Config("a", "s", "balance"), Config("b", "s", "status")]
    args = argparse.Namespace(rounds=2, duration=1.0, warmup=0.0, peer_warmup=0.0, paired=True)
    rounds.measure(args, None, configs)  # type: ignore[arg-type]
    assert seen == ["bare", "a", "bare", "b", "bare"] + ["bare", "b", "bare", "a", "bare"]
    a = configs[1].results()
    assert [r["pair_rps"] for r in a] == [1500.0, 5500.0]  # the bare runs around each: (1+2)/2, (5+6)/2 thousand
    rows = {r["config"]: r for r in summarise(configs)}
    assert rows["a"]["ratio_paired"] == round((500 / 1500 + 500 / 5500) / 2, 3)
    args.paired = False
    seen.clear()
    for c in configs:
        c.runs.clear()
    rounds.measure(args, None, configs)  # type: ignore[arg-type]
    assert seen == ["bare", "a", "b", "a", "b", "bare"] and all("pair_rps" not in r for c in configs for r in c.runs)
