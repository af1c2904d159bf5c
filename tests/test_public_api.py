"""The public surface: ``mockpanel.__all__``, from the one export table of ``mockpanel/__init__.py``.

The names never change without a release note (the promise covers them); each resolves lazily
to what the typing block names, so type checkers and the running code agree.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import mockpanel

ROOT = Path(__file__).resolve().parent.parent
PUBLIC = [
    "Catalog", "Dialect", "DialectError", "ErrorCode", "LifecycleSettings", "MockPanel", "Panel", "PanelError",
    "PanelSettings", "RefillStatus", "ServerThread", "Service", "Status", "SyncASGITransport", "VirtualClock",
    "available_dialects", "build_panel", "create_app", "generate_catalog", "inprocess_client", "load_catalog", "load_dialect",
    "mock_panel", "redact",
]


def _typing_block() -> dict[str, str]:
    """name -> module of every import under ``if TYPE_CHECKING:`` in mockpanel/__init__.py."""
    tree = ast.parse((ROOT / "mockpanel" / "__init__.py").read_text(encoding="utf-8"))
    (block,) = [n for n in tree.body if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING"]
    return {a.asname or a.name: (n.module or "") for n in block.body if isinstance(n, ast.ImportFrom) for a in n.names}


def test_the_public_names_are_kept() -> None:
    assert sorted(mockpanel.__all__) == sorted(PUBLIC)


def test_the_typing_block_names_exactly_the_export_table() -> None:
    typed = _typing_block()
    assert set(typed) == set(mockpanel.__all__)
    for name in mockpanel.__all__:
        value = getattr(mockpanel, name)
        assert value.__module__.startswith("mockpanel"), name
        assert typed[name] == mockpanel._EXPORTS[name], name  # the same module in both


def test_importing_the_package_loads_no_server() -> None:
    # pytest imports mockpanel for its plugin in every session: the server stack loads on first use only.
    script = "import sys, mockpanel; print(sorted(m for m in sys.modules if m.split('.')[0] in ('starlette', 'uvicorn', 'httpx')))"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]"


def test_an_unknown_name_says_so() -> None:
    try:
        mockpanel.NoSuchThing  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        assert "NoSuchThing" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("an unknown name resolved")
