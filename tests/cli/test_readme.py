"""The examples of README.md and docs/ run as written: the Python ones under pytester, the curl ones
against a real ``mockpanel serve`` (their ``# {...}`` line is the exact answer), so they cannot drift."""

from __future__ import annotations

import json
import os
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


# --- the first screen, as a new user meets it ----------------------------------------------------------------


def first_screen() -> str:
    """The README up to where the project's own development starts: what a new user reads and runs."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return readme[: readme.index("### Developing mockpanel")]


def test_the_first_screen_is_install_test_serve_conform_one_command_each() -> None:
    screen = first_screen()
    commands = [line.split("  #")[0].strip() for block in re.findall(r"```bash\n(.*?)```", screen, re.DOTALL)
                for line in block.splitlines() if line.strip() and not line.startswith("#")]
    assert re.search(r"pip install -e '\.\[[a-z,]+\]'", commands[0]), commands[0]
    assert commands[1:4] == ["mkdir ~/my-client-tests && cd ~/my-client-tests", "pytest", "mockpanel serve"]
    assert commands[4].startswith("curl ") and commands[5].startswith("mockpanel conformance ")
    assert len(commands) == 6
    for word in ("bench", "run G", "throughput", "wrk", "%"):  # the benchmarks live in bench/README.md
        assert word not in screen, word


def test_the_first_screen_client_test_runs_in_a_new_folder(tmp_path: Path) -> None:
    # As the README says: a folder of the user's own (here under a fresh HOME, outside the checkout), the
    # test saved there, `pytest` run there: it collects that one test, not the project's.
    screen = first_screen()
    make = next(line for line in screen.splitlines() if line.startswith("mkdir ~/"))
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "PYTHONPATH": str(ROOT)}
    subprocess.run(["bash", "-c", make], env=env, check=True, timeout=30)
    folder = home / "my-client-tests"
    assert folder.is_dir() and ROOT not in folder.resolve().parents
    code = re.findall(r"```python\n(.*?)```", screen, re.DOTALL)
    assert len(code) == 1
    (folder / "test_my_client.py").write_text(code[0], encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider"], cwd=folder, env=env,
                          capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "collected 1 item" in done.stdout and "1 passed" in done.stdout, done.stdout


# --- the docs' links and the examples that are not run as code ------------------------------------------------

LINKED_DOCS = ("README.md", "CONTRIBUTING.md", "bench/README.md", "conformance/README.md",
               *(str(p.relative_to(ROOT)) for p in sorted((ROOT / "docs").glob("*.md"))))


def anchors(doc: Path) -> set[str]:
    """The anchors GitHub gives the headings of ``doc``: lower case, punctuation dropped, spaces as hyphens,
    a repeated heading numbered (-1, -2 ...); headings inside code blocks are not headings."""
    text = re.sub(r"```.*?```", "", doc.read_text(encoding="utf-8"), flags=re.DOTALL)
    seen: dict[str, int] = {}
    out = set()
    for heading in re.findall(r"^#{1,6} +(.+?) *#*$", text, re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", "")).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def test_every_link_to_a_section_finds_its_heading() -> None:
    checked = 0
    for name in LINKED_DOCS:
        doc = ROOT / name
        text = re.sub(r"```.*?```", "", doc.read_text(encoding="utf-8"), flags=re.DOTALL)
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if "://" in target or "#" not in target or target.startswith("mailto:"):
                continue
            file, _, anchor = target.partition("#")
            linked = (doc.parent / file).resolve() if file else doc
            assert linked.is_file(), f"{name}: {target}: no file {file}"
            assert anchor in anchors(linked), f"{name}: {target}: no heading #{anchor} in {file or name}"
            checked += 1
    assert checked >= 10  # the check found the links it is about


def test_the_failing_check_example_is_what_pytest_prints(pytester: pytest.Pytester) -> None:
    doc = (ROOT / "docs/pytest.md").read_text(encoding="utf-8")
    shown = re.search(r"A failing check reads like this:\n\n```\n(.*?)```", doc, re.DOTALL)
    assert shown is not None
    lines = [line[4:].strip() for line in shown.group(1).splitlines()]
    service = re.search(r"#1 add service='(\d+)' link='([^']+)' quantity='(\d+)'", shown.group(1))
    assert service is not None
    sid, link, quantity = service.groups()
    pytester.makepyfile(test_failing=f"""
        def test_it(mockpanel):
            with mockpanel.client() as client:
                answer = client.post(mockpanel.url, data={{"key": mockpanel.key, "action": "add", "service": {sid},
                                                          "link": "{link}", "quantity": {quantity}}}).json()
            assert "order" in answer, answer  # the example's order is one the panel took
            mockpanel.assert_requested("add", service="1", quantity="100")
    """)
    result = pytester.runpytest(*QUIET)
    result.assert_outcomes(failed=1)
    printed = result.stdout.str()
    for line in lines:
        assert line in printed, f"docs/pytest.md shows {line!r}; pytest printed:\n{printed}"


def test_every_order_in_the_docs_fits_its_service() -> None:
    # An example order the default catalogue would refuse (quantity under the service's minimum) misleads
    # whoever copies it; the ones run as code are checked by running them, this catches the rest (outputs,
    # tables, prose) wherever a service and a quantity are written together.
    limits = {s["service"]: (s["min"], s["max"]) for s in
              json.loads((ROOT / "fixtures/catalogs/default.json").read_text(encoding="utf-8"))["services"]}
    found = 0
    for doc in ("README.md", *(str(p.relative_to(ROOT)) for p in sorted((ROOT / "docs").glob("*.md")))):
        text = (ROOT / doc).read_text(encoding="utf-8")
        for match in re.finditer(r"service\W{1,4}(\d+)\W.{0,120}?quantity\W{1,4}(\d+)", text):
            service, quantity = int(match[1]), int(match[2])
            low, high = limits[service]
            assert low <= quantity <= high, f"{doc}: {match[0]!r}: service {service} takes {low} to {high}"
            found += 1
    assert found >= 5
