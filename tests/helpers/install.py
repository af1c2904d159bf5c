"""The distribution as users get it: the sdist and the wheel built from a copy of the checkout
(``python -m build``), every dependency as a wheel, and fresh virtual environments that install them
offline with the Dockerfile's own ``pip install`` step (``--no-index --find-links``). Built once per
process: each step takes seconds."""

from __future__ import annotations

import atexit
import functools
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
# What the sdist is built from: the tracked tree (tests and bench included, so the sdist is seen to leave them out).
TREE = ("mockpanel", "conformance", "fixtures", "docs", "tests", "bench", "pyproject.toml", "README.md", "LICENSE",
        "MANIFEST.in")
UNREACHABLE = ("No matching distribution", "Could not find a version", "Failed to establish", "Network is unreachable",
               "Temporary failure in name resolution", "Max retries exceeded")


@dataclass(frozen=True)
class Built:
    sdist: Path
    wheel: Path
    log: str  # what `python -m build` printed
    wheels: Path  # the wheel and every dependency's, mockpanel[pytest]'s included


def _run(args: list[str], what: str, timeout: float = 300, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env)
    out = done.stdout + done.stderr
    if done.returncode != 0:
        if any(sign in out for sign in UNREACHABLE):
            pytest.skip(f"{what} needs the package index (PyPI), which is not reachable: {out.strip().splitlines()[-1]}")
        raise AssertionError(f"{what} failed ({done.returncode}):\n{out[-3000:]}")
    return out


def _scratch(prefix: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, path, True)
    return path


@functools.cache
def built() -> Built:
    """The sdist and wheel of the checkout, and the wheels of every dependency (from the index, or pip's cache)."""
    work = _scratch("mockpanel-dist-")
    source = work / "source"
    source.mkdir()
    for name in TREE:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "results"))
        else:
            shutil.copy2(path, source / name)
    # PYTHONDONTWRITEBYTECODE makes setuptools warn that it skips byte-compiling: the environment's doing, not the build's.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    log = _run([sys.executable, "-m", "build", "--outdir", str(work / "dist"), str(source)], "python -m build", env=env)
    (sdist,) = (work / "dist").glob("mockpanel-*.tar.gz")
    (wheel,) = (work / "dist").glob("mockpanel-*.whl")
    wheels = work / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--wheel-dir", str(wheels),
          f"mockpanel[pytest] @ {wheel.as_uri()}"], "pip wheel (the dependencies)")
    return Built(sdist, wheel, log, wheels)


def dockerfile() -> list[tuple[str, str]]:
    """The Dockerfile's instructions in order: (INSTRUCTION, the rest), continuation lines joined."""
    lines = [line for line in DOCKERFILE.read_text(encoding="utf-8").splitlines() if not line.lstrip().startswith("#")]
    text = "\n".join(lines).replace("\\\n", " ")
    return [(word.upper(), rest.strip()) for word, _, rest in (line.strip().partition(" ") for line in text.splitlines())
            if word]


def dockerfile_env() -> dict[str, str]:
    """The ENV the image sets (``NAME=value`` pairs; ``$PATH`` left as written)."""
    env: dict[str, str] = {}
    for word, rest in dockerfile():
        if word == "ENV":
            env.update(pair.split("=", 1) for pair in shlex.split(rest))
    return env


def dockerfile_pip_install() -> list[str]:
    """The options of the Dockerfile's ``pip install`` (its ``--find-links`` folder left to the caller)."""
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    match = re.search(r"-m pip install (.*?) mockpanel\b", text)
    assert match, "the Dockerfile has no `python -m pip install ... mockpanel` step"
    return shlex.split(match.group(1))


@functools.cache
def fresh_venv(extras: str = "") -> Path:
    """A new virtual environment (no system site-packages) with ``mockpanel[extras]`` installed offline from
    ``built().wheels``, as the Dockerfile installs it; returns its bin folder."""
    wheels = built().wheels
    venv = _scratch("mockpanel-venv-") / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], "python -m venv")
    options = dockerfile_pip_install()
    options[options.index("--find-links") + 1] = str(wheels)
    python = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", *options,
          f"mockpanel[{extras}]" if extras else "mockpanel"], "pip install (offline, from the built wheels)")
    return venv / "bin"


