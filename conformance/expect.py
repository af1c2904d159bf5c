"""What a response should look like, read from the dialect profile (one source of truth).

Field names and JSON kinds, envelopes, status vocabularies, id types, money
decimals, error words and where batch errors sit all come from the ``Dialect``
profile (read by the judge's own reader); the rest from the judge's own rules.
Nothing here hard-codes the standard dialect. Each function records the
requirements it exercised on a ``Checks``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from .rules import (
    TYPE_RULES,
    RefillStatus,
    Status,
    guess_refill_status,
    guess_status,
    type_in_any_spelling,
    type_named,
    usable_rate,
)
from .session import NOT_JSON, Exchange
from ._values import (
    WHOLE,
    decimal,
    flag,
    is_kind,
    json_kind,
    kind_name,
    short,
    whole,
)
from .verdicts import Checks

__all__ = ["Expect", "ServiceInfo", "StatusInfo", "decimal", "flag", "json_kind", "kind_name", "short", "whole"]

from .expect_base import UNREAD, ExpectBase, fold


@dataclass(frozen=True)
class ServiceInfo:
    """A service as listed, read leniently: the orders plan prices from it."""

    id: str
    name: str
    type: str | None  # canonical type name, or None if unknown
    rate: Decimal | None
    min: int | None
    max: int | None
    refill: bool
    cancel: bool
    dripfeed: bool


@dataclass(frozen=True)
class StatusInfo:
    word: str
    status: Status | None  # canonical, or None for a word we cannot place
    charge: Decimal | None
    remains: int | None
    start_count: int | None

    def same_as(self, other: "StatusInfo") -> bool:
        return (self.word, self.charge, self.remains, self.start_count) == (
            other.word, other.charge, other.remains, other.start_count
        )


class Expect(ExpectBase):
    """What every answer should look like, read from the dialect profile."""

    def same_charge(self, one: Decimal | None, other: Decimal | None) -> bool:
        """Charges equal at the fewer decimals of single and multi status (a family may write them differently)."""
        if one is None or other is None:
            return one == other
        places = min(self.dialect.money_format("status")[1], self.dialect.money_format("multi_status")[1])
        step = Decimal(1).scaleb(-places)
        return one.quantize(step) == other.quantize(step)

    def cancel_items(self, data: Any) -> Any:
        """cancel's answer as the list of {"order", "cancel"} items, whatever the dialect's shape:
        a keyed answer's accepted word reads as 1, its errors as the dialect's item errors."""
        accepted = self.dialect.cancel_accepted
        if self.dialect.cancel_shape == "keyed" and isinstance(data, dict) and not self.is_error(data):
            items = []
            for order, value in data.items():
                if isinstance(value, dict) and set(value) == {"cancel"}:
                    value = 1 if value["cancel"] == accepted else value["cancel"]
                elif self.dialect.batch_item_error == "string" and isinstance(value, dict) and "error" in value:
                    value = value["error"]
                items.append({"order": int(order) if WHOLE.fullmatch(order) else order, "cancel": value})
            return items
        if isinstance(data, list) and accepted != 1:
            return [{**i, "cancel": 1} if isinstance(i, dict) and i.get("cancel") == accepted else i for i in data]
        return data

    # --- services ----------------------------------------------------------------------

    def services(self, c: Checks, ex: Exchange, data: Any = UNREAD) -> list[ServiceInfo] | None:
        """The services listed. ``data``: the answer as ``response`` already read it (its checks made once),
        else read here."""
        data = self.response(c, ex) if data is UNREAD else data
        if data is NOT_JSON:
            self.not_judged(c, "V2-SVC-01", ex)
            return None
        if data == self.dialect.services_empty and data != []:
            c.ok("V2-SVC-01")
            return []
        if not c.require("V2-SVC-01", isinstance(data, list) and all(isinstance(i, dict) for i in data),
                         f"expected a list of service objects, got {short(data)}", ex):
            return None
        fields = self.dialect.service_fields
        out: list[ServiceInfo] = []
        ids: list[str] = []
        for i, item in enumerate(data):
            label = f"service #{i + 1} (id {short(item.get('service'))})"
            for name, kind in fields.items():
                if name not in item:
                    c.fail("V2-SVC-02", f"{label} has no field {name!r}", ex)
                elif not is_kind(item[name], kind):
                    c.fail("V2-SVC-02", f"{label}: {name!r} is {json_kind(item[name])} ({short(item[name])}); "
                           f"the dialect wants {kind_name(kind)}", ex)
                else:
                    c.ok("V2-SVC-02")
            info = self._service_info(c, item, label, ex)
            if info is not None:
                out.append(info)
                ids.append(info.id)
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        c.require("V2-SVC-03", not duplicates, f"service ids listed twice: {duplicates}", ex)
        return out

    def _service_info(self, c: Checks, item: dict[str, Any], label: str, ex: Exchange) -> ServiceInfo | None:
        sid = item.get("service")
        rate = decimal(item.get("rate"))
        low, high = whole(item.get("min")), whole(item.get("max"))
        if not c.require("V2-SVC-03", usable_rate(rate),
                         f"{label}: rate {short(item.get('rate'))} is not a positive price per 1000 (at most "
                         "1000000); the service is never ordered", ex):
            rate = None  # never priced, never ordered, never counted in the spend
        c.require("V2-SVC-03", low is not None and high is not None and 0 < low <= high,
                  f"{label}: min {short(item.get('min'))} and max {short(item.get('max'))} are not "
                  "whole numbers with 0 < min <= max", ex)
        raw_type = item.get("type")
        known = type_in_any_spelling(raw_type)  # the plan reads any spelling; the check wants the dialect's
        stype = known.name if known else None
        if "type" in self.dialect.service_fields:
            spelling = self.dialect.type_spelling
            if known is None:
                c.fail("V2-SVC-04", f"{label}: type {short(raw_type)} is not a known service type", ex)
            else:
                c.require("V2-SVC-04", type_named(raw_type, spelling) is not None,
                          f"{label}: type {short(raw_type)} is written as a "
                          f"{'name' if spelling == 'slug' else 'slug'}; the dialect {self.dialect.name!r} writes "
                          f"{known.slug if spelling == 'slug' else known.name!r}", ex)
        if sid is None or isinstance(sid, (bool, dict, list)):
            return None
        dripfeed = flag(item.get("dripfeed"))
        return ServiceInfo(
            id=str(sid), name=str(item.get("name", "")), type=stype, rate=rate, min=low, max=high,
            refill=flag(item.get("refill")) is True,
            cancel=flag(item.get("cancel")) is True,
            dripfeed=dripfeed if dripfeed is not None else (stype is not None and TYPE_RULES[stype].dripfeed),
        )

    # --- statuses ----------------------------------------------------------------------

    def status_word(self, c: Checks, word: Any, ex: Exchange) -> Status | None:
        if not isinstance(word, str):
            c.fail("V2-STA-03", f"status is {json_kind(word)} ({short(word)}), not a word", ex)
            return None
        canonical = self.dialect.read_status(word)
        if canonical is not None:
            c.ok("V2-STA-03", "V2-STA-04")
            return canonical
        folded = fold(word)
        if folded in self.vocabulary or folded in self.wild_words:
            c.ok("V2-STA-03")
            c.fail("V2-STA-04", f"status {word!r} is not spelled as the dialect {self.dialect.name!r} spells "
                   f"its statuses ({', '.join(self.dialect.statuses.values())})", ex)
            for status, spelled in self.dialect.statuses.items():
                if fold(spelled) == folded:
                    return status
            return guess_status(word)
        c.fail("V2-STA-03", f"status {word!r} is not a status of the dialect "
               f"({', '.join(self.dialect.statuses.values())}) nor one seen on real panels", ex)
        return None

    def status_item(self, c: Checks, item: Any, label: str, ex: Exchange, rid: str = "V2-STA-02",
                    context: str = "multi_status", order_id: str | None = None) -> StatusInfo | None:
        """One order's status (``order_id``: the id asked, which an id the status echoes must be)."""
        if not c.require(rid, isinstance(item, dict) and not self.is_error(item),
                         f"{label}: expected an order status object, got {short(item)}", ex):
            return None
        word: Any = None
        status = None
        charge = remains = start_count = None
        drip = self.dialect.dripfeed_fields
        if drip and set(item) == set(drip):  # a drip-feed order, shown apart by the dialect: its word only
            word = item[next(n for n, k in drip.items() if k == "status")]
            return StatusInfo(str(word), self.status_word(c, word, ex), None, None, None)
        for name, kind in self.dialect.status_fields.items():
            if name not in item:
                c.fail(rid, f"{label} has no field {name!r}", ex)
                continue
            value = item[name]
            if kind == "money":
                money_kind, places = self.dialect.money_format(context)
                charge = self.money(c, rid, value, f"{label} {name!r}", ex, places, money_kind)
                fewer = min(self.dialect.money_format("status")[1], self.dialect.money_format("multi_status")[1])
                if charge is not None and places > fewer:  # read at the decimals both answers show
                    charge = charge.quantize(Decimal(1).scaleb(-fewer), rounding=ROUND_HALF_UP)
            elif kind == "status":
                word = value
                status = self.status_word(c, value, ex)
            elif kind == "currency":
                if c.require(rid, isinstance(value, str), f"{label} {name!r} is {json_kind(value)}", ex) and self.currency:
                    c.require("V2-STA-05", value == self.currency,
                              f"{label} {name!r} is {value!r}, but the balance is in {self.currency!r}", ex)
            elif kind in ("str", "int"):
                word = item.get(next((n for n, k in self.dialect.status_fields.items() if k == "status"), ""))
                if name == "remains" and value in self.dialect.remains_words.values():  # "Unknown" for remains
                    c.require(rid, self.dialect.remains_words.get(self.dialect.read_status(word)) == value,  # type: ignore[arg-type]
                              f"{label} {name!r} is {value!r}, a word the dialect shows only in other statuses", ex)
                    continue
                ok = is_kind(value, kind) and whole(value) is not None
                c.require(rid, ok, f"{label} {name!r} is {json_kind(value)} ({short(value)}); the dialect wants "
                          f"{'a whole-number string' if kind == 'str' else 'an integer'}", ex)
                number = whole(value)
                if name == "remains":
                    remains = number
                elif name == "start_count":
                    start_count = number
            else:  # str_or_null; id_str / id_int: the order id echoed, which must be the one asked for
                if c.require(rid, is_kind(value, kind), f"{label} {name!r} is {json_kind(value)}; "
                             f"the dialect wants {kind_name(kind)}", ex) and order_id is not None \
                        and kind in ("id_str", "id_int"):
                    c.require(rid, str(value) == order_id,
                              f"{label} {name!r} is {short(value)}: the status asked for order {order_id} is "
                              "about another order", ex)
        if word is None:
            return None
        return StatusInfo(str(word), status, charge, remains, start_count)

    def single_status(self, c: Checks, ex: Exchange, data: Any = UNREAD) -> StatusInfo | None:
        data = self.response(c, ex) if data is UNREAD else data
        if data is NOT_JSON:
            self.not_judged(c, "V2-STA-02", ex)
            return None
        if self.dialect.single_status == "keyed" and isinstance(data, dict) and not self.is_error(data):
            if not c.require("V2-STA-02", len(data) == 1 and isinstance(next(iter(data.values())), dict),
                             f"expected the status keyed by its order id, got {short(data)}", ex):
                return None
            asked = str(ex.params.get("order", "")).strip()
            c.require("V2-STA-02", next(iter(data)) == asked,  # the id echoed back must be the one asked for
                      f"the status of order {asked} came keyed by {short(next(iter(data)))}", ex)
            data = next(iter(data.values()))
        if isinstance(data, dict) and not self.is_error(data):
            self.envelope(c, "V2-STA-02", data, ex, "status")
            fields = self.dialect.status_fields
            data = {k: v for k, v in data.items() if k in fields or k not in self.envelope_for("status")}
        asked = str(ex.params.get("order", "")).strip()
        return self.status_item(c, data, "status", ex, context="status", order_id=asked or None)

    def status_batch(self, c: Checks, ex: Exchange, tokens: list[str], unknown: set[str],
                     data: Any = UNREAD) -> dict[str, Any] | None:
        """A multi-status answer: keyed by token (BAT-01), every token present (BAT-02),
        unknown ones with the item error (BAT-02, ERR-01). Returns the items by token."""
        data = self.response(c, ex) if data is UNREAD else data
        if data is NOT_JSON:
            self.not_judged(c, "V2-BAT-01", ex)
            return None
        if self.error_message(data, keyed=False) is not None:
            c.fail("V2-BAT-03", f"a batch of {len(tokens)} ids was refused: {short(data)}", ex)
            return None
        c.ok("V2-BAT-03")
        if not c.require("V2-BAT-01", isinstance(data, dict),
                         f"expected an object keyed by order id, got {json_kind(data)}: {short(data)}", ex):
            return None
        items: dict[str, Any] = data
        missing = [t for t in tokens if t not in data]
        extra = [k for k in data if k not in tokens]
        # Keys other than the ids asked break BAT-01 (keyed by each requested id); the ids they stand in for are
        # the same defect, not a second one under BAT-02, which is for ids dropped with nothing in their place.
        c.require("V2-BAT-01", not extra, f"the answer's keys are not exactly the ids asked: keys {extra[:3]} "
                  f"were not asked for{f', and asked ids {missing[:3]} are missing' if missing else ''}", ex)
        if not extra:
            c.require("V2-BAT-02", not missing,
                      f"{len(missing)} of {len(tokens)} requested ids are missing from the answer (first: "
                      f"{missing[:3]})", ex)
        for token in tokens:
            if token in unknown and token in data:
                message = self.item_error(data[token])
                if c.require("V2-BAT-02", message is not None,
                             f"unknown id {token} should carry {self.item_error_form()}, got {short(data[token])}",
                             ex) and message is not None:
                    c.require("V2-ERR-01", self.matches("incorrect_order_id", message, None),
                              f"expected the words {self.wording('incorrect_order_id')!r}, got {message!r}", ex)
        return items

    # --- refills -----------------------------------------------------------------------

    def refill_word(self, c: Checks, rid: str, word: Any, ex: Exchange) -> RefillStatus | None:
        for status, spelled in self.dialect.refill_statuses.items():
            if word == spelled:
                c.ok(rid)
                return status
        c.fail(rid, f"refill status {short(word)} is not one of the dialect's "
               f"({', '.join(self.dialect.refill_statuses.values())})", ex)
        return guess_refill_status(word) if isinstance(word, str) else None

    def refill_batch_status(self, c: Checks, ex: Exchange, tokens: list[str], unknown: set[str],
                            data: Any = UNREAD) -> None:
        data = self.response(c, ex) if data is UNREAD else data
        if data is NOT_JSON:
            self.not_judged(c, "V2-BAT-05", ex)
            return
        if self.is_error(data):
            c.fail("V2-BAT-03", f"a batch of {len(tokens)} refill ids was refused: {short(data)}", ex)
            return
        c.ok("V2-BAT-03")
        if not c.require("V2-BAT-05", isinstance(data, list) and all(isinstance(i, dict) for i in data),
                         f"expected a list of {{\"refill\", \"status\"}} objects, got {short(data)}", ex):
            return
        kind = self.dialect.refill_batch_refill
        seen = []
        for item in data:
            echoed = kind == "objectid" and str(item.get("refill")) in unknown  # a token that is no id, as sent
            ok = set(item) >= {"refill", "status"} and (echoed or self.id_kind_ok(item.get("refill"), kind))
            c.require("V2-BAT-05", ok, f"item {short(item)}: expected \"refill\" as {kind_name(kind)} and \"status\"", ex)
            seen.append(str(item.get("refill")))
            if str(item.get("refill")) in unknown:
                message = self.item_error(item.get("status"))
                if c.require("V2-BAT-05", message is not None,
                             f"unknown refill {item.get('refill')} should carry {self.item_error_form()} in "
                             f"\"status\", got {short(item.get('status'))}", ex) and message is not None:
                    c.require("V2-ERR-02", self.matches("incorrect_refill_id", message, None),
                              f"expected the words {self.wording('incorrect_refill_id')!r}, got {message!r}", ex)
        missing = [t for t in tokens if t not in seen]
        c.require("V2-BAT-05", not missing, f"{len(missing)} requested refill ids are missing (first: {missing[:3]})", ex)
