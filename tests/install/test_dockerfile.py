"""The Dockerfile, step by step, without a container engine: what it declares, and its HEALTHCHECK command
run against a real ``mockpanel serve``. tests/install/test_image.py builds and runs the image where an
engine answers; tests/install/test_fresh_install.py installs the wheels with the Dockerfile's own
``pip install`` options and serves with its environment."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys

from tests.helpers.common import serving_process
from tests.helpers.install import ROOT, dockerfile, dockerfile_env, dockerfile_pip_install


def _one(word: str) -> str:
    found = [rest for instruction, rest in dockerfile() if instruction == word]
    assert len(found) == 1, (word, found)
    return found[0]


def healthcheck_command() -> list[str]:
    """The HEALTHCHECK's command, exec form (no shell, none needed in a slim image)."""
    rest = _one("HEALTHCHECK")
    options, _, command = rest.partition(" CMD ")
    assert all(option.startswith("--") for option in options.split()), options
    argv = json.loads(command)
    assert isinstance(argv, list) and all(isinstance(a, str) for a in argv)
    return argv


def test_the_base_image_is_a_build_argument_defaulting_to_an_official_slim_python() -> None:
    instructions = dockerfile()
    assert instructions[0][0] == "ARG" and instructions[1] == ("FROM", "${BASE}")  # the ARG before FROM sets it
    name, _, default = instructions[0][1].partition("=")
    assert name == "BASE" and re.fullmatch(r"python:3\.1[1-9]-slim", default), default
    assert [w for w, _ in instructions].count("FROM") == 1  # one stage: nothing fetched by a builder stage


def test_the_build_installs_the_wheels_given_and_fetches_nothing() -> None:
    assert _one("COPY").split() == ["dist/wheels/", "/tmp/wheels/"]
    options = dockerfile_pip_install()
    assert "--no-index" in options and options[options.index("--find-links") + 1] == "/tmp/wheels"
    assert _one("RUN").count("install") == 1  # one install, the wheels'
    # The build context is the wheels alone: nothing of the checkout (a .venv, a key in a file) reaches the daemon.
    kept = [line for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines() if line and line[0] != "#"]
    assert kept == ["*", "!dist/wheels/"]


def test_it_runs_as_a_user_who_is_not_root_and_serves_on_8080_for_every_address() -> None:
    user = _one("USER")
    assert re.fullmatch(r"\d+:\d+", user) and int(user.split(":")[0]) != 0, user
    assert _one("EXPOSE") == "8080"
    env = dockerfile_env()
    assert env["MOCKPANEL_HOST"] == "0.0.0.0" and env["MOCKPANEL_PORT"] == "8080"
    assert json.loads(_one("ENTRYPOINT")) == ["mockpanel"] and json.loads(_one("CMD")) == ["serve"]


def test_the_healthcheck_passes_against_a_serving_mock_and_fails_without_one() -> None:
    argv = healthcheck_command()
    assert argv[0] == "python3"  # a slim image has no curl; its Python is there
    command = [sys.executable, *argv[1:]]
    with serving_process() as (origin, _):
        port = origin.rsplit(":", 1)[1]
        done = subprocess.run(command, env={**os.environ, "MOCKPANEL_PORT": port}, capture_output=True, timeout=30)
        assert done.returncode == 0, done.stderr
    with socket.socket() as closed:  # a port nobody listens on, kept bound so that no other test's server takes it
        closed.bind(("127.0.0.1", 0))
        free = str(closed.getsockname()[1])
        done = subprocess.run(command, env={**os.environ, "MOCKPANEL_PORT": free}, capture_output=True, timeout=30)
    assert done.returncode != 0
