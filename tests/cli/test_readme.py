"""The examples of README.md and docs/ run as written: the Python ones under pytester, the curl ones
against a real ``mockpanel serve`` (their ``# {...}`` line is the exact answer), so they cannot drift."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from mockpanel import Catalog
from tests.helpers.common import serving

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
PYTHON_DOCS = ("README.md", "docs/pytest.md", "docs/faults-and-triggers.md", "docs/pypi.md")
CURL_DOCS = ("README.md", "docs/api-v2.md")
QUIET = ("-p", "no:randomly", "-p", "no:cacheprovider", "-p", "no:benchmark")
DOC_ORIGIN = "http://127.0.0.1:8080"


def blocks(doc: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", (ROOT / doc).read_text(encoding="utf-8"), re.DOTALL)


def python_examples() -> list[tuple[str, int, str]]:
    return [(doc, i, code) for doc in PYTHON_DOCS for i, code in enumerate(blocks(doc, "python"))]


def curl_examples(doc: str) -> list[tuple[str, str]]:
    """(curl command, the answer shown on the next line) in the order the doc gives them."""
    pairs = []
    for block in blocks(doc, "bash"):
        lines = block.splitlines()
        for line, after in zip(lines, lines[1:] + [""]):
            if line.startswith("curl ") and after.startswith("# {"):
                pairs.append((line, after[2:]))
    return pairs


def test_every_doc_has_examples() -> None:
    docs = {doc for doc, _, _ in python_examples()}
    assert docs == set(PYTHON_DOCS)
    assert all(curl_examples(doc) for doc in CURL_DOCS)


@pytest.mark.parametrize("doc,index,code", python_examples(),
                         ids=lambda v: str(v).replace("/", "-") if isinstance(v, str) and len(v) < 40 else None)
def test_python_example_runs(pytester: pytest.Pytester, doc: str, index: int, code: str) -> None:
    if code.startswith("# conftest.py"):
        pytester.makeconftest(code)
        pytester.makepyfile(test_defaults="""
            def test_the_session_defaults_apply(mockpanel):
                assert mockpanel.url.endswith("/api/v1")  # smartpanel-v1
                assert str(mockpanel.balance()) == "10.00"  # the balance with the dialect's decimals (smartpanel-v1: 2)
        """)
        expected = 1
    else:
        pytester.makepyfile(**{f"test_example_{index}": code})
        expected = len(re.findall(r"^def test_", code, re.MULTILINE))
    assert expected >= 1, f"{doc} block {index} has no test and no conftest: nothing to check"
    result = pytester.runpytest(*QUIET)
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed") == expected and not outcomes.get("failed") and not outcomes.get("errors"), result.stdout.str()


def _send(command: str, origin: str) -> str:
    args = shlex.split(command.replace(DOC_ORIGIN, origin))
    if shutil.which("curl"):
        done = subprocess.run([*args[:1], "-s", *args[1:]], capture_output=True, text=True, check=False, timeout=30)
        assert done.returncode == 0, done.stderr
        return done.stdout
    data, url = args[args.index("-d") + 1], args[-1]  # curl -d sends the text as a form body
    headers = {"content-type": "application/x-www-form-urlencoded"}
    return httpx.post(url, content=data.encode(), headers=headers, timeout=30).text


@pytest.mark.parametrize("doc", CURL_DOCS)
def test_curl_examples_answer_as_shown(doc: str) -> None:
    with serving() as origin:  # a fresh `mockpanel serve` per doc: ids start at 10001 again
        for command, shown in curl_examples(doc):
            assert _send(command, origin) == shown, command


def test_the_first_screen_conformance_command_writes_its_report(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = next(line for line in readme.splitlines() if line.startswith("mockpanel conformance "))
    with serving() as origin:
        args = shlex.split(command.replace(DOC_ORIGIN, origin))[1:]
        done = subprocess.run([sys.executable, "-m", "mockpanel", *args], cwd=tmp_path,
                              capture_output=True, text=True, check=False, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Panel conformance report" in (tmp_path / "report.html").read_text(encoding="utf-8")


def test_the_catalogue_format_example_loads() -> None:
    example = blocks("docs/catalogue.md", "json")[0]
    catalog = Catalog.from_json(json.loads(example))
    assert [s.name for s in catalog] == ["Followers", "Comments"]
    assert catalog.get(2) is not None and catalog.get(2).dripfeed is False  # type: ignore[union-attr]


def test_the_project_cites_no_private_material() -> None:
    # Users have neither the research notes nor the issue tracker: docs, code and comments cite public sources.
    files = [p for p in ROOT.rglob("*") if p.suffix in (".md", ".py", ".json", ".toml", ".php", ".mjs")
             and not {".venv", ".git", "node_modules"} & set(p.relative_to(ROOT).parts) and p.is_file()
             and p != Path(__file__).resolve()]
    assert len(files) > 200
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace").lower()
        for pattern in (r"field notes", r"\bshared/", r"\bissues? #?\d", r"§"):
            assert not re.search(pattern, text), f"{path.relative_to(ROOT)} cites material outside the repository ({pattern})"
