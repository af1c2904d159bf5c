"""A fresh virtual environment with the built wheel and no extras, installed offline as the Dockerfile does:
every command works or says in one line which extra it needs; the server runs without pytest, from the
image's environment, and answers the image's HEALTHCHECK; the pytest suite without hypothesis is one line.
The environments are built once per process (tests/helpers/install.py): about 25 s on 2 cores."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.helpers.common import serving_command
from tests.helpers.install import dockerfile_env, fresh_venv
from tests.install.test_dockerfile import healthcheck_command

pytestmark = pytest.mark.slow

URL = "http://127.0.0.1:9/api/v2"  # nothing listens on port 9 (discard): never reached before the extra's check
# The commands that need an extra, as users run them: exit 2 and exactly one line naming the extra.
NEED_AN_EXTRA = {
    ("conformance",): (["conformance", URL, "--key", "k"], "conformance"),
    ("record",): (["record", URL, "--key", "k", "--out", "recorded"], "conformance"),
    ("catalog", "generate"): (["catalog", "generate", "--services", "3"], "catalog"),
    ("serve",): (["serve", "--catalog", "generate:3", "--port", "0"], "catalog"),
}


def _env(bin_dir: Path, home: Path) -> dict[str, str]:
    # Exactly these: no PYTHONPATH (the checkout must not stand in for the install), no site of this session.
    return {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8", "NO_COLOR": "1"}


def _run(argv: list[str], env: dict[str, str], cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def _commands(mockpanel: str, env: dict[str, str], cwd: Path) -> list[tuple[str, ...]]:
    """Every command and subcommand, read from the installed --help: a command added later is walked too."""
    found, todo = [], [()]
    while todo:
        path = todo.pop()
        done = _run([mockpanel, *path, "--help"], env, cwd)
        assert done.returncode == 0 and not done.stderr, (path, done.stdout, done.stderr)
        listed = done.stdout.partition("\nCommands:\n")[2]
        subcommands = re.findall(r"^  (\S+)", listed, re.MULTILINE)
        todo += [(*path, name) for name in subcommands]
        if not subcommands:
            found.append(path)
    return sorted(found)


def _one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr and "Usage:" not in done.stderr, done.stderr
    return lines[0]


def test_without_extras_every_command_works_or_names_its_extra(tmp_path: Path) -> None:
    bin_dir = fresh_venv()
    env, mockpanel = _env(bin_dir, tmp_path), str(bin_dir / "mockpanel")
    assert not (bin_dir / "pytest").exists()  # the base install brings no pytest
    commands = _commands(mockpanel, env, tmp_path)
    assert {("serve",), ("conformance",), ("record",), ("proxy",), ("dialects",), ("gauntlet",),
            ("catalog", "generate")} <= set(commands)
    for path, (argv, extra) in NEED_AN_EXTRA.items():
        assert path in commands, path
        done = _run([mockpanel, *argv], env, tmp_path)
        assert done.returncode == 2, (argv, done.stdout, done.stderr)
        assert f"needs the '{extra}' extra" in _one_line_error(done), argv
        assert f"pip install 'mockpanel[{extra}]'" in done.stderr
    assert not (tmp_path / "recorded").exists()
    assert "standard" in _run([mockpanel, "dialects"], env, tmp_path).stdout
    python = str(bin_dir / "python")
    done = _run([python, "-c", "import sys, mockpanel; [getattr(mockpanel, n) for n in mockpanel.__all__]; "
                 "print(mockpanel.__file__, sorted(m for m in ('pytest', 'hypothesis', 'faker') if m in sys.modules))"],
                env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(str(bin_dir.parent)) and done.stdout.endswith(" []\n"), done.stdout
    gauntlet = _run([mockpanel, "gauntlet", "--", python, "-c", "pass"], env, tmp_path, timeout=120)
    assert gauntlet.returncode == 0, (gauntlet.stdout, gauntlet.stderr)


def test_the_image_s_install_serves_from_its_environment_and_answers_its_healthcheck(tmp_path: Path) -> None:
    bin_dir = fresh_venv()
    env = {**_env(bin_dir, tmp_path), **dockerfile_env(), "MOCKPANEL_PORT": "0"}  # the image's, on a free port
    env["PATH"] = _env(bin_dir, tmp_path)["PATH"]
    health = [str(bin_dir / "python"), *healthcheck_command()[1:]]
    with serving_command([str(bin_dir / "mockpanel"), "serve"], env) as (origin, proc):
        assert httpx.get(origin + "/_mock/health", timeout=5).json()["status"] == "ok"
        balance = httpx.post(origin + "/api/v2", data={"key": "test-key", "action": "balance"}, timeout=5).json()
        assert balance == {"balance": "1000.00000", "currency": "USD"}
        port = origin.rsplit(":", 1)[1]
        assert _run(health, {**env, "MOCKPANEL_PORT": port}, tmp_path).returncode == 0
        with serving_command([str(bin_dir / "mockpanel"), "proxy", origin + "/api/v2", "--port", "0"],
                          _env(bin_dir, tmp_path)) as (spied, _):  # the proxy judges answers without hypothesis
            through = httpx.post(spied + "/api/v2", data={"key": "test-key", "action": "balance"}, timeout=10)
            assert through.json() == balance
    assert proc.returncode is not None
    assert _run(health, {**env, "MOCKPANEL_PORT": port}, tmp_path).returncode != 0  # and it fails once stopped


def test_with_pytest_and_without_hypothesis_the_fixture_works_and_the_suite_is_one_line(tmp_path: Path) -> None:
    bin_dir = fresh_venv("pytest")
    env, python = _env(bin_dir, tmp_path), str(bin_dir / "python")
    done = _run([python, "-m", "pytest", "--pyargs", "mockpanel.conformance.pytest_suite"], env, tmp_path)
    assert done.returncode == 4, (done.stdout, done.stderr)  # pytest's usage error
    assert _one_line_error(done) == ("ERROR: the conformance suite needs the 'conformance' extra (hypothesis): "
                                     "pip install 'mockpanel[conformance]'")
    (tmp_path / "test_my_client.py").write_text(
        "import httpx\n\n\ndef test_balance(mockpanel):\n"
        "    answer = httpx.post(mockpanel.url, data={'key': mockpanel.key, 'action': 'balance'}).json()\n"
        "    assert answer == {'balance': '100.00000', 'currency': 'USD'}\n", encoding="utf-8")
    done = _run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_my_client.py"], env, tmp_path)
    assert done.returncode == 0 and "1 passed" in done.stdout, (done.stdout, done.stderr)
