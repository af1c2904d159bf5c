"""``python -m mockpanel``: the same command line as ``mockpanel``."""

from __future__ import annotations

from ._cli import main

if __name__ == "__main__":  # pragma: no cover
    main(prog_name="mockpanel")
