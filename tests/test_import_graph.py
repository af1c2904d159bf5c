"""The layers hold: the import graph of the mock and the judge, read from the source with ast.

The layers, bottom up: the domain (typed values, no wire, no storage); the dialects (wire
spellings, over the domain); control (the Panel users get: domain + dialects, forcing,
snapshots, recording); persistence and the server on top. The judge stands apart.

Every import counts, at module level, inside functions and under TYPE_CHECKING: a cycle hidden
behind a late import is still a cycle, and a layer crossed lazily is still crossed.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The source folders and the package names they are installed under.
PACKAGES = {"mockpanel": ROOT / "mockpanel", "conformance": ROOT / "conformance"}


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    line: int


def _module_name(package: str, folder: Path, path: Path) -> str:
    parts = list(path.relative_to(folder).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([package, *parts])


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package, folder in PACKAGES.items():
        for path in sorted(folder.rglob("*.py")):
            found[_module_name(package, folder, path)] = path
    return found


MODULES = _modules()


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _resolve(module: str, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    if not _is_package(module):
        base.pop()
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _known(name: str) -> str | None:
    """The longest known module that `name` is, or is inside of."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _imports(module: str) -> list[tuple[str, int]]:
    """Every (imported name, line) of a module, internal or not, at any depth of the tree."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    found: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, node)
            found.append((target, node.lineno))
            # `from package import module` imports the module too.
            found += [(f"{target}.{alias.name}", node.lineno) for alias in node.names
                      if f"{target}.{alias.name}" in MODULES]
    return found


def _edges() -> list[Edge]:
    edges: list[Edge] = []
    for module in MODULES:
        for name, line in _imports(module):
            target = _known(name)
            if target is not None and target != module:
                edges.append(Edge(module, target, line))
    return edges


EDGES = _edges()


def _is_parent(package: str, module: str) -> bool:
    return module.startswith(package + ".")


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm).

    Importing one's own package's __init__ is not counted: it runs before the module anyway.
    """
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for e in EDGES:
        if not _is_parent(e.target, e.source):
            graph[e.source].add(e.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component: list[str] = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _crossings(source_prefix: str, forbidden: tuple[str, ...]) -> list[str]:
    bad: list[str] = []
    for module in MODULES:
        if module != source_prefix and not _is_parent(source_prefix, module):
            continue
        for name, line in _imports(module):
            if any(name == f or name.startswith(f + ".") for f in forbidden):
                bad.append(f"{MODULES[module].relative_to(ROOT)}:{line} imports {name}")
    return bad


def test_the_graph_sees_late_and_type_checking_imports() -> None:
    # The graph is only as good as its reading: a function-level import must be an edge.
    sample = "def f():\n    from .b import c\n"
    tree = ast.parse(sample)
    assert any(isinstance(n, ast.ImportFrom) for n in ast.walk(tree))
    assert len(MODULES) > 50 and len(EDGES) > 100
    assert "mockpanel.domain.panel" in MODULES and "conformance.session" in MODULES


def test_no_import_cycles() -> None:
    assert _cycles() == []


def test_the_domain_knows_no_wire_server_or_storage() -> None:
    forbidden = (
        "mockpanel.dialects", "mockpanel.server", "mockpanel.persistence", "mockpanel.ui",
        "mockpanel.cli", "mockpanel.testing", "mockpanel.control", "mockpanel.loader",
        "json", "orjson", "starlette", "httpx", "importlib.resources",
    )
    assert _crossings("mockpanel.domain", forbidden) == []


def test_the_domain_holds_no_recorder_hook() -> None:
    # The domain declares which methods change state (MUTATIONS); recording them is the control side's.
    hooks = {"recorder", "replaying", "Recorder"}
    found = []
    for module, path in MODULES.items():
        if module == "mockpanel.domain" or _is_parent("mockpanel.domain", module):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for n in ast.walk(tree):
                name = n.id if isinstance(n, ast.Name) else n.attr if isinstance(n, ast.Attribute) else None
                if name in hooks:
                    found.append(f"{path.relative_to(ROOT)}:{n.lineno} {name}")
    assert found == []


def test_control_sits_on_the_domain_and_the_dialects() -> None:
    # The control side (the Panel users get) may read wire fields and the domain, never serve or store.
    forbidden = ("mockpanel.server", "mockpanel.persistence", "mockpanel.ui", "mockpanel.cli", "mockpanel.testing",
                 "mockpanel.proxy", "json", "starlette", "httpx")
    assert _crossings("mockpanel.control", forbidden) == []
    assert "mockpanel.control.panel" in MODULES


def test_the_dialects_know_no_control_server_or_storage() -> None:
    forbidden = ("mockpanel.control", "mockpanel.server", "mockpanel.persistence", "mockpanel.ui", "mockpanel.testing")
    assert _crossings("mockpanel.dialects", forbidden) == []


def test_the_judge_is_apart_from_the_mock() -> None:
    forbidden = ("mockpanel.domain", "mockpanel.server", "mockpanel.persistence", "mockpanel.ui",
                 "mockpanel.control", "mockpanel.testing")
    assert _crossings("conformance", forbidden) == []


def _own_names(tree: ast.AST) -> set[str]:
    """The names a module defines or binds itself: its functions, classes, variables, arguments,
    the attributes it sets on ``self``/``cls``, and the strings it names (``__slots__``)."""
    own: set[str] = set()
    for n in ast.walk(tree):
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            own.add(n.name)
        elif isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
            own.add(n.id)
        elif isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id in ("self", "cls"):
            own.add(n.attr)
        elif isinstance(n, ast.arg):
            own.add(n.arg)
        elif isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value.startswith("_"):
            own.add(n.value)
    return own


def _private_uses() -> list[str]:
    """``obj._name`` where ``_name`` is private to another module: not defined in this one."""
    bad: list[str] = []
    for path in MODULES.values():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        own = _own_names(tree)
        for n in ast.walk(tree):
            if (isinstance(n, ast.Attribute) and n.attr.startswith("_") and not n.attr.startswith("__")
                    and n.attr not in own):
                bad.append(f"{path.relative_to(ROOT)}:{n.lineno} {ast.unparse(n)}")
    return sorted(bad)


def test_no_private_name_of_another_module_is_used() -> None:
    assert _private_uses() == []
