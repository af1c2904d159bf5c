"""The journal's checks: the questions a client developer asks of a money API with no
idempotency. Did my client send this? Did it place the same order twice? Does it poll
too fast? Each failing check raises AssertionError with a message that shows what was
expected and what the panel received.
"""

from __future__ import annotations

from typing import Any, Callable, Generic, Mapping, Protocol, TypeVar


class CheckedRequest(Protocol):
    """What the checks read of a journaled request (``journal.Request`` has it)."""

    @property
    def seq(self) -> int: ...

    @property
    def at(self) -> float: ...

    @property
    def wall(self) -> float: ...

    @property
    def key_id(self) -> str: ...

    @property
    def params(self) -> Mapping[str, str]: ...

    @property
    def order(self) -> int | None: ...

    @property
    def ids(self) -> list[int]: ...

    def get(self, name: str, default: Any = None) -> Any: ...

    def describe(self) -> str: ...


R = TypeVar("R", bound=CheckedRequest)  # the journal's entry type (journal.Request)


class JournalChecks(Generic[R]):
    """Mixed into Journal: everything here reads ``self.entries(action, key)``."""

    def entries(self, action: str | None = None, key: str | None = None, limit: int | None = None) -> list[R]:
        raise NotImplementedError

    # --- verification ----------------------------------------------------------------

    def find(self, action: str | None = None, key: str | None = None, **params: Any) -> list[R]:
        """Requests of ``action`` whose fields equal ``params`` (values compared as text;
        a callable value is a predicate on the field's text)."""
        return [e for e in self.entries(action, key) if not _differences(e, params)]

    def assert_requested(
        self, action: str, *, count: int | None = None, key: str | None = None, **params: Any
    ) -> list[R]:
        """Fail unless some request (or exactly ``count``) of ``action`` has these fields."""
        __tracebackhide__ = True
        found = self.find(action, key, **params)
        if (count is None and found) or (count is not None and len(found) == count):
            return found
        wanted = _wanted(action, params)
        if count is not None and found:
            lines = [f"Expected {count} {wanted}; got {len(found)}:"]
            lines += [f"  {e.describe()}" for e in found]
            raise AssertionError("\n".join(lines))
        raise AssertionError(self._miss_report(action, key, params, wanted, count))

    def assert_not_requested(self, action: str, *, key: str | None = None, **params: Any) -> None:
        __tracebackhide__ = True
        found = self.find(action, key, **params)
        if found:
            lines = [f"Expected no {_wanted(action, params)}; got {len(found)}:"]
            lines += [f"  {e.describe()}" for e in found]
            raise AssertionError("\n".join(lines))

    def _miss_report(self, action: str, key: str | None, params: Mapping[str, Any], wanted: str, count: int | None) -> str:
        same = self.entries(action, key)
        head = f"Expected {'' if count is None else f'{count} '}{wanted}; none matched."
        if not same:
            others = self.entries(key=key)
            lines = [head, f"The panel received no '{action}' request at all."]
            if others:
                lines.append(f"It received {len(others)} request(s), newest last:")
                lines += [f"  {e.describe()}" for e in others[-10:]]
            else:
                lines.append("It received no requests: is the client pointed at this panel's url and key?")
            return "\n".join(lines)
        ranked = sorted(same, key=lambda e: (len(_differences(e, params)), -e.seq))
        lines = [head, f"The panel received {len(same)} '{action}' request(s); the closest:"]
        for entry in ranked[:5]:
            lines.append(f"  {entry.describe()}")
            for name, (expected, got) in _differences(entry, params).items():
                shown = "(missing)" if got is None else repr(got)
                lines.append(f"      {name}: expected {_expected_text(expected)}, got {shown}")
        return "\n".join(lines)

    # --- duplicate orders: API v2 has no idempotency key --------------------------------

    def duplicate_orders(self, window: float = 60.0, key: str | None = None) -> list[list[R]]:
        """Groups of ``add`` requests with the same key, service, link and quantity sent
        within ``window`` virtual seconds of each other: each retry may charge again."""
        groups: dict[tuple[str, ...], list[R]] = {}
        for e in self.entries("add", key):
            ident = (e.key_id, e.get("service", "").strip(), e.get("link", "").strip(), e.get("quantity", "").strip())
            groups.setdefault(ident, []).append(e)
        out = []
        for entries in groups.values():
            run = [entries[0]]
            for e in entries[1:]:
                if e.at - run[-1].at <= window:
                    run.append(e)
                else:
                    if len(run) > 1:
                        out.append(run)
                    run = [e]
            if len(run) > 1:
                out.append(run)
        return sorted(out, key=lambda run: run[0].seq)

    def assert_no_duplicate_orders(self, window: float = 60.0, key: str | None = None) -> None:
        __tracebackhide__ = True
        runs = self.duplicate_orders(window, key)
        if not runs:
            return
        lines = [f"{len(runs)} order(s) were sent more than once within {window:g} s (API v2 has no idempotency:"
                 " every 'add' that reaches the panel is charged):"]
        for run in runs:
            placed = [e.order for e in run if e.order is not None]
            first = run[0]
            lines.append(
                f"  service={first.get('service')!r} link={first.get('link')!r} quantity={first.get('quantity')!r}:"
                f" sent {len(run)} times, placed {len(placed)} order(s) {placed}"
            )
            lines += [f"    {e.describe()}" for e in run]
        raise AssertionError("\n".join(lines))

    # --- polling ---------------------------------------------------------------------

    def polls(self, order_id: int, action: str = "status", key: str | None = None) -> list[R]:
        """The ``action`` requests that asked about ``order_id`` (single or batched)."""
        return [e for e in self.entries(action, key) if order_id in e.ids]

    def assert_polling_rate(
        self,
        *,
        min_interval: float | None = None,
        max_per_minute: int | None = None,
        action: str = "status",
        key: str | None = None,
        clock: str = "virtual",
    ) -> None:
        """Fail if the same id was polled again sooner than ``min_interval`` seconds, or if
        more than ``max_per_minute`` ``action`` requests fell in any 60 s. ``clock`` is
        "virtual" (the panel's clock, which tests move) or "real" (wall time)."""
        __tracebackhide__ = True
        if clock not in ("virtual", "real"):
            raise ValueError(f"clock is 'virtual' or 'real', got {clock!r}")
        at: Callable[[R], float] = (lambda e: e.at) if clock == "virtual" else (lambda e: e.wall)
        entries = self.entries(action, key)
        problems: list[str] = []
        if min_interval is not None:
            last: dict[int, R] = {}
            for e in entries:
                for i in e.ids:
                    previous = last.get(i)
                    if previous is not None and at(e) - at(previous) < min_interval:
                        problems.append(
                            f"  id {i} polled {at(e) - at(previous):.3g} s after the previous poll "
                            f"(minimum {min_interval:g} s): #{previous.seq} then #{e.seq}"
                        )
                    last[i] = e
        if max_per_minute is not None:
            times = [at(e) for e in entries]
            start = 0
            for end in range(len(times)):
                while times[end] - times[start] >= 60.0:
                    start += 1
                if end - start + 1 > max_per_minute:
                    problems.append(
                        f"  {end - start + 1} '{action}' requests within 60 s (maximum {max_per_minute}): "
                        f"#{entries[start].seq} .. #{entries[end].seq}"
                    )
                    break
        if problems:
            shown = problems[:10] + ([f"  ... and {len(problems) - 10} more"] if len(problems) > 10 else [])
            raise AssertionError(f"The client polls '{action}' too fast ({clock} clock):\n" + "\n".join(shown))


def _differences(entry: CheckedRequest, params: Mapping[str, Any]) -> dict[str, tuple[Any, str | None]]:
    out = {}
    for name, expected in params.items():
        got = entry.params.get(name)
        if callable(expected):
            ok = got is not None and bool(expected(got))
        else:
            ok = got is not None and got.strip() == _text(expected)
        if not ok:
            out[name] = (expected, got)
    return out


def _text(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value).strip()


def _expected_text(value: Any) -> str:
    return getattr(value, "__name__", "a value passing the check") if callable(value) else repr(_text(value))


def _wanted(action: str, params: Mapping[str, Any]) -> str:
    fields = ", ".join(f"{k}={_expected_text(v)}" for k, v in params.items())
    return f"'{action}' request" + (f" with {fields}" if fields else "")
