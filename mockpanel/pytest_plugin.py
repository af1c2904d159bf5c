"""The pytest plugin (entry point ``pytest11``): installing mockpanel is enough, no conftest.

Fixtures:

- ``mockpanel``: a fresh mock panel for this test (a ``mockpanel._testing.MockPanel``):
  ``.url``, ``.key``, ``.clock.advance(...)``, ``.set_order(...)``, ``.requests`` and the rest
  of the control API. Configure one test with ``@pytest.mark.mockpanel(balance=..., ...)``.
- ``mockpanel_factory``: call it for more panels in one test (``mockpanel_factory(dialect=...)``).
- ``mockpanel_defaults`` (session): the options every panel starts from; override it in a
  conftest, or set ini options ``mockpanel_balance``, ``mockpanel_currency``,
  ``mockpanel_catalog``, ``mockpanel_dialect``, ``mockpanel_seed``, ``mockpanel_speed``.
- ``mockpanel_server`` (session): the hub all panels of this session (or xdist worker)
  live on; its uvicorn server starts the first time a test reads a ``url``.

Imports of the server stack happen inside the fixtures, so a session that does not
use them pays nothing for this plugin.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any, Callable, Iterator

import pytest

if TYPE_CHECKING:  # pragma: no cover
    from ._server.hub import HubServer
    from ._testing import MockPanel

OPTIONS = {
    "balance": ("opening balance of each test's API key", "100"),
    "currency": ("currency of each test's API key", "USD"),
    "catalog": ("catalogue name or .json path (default: the dialect's own)", ""),
    "dialect": ("dialect profile name or .json path", "standard"),
    "seed": ("seed for order plans and outcomes", "0"),
    "speed": ("virtual seconds per real second; 0 freezes the clock", "0"),
}
MARKER = (
    "mockpanel(balance=, currency=, catalog=, seed=, speed=, dialect=, key=, scenario=): "
    "configure the mock panel of this test (the mockpanel fixture)"
)


PANELS = pytest.StashKey[list["MockPanel"]]()  # the panels a test made, for its report
REPORT_LIMIT = 50  # requests shown per panel in a failed test's report


def pytest_addoption(parser: pytest.Parser) -> None:
    for name, (help_text, default) in OPTIONS.items():
        parser.addini(f"mockpanel_{name}", f"mockpanel: {help_text} (default {default or 'none'})", default=default)
    group = parser.getgroup("mockpanel", "mockpanel gauntlet: every test with the mockpanel fixture per cell")
    group.addoption("--mockpanel-dialects", metavar="all|NAME,...", help="Run each mockpanel test once per dialect.")
    group.addoption("--mockpanel-scenarios", metavar="all|NAME,...", help="...and per scenario (docs/gauntlet.md).")
    group.addoption("--mockpanel-report", metavar="FILE", help="Write the matrix as HTML (.html) or JSON (.json).")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER)
    dialects, scenarios = config.getoption("mockpanel_dialects"), config.getoption("mockpanel_scenarios")
    if dialects or scenarios or config.getoption("mockpanel_report"):
        from ._gauntlet.pytest_cells import GauntletCells  # only then: nothing changes without these options

        config.pluginmanager.register(
            GauntletCells(dialects, scenarios, config.getoption("mockpanel_report"), PANELS), "mockpanel-gauntlet")


@pytest.fixture
def mockpanel_cell(request: pytest.FixtureRequest) -> tuple[str, str] | None:
    """The gauntlet's cell (dialect, scenario) this test runs in, or None outside the gauntlet."""
    return getattr(request, "param", None)


@pytest.fixture(scope="session")
def mockpanel_defaults(pytestconfig: pytest.Config) -> dict[str, Any]:
    """Options every mock panel of the session starts from (ini options, then this)."""
    ini = {name: pytestconfig.getini(f"mockpanel_{name}") for name in OPTIONS}
    try:
        seed, speed = int(ini["seed"]), float(ini["speed"])
    except ValueError:
        raise pytest.UsageError(
            f"ini options mockpanel_seed and mockpanel_speed are numbers, got {ini['seed']!r} and {ini['speed']!r}"
        ) from None
    return {
        "balance": ini["balance"],
        "currency": ini["currency"],
        "catalog": ini["catalog"] or None,
        "dialect": ini["dialect"],
        "seed": seed,
        "speed": speed,
    }


@pytest.fixture(autouse=True)
def _mockpanel_defaults_kept(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each test gets the session's defaults as they were: what one test writes into the
    ``mockpanel_defaults`` dict is undone when it ends, so the next test never sees it.
    (The fixture stays session-scoped: a conftest's session-scoped override still works.)"""
    if "mockpanel_defaults" not in request.fixturenames:  # a test that does not use them pays nothing
        yield
        return
    defaults = request.getfixturevalue("mockpanel_defaults")
    if not isinstance(defaults, dict):  # an override's own Mapping: nothing to write into
        yield
        return
    try:
        kept = copy.deepcopy(defaults)
    except (TypeError, copy.Error):  # a value that cannot be copied (a lock, ...): keep the keys at least
        kept = dict(defaults)
    yield
    defaults.clear()
    defaults.update(kept)


@pytest.fixture(scope="session")
def mockpanel_server() -> Iterator["HubServer"]:
    """The hub that hosts this session's panels (one per xdist worker, as each is a session)."""
    from ._server.hub import HubServer

    with HubServer() as server:
        yield server


@pytest.fixture
def mockpanel_factory(
    mockpanel_server: "HubServer", mockpanel_defaults: dict[str, Any], request: pytest.FixtureRequest
) -> Iterator[Callable[..., "MockPanel"]]:
    """Make mock panels for this test: ``mockpanel_factory(dialect="smartpanel-v1", balance="5")``.
    Each is unmounted when the test ends."""
    from ._testing import MockPanel

    made: list[MockPanel] = []
    request.node.stash[PANELS] = made  # a failed test's report shows their journals

    def make(**options: Any) -> MockPanel:
        # Each panel of a test gets its own key ("mockpanel-key-1", "-2", ...): a client that
        # mixes up its providers' keys is caught, and a seed gives the same plans every run.
        options = {"key": f"mockpanel-key-{len(made) + 1}", **mockpanel_defaults, **options}
        panel = MockPanel(mockpanel_server, **options)
        made.append(panel)
        return panel

    yield make
    for panel in made:
        panel.close()


@pytest.fixture
def mockpanel(request: pytest.FixtureRequest, mockpanel_factory: Callable[..., "MockPanel"],
              mockpanel_cell: tuple[str, str] | None) -> "MockPanel":
    """A fresh mock panel with a funded key for this test (see ``@pytest.mark.mockpanel``)."""
    options: dict[str, Any] = {}
    for marker in reversed(list(request.node.iter_markers("mockpanel"))):  # the closest marker wins
        if marker.args:
            pytest.fail("@pytest.mark.mockpanel takes keyword arguments only, e.g. balance=\"5\"", pytrace=False)
        options.update(marker.kwargs)
    if mockpanel_cell is not None:  # --mockpanel-dialects / --mockpanel-scenarios: the cell decides
        options["dialect"], options["scenario"] = mockpanel_cell
    try:
        return mockpanel_factory(**options)
    except (TypeError, ValueError) as exc:
        problem = f"@pytest.mark.mockpanel: {exc}"
    pytest.fail(problem, pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A failed test that used mock panels gets a report section per panel with its journal
    (each request and answer, keys redacted: any key of the panel pasted into a field too), shown as
    pytest shows captured logs."""
    report = yield
    panels = item.stash.get(PANELS, None)
    if report.failed and panels:
        from ._panel.scrub import scrub

        for n, panel in enumerate(panels, 1):
            name = "mockpanel journal" + (f" (panel {n}: {panel.dialect.name})" if len(panels) > 1 else "")
            report.sections.append((name, scrub(panel.panel, panel.journal.report(REPORT_LIMIT))))
    return report
