"""One name per concept: no two classes of a package share a name.

Every module of ``mockpanel`` and of ``conformance`` is read with ``ast`` (classes nested in
functions and classes included), so a second ``Panel`` or ``Entry`` anywhere in a package fails
here, naming both places.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("mockpanel", "conformance")


def class_places(package: str, root: Path = ROOT) -> dict[str, list[str]]:
    """Each class name defined in ``package`` (a folder of ``root``) -> where: ``path:line``."""
    places: dict[str, list[str]] = defaultdict(list)
    for path in sorted((root / package).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                places[node.name].append(f"{path.relative_to(root).as_posix()}:{node.lineno}")
    return places


def shared_names(package: str, root: Path = ROOT) -> list[str]:
    """``Name: place, place`` for every class name defined more than once in ``package``."""
    places = class_places(package, root)
    return [f"{name}: {', '.join(where)}" for name, where in sorted(places.items()) if len(where) > 1]


def test_the_scan_sees_every_package() -> None:
    # A scan that read nothing would pass: the classes every package is known to hold are found.
    assert "Panel" in class_places("mockpanel") and "VirtualClock" in class_places("mockpanel")
    assert "Session" in class_places("conformance")


def test_the_scan_reports_a_name_defined_twice(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "a.py").write_text("class Entry:\n    pass\n\nclass Alone:\n    pass\n")
    (package / "sub" / "b.py").write_text("def f():\n    class Entry:\n        pass\n")
    assert shared_names("pkg", tmp_path) == ["Entry: pkg/a.py:1, pkg/sub/b.py:2"]


def test_no_two_classes_of_a_package_share_a_name() -> None:
    shared = [line for package in PACKAGES for line in shared_names(package)]
    assert not shared, "class names defined more than once; rename each to say what it is:\n" + "\n".join(shared)


def test_the_domain_holds_no_recorder_hook() -> None:
    # The domain declares which operations change state (MUTATIONS); recording them is the control
    # side's (_panel/recording.py), a wrapper around the domain, never a hook inside it.
    hooks = {"recorder", "replaying", "Recorder", "Recording", "recording"}
    found = []
    for path in sorted((ROOT / "mockpanel" / "domain").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else None
            if name in hooks:
                found.append(f"{path.relative_to(ROOT).as_posix()}:{node.lineno} {name}")
    assert found == []
