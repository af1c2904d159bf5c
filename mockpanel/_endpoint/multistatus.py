"""Status answers with the rendered entries of orders kept: a multi-order status
(``orders=1,2,...``) and a single one (``order=1``, as its JSON bytes).

An order's entry changes with time only at known instants (``state_until``): a final order's
never, a running one's when it leaves Pending or shows one more unit delivered, every few
seconds; any forced change bumps the order's version (or, for a start count, changes the
column compared here). So a multi-status entry is rendered (and encoded) once and reused
until that instant, while its row's owner, version, start count, the client's token, the
currency and the dialect are the ones it was rendered for: a client polling its running
orders many times a second gets most entries as they were. A single status's whole answer is
kept once final, and so is a multi-status answer whose entries hold until a change (final
orders, or held in Pending), for as long as no order in the book changes (``OrderBook.changes``):
a client polling the same batch is sent the same bytes.
"""

from __future__ import annotations

from typing import Any

import orjson

from .._dialects import render
from .._dialects.parse import MAX_DIGITS, parse_ids, split_ids
from .._dialects.profile import Dialect
from .._domain.accounts import Account
from .._domain.errors import ErrorCode, PanelError
from .._domain.order_rows import state_until
from .._domain.orders import state_of
from .._panel.panel import Panel

KEPT_ENTRIES = 50_000  # rendered entries kept (about 0.5 KB each); the cache starts over when full
INF = float("inf")
ANSWERS_BYTES = 16 << 20  # of whole multi-status answers kept; the cache starts over when full


class FinalStatuses:
    """The status answers of one endpoint, with orders' entries kept while they hold."""

    def __init__(self) -> None:
        self._book: object = None
        self._dialect: Dialect | None = None
        self._currency = ""  # the currency the kept entries show
        # token -> an order's entry: (row, version, start count, entry, its bytes, book changes, owner,
        # the time it was rendered at, the time it holds until).
        self._shown: dict[str, tuple[int, int, int, Any, bytes, int, int, float, float]] = {}
        # Row -> (version, start count, currency, payload, bytes): a single status's whole answer.
        self._singles: dict[int, tuple[int, int, str, Any, bytes]] = {}
        # The id list as sent -> ((book changes, owner, currency, batch limit), payload, bytes): a
        # multi-status answer whose entries hold until a change.
        self._answers: dict[str, tuple[tuple[int, int, str, int], Any, bytes]] = {}
        self._answers_bytes = 0

    def _same_panel(self, panel: Panel, dialect: Dialect) -> None:
        if panel.orders is not self._book or dialect is not self._dialect:  # a reset panel: rows are other orders
            self._book, self._dialect, self._shown, self._singles = panel.orders, dialect, {}, {}
            self._answers, self._answers_bytes = {}, 0

    def single(self, panel: Panel, dialect: Dialect, account: Account, raw: str | None) -> tuple[Any, bytes] | None:
        """The answer to ``status`` of one final order of the account, id as plain digits, as
        (payload, bytes); None for anything else (the caller answers it the usual way)."""
        token = (raw or "").strip()
        if not (token.isascii() and token.isdigit()) or len(token) > MAX_DIGITS or token[0] == "0":
            return None
        order_id = int(token)
        lock = panel.lock
        lock.acquire()  # not ``with``: the common request's path, where it costs twice as much
        try:
            self._same_panel(panel, dialect)
            book = panel.orders
            row = order_id - book.first_id
            if not 0 <= row < len(book.account_ix) or book.account_ix[row] != book.accounts.index(account.id):
                return None
            hit = self._singles.get(row)
            if (hit is not None and hit[0] == book.version[row] and hit[1] == book.start_count[row]
                    and hit[2] == account.currency):  # kept once final, and final stays final: the clock never goes back
                return hit[3], hit[4]
            now = panel.clock.now()
            if now < book.done_at[row]:
                return None  # still running: its answer changes with time
            stamp = (book.version[row], book.start_count[row], account.currency)
            state = state_of(book, row, now)
        finally:
            lock.release()
        payload = render.envelope(dialect, "status", render.status(dialect, state, order_id, account.currency))
        body = render.encode(dialect, payload)
        if len(self._singles) >= KEPT_ENTRIES:
            self._singles.clear()
        self._singles[row] = (*stamp, payload, body)
        return payload, body

    def answer(self, panel: Panel, dialect: Dialect, key: str, account: Account, raw: str) -> tuple[Any, bytes]:
        """The multi-status answer for ``orders=raw``, as (payload, JSON bytes)."""
        with panel.lock:
            account = panel.account(key)
            self._same_panel(panel, dialect)
            book = panel.orders
            owner = book.accounts.index(account.id)
            stamp = (book.changes, owner, account.currency, panel.settings.batch_limit)
            kept = self._answers.get(raw)
            if kept is not None and kept[0] == stamp:
                return kept[1], kept[2]
            payload, body, until = self._answer(panel, dialect, book, owner, account.currency, raw)
            if until == INF:
                size = len(body) + len(raw) + 64 * len(payload) + 256  # the payload's dict and the key's tuple, about
                if self._answers_bytes + size > ANSWERS_BYTES:
                    self._answers, self._answers_bytes = {}, 0
                self._answers[raw] = (stamp, payload, body)
                self._answers_bytes += size
            return payload, body

    def _answer(self, panel: Panel, dialect: Dialect, book: Any, owner: int, currency: str,
                raw: str) -> tuple[Any, bytes, float]:
        """The answer, and the time it holds until (infinity: until an order changes)."""
        tokens = raw.split(",")
        # Plain "1,2,3" (what clients send) is read token by token, and only a token whose entry is
        # not kept is parsed; anything else is split and parsed as every id list is.
        plain = raw.isascii() and raw.replace(",", "").isdigit() and "" not in tokens
        ids: list[int | None] | None = None
        if not plain:
            tokens = split_ids(raw)
            ids = parse_ids(tokens)
        panel.check_batch(tokens)
        status_of = render.status_renderer(dialect)
        # Compact JSON is written from each entry's own bytes, kept with the entry: an entry is
        # encoded once for as long as it holds. (PHP-style or indented JSON is encoded whole.)
        compact = dialect.json_indent is None and not dialect.json_php and not dialect.json_prefix
        out: dict[str, Any] = {}
        parts: list[bytes] = []
        if currency != self._currency:
            self._currency, self._shown = currency, {}
        shown = self._shown
        now = panel.clock.now()
        account_ix = book.account_ix
        version, start_count = book.version, book.start_count
        first, rows = book.first_id, len(account_ix)
        changes = book.changes
        soonest = INF  # the answer holds until its first entry changes
        for i, token in enumerate(tokens):
            hit = shown.get(token)  # kept while it holds
            if hit is not None and hit[7] <= now < hit[8]:
                # Kept for this owner with no order changed since: as it was (no column read, which
                # in a large book is a cache miss each). Else the row itself says (keys can be removed).
                row = hit[0]
                if (hit[5] == changes and hit[6] == owner) or (
                        account_ix[row] == owner and hit[1] == version[row] and hit[2] == start_count[row]):
                    if hit[8] < soonest:
                        soonest = hit[8]
                    out[token] = hit[3]
                    parts.append(hit[4])
                    continue
            if ids is None:
                order_id: int | None = int(token) if len(token) <= MAX_DIGITS else None
            else:
                order_id = ids[i]
            row = -1 if order_id is None else order_id - first  # book.row, inlined: a removed row's owner is none
            if not 0 <= row < rows or account_ix[row] != owner:
                entry = render.item_error(dialect, PanelError(ErrorCode.INCORRECT_ORDER_ID))
                soonest = now  # not kept whole: an id placed later is an order then
            else:
                state, until = state_until(book, row, now)
                entry = status_of(state, token, currency)
                if until < soonest:
                    soonest = until
                if until > now:
                    if len(shown) >= KEPT_ENTRIES:
                        shown.clear()
                    # (row, version, start count, entry, its bytes, book changes, owner, from, until):
                    # atoms, a dict of atoms and bytes, which the garbage collector stops tracking.
                    shown[token] = hit = (row, version[row], start_count[row], entry,
                                          _member(token, entry) if compact else b"", changes, owner, now, until)
                    out[token] = entry
                    parts.append(hit[4])
                    continue
            out[token] = entry
            if compact:
                parts.append(_member(token, entry))
        if not compact or len(out) != len(tokens):  # a token asked twice is one member, where it first stood
            return out, render.encode(dialect, out), soonest
        return out, b"{" + b",".join(parts) + b"}", soonest


def _member(token: str, entry: Any) -> bytes:
    """``"token":entry`` as compact JSON."""
    return orjson.dumps(token) + b":" + orjson.dumps(entry)
