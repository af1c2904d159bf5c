"""The sdist and the wheel as ``python -m build`` makes them: no tests in the sdist (the project's suite
needs the whole checkout), no build warning, and a long description with no relative link (the index
page has no docs/ folder to link to)."""

from __future__ import annotations

import re
import tarfile
import tomllib
import zipfile

import pytest

from tests.helpers.install import ROOT, built

LINK = re.compile(r"\]\(([^)\s]+)\)|(?:href|src)=[\"']([^\"']+)")


def relative_links(markdown: str) -> list[str]:
    """Links of a Markdown text that are not absolute http(s) URLs (a bare ``#anchor`` has no page to land on either)."""
    found = [a or b for a, b in LINK.findall(markdown)]
    return [link for link in found if not link.startswith(("https://", "http://"))]


def test_the_long_description_links_nothing_relative() -> None:
    readme = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["readme"]
    text = (ROOT / readme).read_text(encoding="utf-8")
    assert relative_links(text) == []
    assert relative_links("see [the docs](docs/pytest.md) and <img src='docs/x.png'>") == ["docs/pytest.md", "docs/x.png"]


@pytest.mark.slow
def test_the_sdist_has_no_tests_and_the_build_no_warning() -> None:
    dist = built()
    warnings = [line for line in dist.log.splitlines() if "warning" in line.lower()]
    assert warnings == [], warnings
    with tarfile.open(dist.sdist) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    assert {"mockpanel/__init__.py", "conformance/__init__.py", "fixtures/dialects/standard.json", "pyproject.toml",
            "LICENSE", "docs/pypi.md", "docs/pytest.md"} <= names
    assert not [name for name in names if name.split("/")[0] in ("tests", "bench")]
    with zipfile.ZipFile(dist.wheel) as wheel:
        (metadata,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
        text = wheel.read(metadata).decode("utf-8")
    head, _, description = text.partition("\n\n")
    assert "Description-Content-Type: text/markdown" in head
    assert description.strip() == (ROOT / "docs" / "pypi.md").read_text(encoding="utf-8").strip()
    assert relative_links(description) == []
    requires = [line for line in head.splitlines() if re.match(r"Requires-Dist: pytest\b(?!-)", line)]
    (pytest_requirement,) = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "optional-dependencies"]["pytest"]
    assert requires == [f'Requires-Dist: {pytest_requirement}; extra == "pytest"'], requires  # in the extra only
