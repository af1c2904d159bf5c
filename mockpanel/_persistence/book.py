"""An order book as bytes: its typed columns as they are in memory, the rest as JSON.

A checkpoint of a million orders must be quick to write and to read, or restarts and
checkpoints stall the server: writing the columns' bytes costs milliseconds, where
a JSON row per order cost seconds (snapshot.dump's rows, used by GET /_mock/state).
"""

from __future__ import annotations

from array import array

from .._domain.catalog import service_from_json
from .._domain.money import parse_amount
from .._domain.orderbook import OrderBook
from .._domain.orders import Order
from .codec import decode, dumps, encode, loads


def book_parts(book: OrderBook[Order]) -> dict[str, bytes]:
    """Named blobs that ``book_from`` turns back into an equal book."""
    arrays = {name: value for name, value in vars(book).items() if isinstance(value, array)}
    meta = {
        "first_id": book.first_id,
        "removed": book.removed,
        "arrays": {name: value.typecode for name, value in arrays.items()},
        "services": [s.to_json() for s in book.services.values],
        "accounts": list(book.accounts.values),
        "charges": [str(c) for c in book.charges.values],
        "extras": [[row, encode(extra)] for row, extra in book.extras.items()],
    }
    # Plain bytes: compressing them cost more time than writing them (a checkpoint stalls the server).
    parts = {"meta": dumps(meta), "links": dumps(book.links)}
    parts.update({f"array:{name}": value.tobytes() for name, value in arrays.items()})
    return parts


def book_from(parts: dict[str, bytes]) -> OrderBook[Order]:
    """The book ``book_parts`` wrote; ValueError if the parts do not fit together."""
    raw = parts
    meta = loads(raw["meta"])
    book: OrderBook[Order] = OrderBook(first_id=int(meta["first_id"]), view=Order.of)
    expected = {name for name, value in vars(book).items() if isinstance(value, array)}
    if set(meta["arrays"]) != expected:
        raise ValueError(f"its order columns {sorted(set(meta['arrays']) ^ expected)} differ from this mockpanel's")
    book.links = list(loads(raw["links"]))
    rows = len(book.links)
    for name, typecode in meta["arrays"].items():
        column = array(typecode)
        if column.typecode != getattr(book, name).typecode:
            raise ValueError(f"its order column {name} has type {typecode!r}")
        column.frombytes(raw[f"array:{name}"])
        if len(column) != rows:
            raise ValueError(f"its order column {name} has {len(column)} rows, not {rows}")
        setattr(book, name, column)
    for i, service in enumerate(meta["services"]):
        book.services.index(service_from_json(service, where=f"checkpoint service {i}"))
    for key in meta["accounts"]:
        book.accounts.index(str(key))
    for charge in meta["charges"]:
        book.charges.index(parse_amount(charge, name="charge"))
    book.extras = {int(row): decode(extra) for row, extra in meta["extras"]}
    book.removed = int(meta["removed"])
    return book
