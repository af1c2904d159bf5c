"""How an ``Order`` view reads its row: column and extra properties, and list fields packed.

An order's numbers live in the book's typed columns and its rare fields in ``extras``
(orderbook.py); these properties let ``Order`` read and write them as attributes.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar, overload

T = TypeVar("T")


class Field(Generic[T]):
    """The type checker's view of a column or extra: a property holding a T (at run time, a ``property``)."""

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> Field[T]: ...
    @overload
    def __get__(self, obj: Any, owner: type | None = None) -> T: ...
    def __get__(self, obj: Any, owner: type | None = None) -> T | Field[T]:
        raise NotImplementedError

    def __set__(self, obj: Any, value: T) -> None:
        raise NotImplementedError


def column(name: str, doc: str) -> Any:  # a property; the annotation where it is used gives its type
    def get(self: Any) -> Any:
        return getattr(self._book, name)[self._row]

    def put(self: Any, value: Any) -> None:
        book = self._book
        getattr(book, name)[self._row] = value
        book.changes += 1

    return property(get, put, doc=doc)


def extra(name: str, default: Any, doc: str) -> Any:  # a property; typed where it is used
    def get(self: Any) -> Any:
        extra = self._book.extras.get(self._row)
        return default if extra is None else extra.get(name, default)

    def put(self: Any, value: Any) -> None:
        self._book.changes += 1
        extras = self._book.extras
        if value is default or value == default and value is not None:
            extra = extras.get(self._row)
            if extra is not None:
                extra.pop(name, None)
                if not extra:
                    del extras[self._row]
            return
        extras.setdefault(self._row, {})[name] = value

    return property(get, put, doc=doc)


class PackedLines(str):
    """A list of lines kept as one string: a 10,000-name list is one object, not 10,000."""

    __slots__ = ()


def pack(details: dict[str, Any] | None) -> dict[str, Any] | None:
    if not details:
        return details
    return {
        name: PackedLines("\n".join(value))
        if isinstance(value, list) and value and all(v.__class__ is str and "\n" not in v for v in value)
        else value
        for name, value in details.items()
    }


def unpack(details: dict[str, Any] | None) -> dict[str, Any] | None:
    if not details:
        return details
    return {name: value.split("\n") if value.__class__ is PackedLines else value for name, value in details.items()}
