"""The benchmarks' own tests start servers and load generators: marked ``slow``, so a contributor's quick
run (``python -m pytest -m "not slow"``) skips them; CI runs them."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.slow)
