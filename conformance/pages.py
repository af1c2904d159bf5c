"""The one look of every page mockpanel writes or serves: the conformance report, the proxy's
report, the gauntlet's and the dashboard.

One template engine (Jinja2, autoescaped: whatever a panel sent is text, never markup; strict: a
missing name is an error) over the judge's templates (``conformance/templates/``): ``base.html``,
the layout every page extends (its head, its top bar, its main), and ``look.css``, the stylesheet
a report inlines (one file, no external asset) and the dashboard serves; ``copy.js``, the one
script of a report (copy-as-curl), the only one its Content-Security-Policy lets run. Each page's
own templates come first in the loader (``environment(folder)``). The judge keeps them because
everything may read the judge and the judge reads nothing of the mock.
"""

from __future__ import annotations

import base64
import hashlib
from functools import cache
from pathlib import Path
from typing import Any, Callable

import jinja2

TEMPLATES = Path(__file__).parent / "templates"
STYLESHEET = "look.css"
SCRIPT = "copy.js"


@cache
def stylesheet() -> str:
    """The shared stylesheet's text."""
    return (TEMPLATES / STYLESHEET).read_text(encoding="utf-8")


@cache
def environment(*folders: Path, **filters: Callable[..., Any]) -> jinja2.Environment:
    """The templates of ``folders`` first, then the judge's (``base.html``, ``_curl.html``), with
    ``filters`` besides Jinja2's own (the dashboard's ``money``).

    Autoescaped whatever a template's name, and strict: a name missing from the context is
    an error, not an empty string."""
    loader = jinja2.FileSystemLoader([*map(str, folders), str(TEMPLATES)])
    env = jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    script = (TEMPLATES / SCRIPT).read_text(encoding="utf-8")
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    env.filters.update(filters)
    env.globals.update(stylesheet=stylesheet(), copy_script=script,
                       policy=f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{digest}'")
    return env


def render(name: str, /, *folders: Path, **context: Any) -> str:
    """The page ``name`` (from ``folders``, then the judge's templates) rendered with ``context``."""
    return environment(*folders).get_template(name).render(**context)
