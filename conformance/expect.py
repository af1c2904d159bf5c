"""What a response should look like, read from the dialect profile (one source of truth).

Field names and JSON kinds, envelopes, status vocabularies, id types, money
decimals, error words and where batch errors sit all come from the ``Dialect``
profile (read by the judge's own reader); the rest from the judge's own rules.
Nothing here hard-codes the standard dialect. Each function records the
requirements it exercised on a ``Checks``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Mapping

from .catalogue import Catalogue
from .profile import Dialect
from .rules import (
    TYPE_RULES, ErrorCode, RefillStatus, Status, guess_refill_status, guess_status, type_in_any_spelling, type_named,
    usable_rate,
)
from .session import NOT_JSON, Exchange
from .values import CURRENCY, WHOLE, decimal, flag, is_kind, json_kind, kind_name, short, whole
from .verdicts import Checks

__all__ = ["Expect", "ServiceInfo", "StatusInfo", "decimal", "flag", "json_kind", "kind_name", "short", "whole"]

# The actions a panel of the family may lack (SmartPanel 4.0 has none of them).
OPTIONAL_ACTIONS = frozenset({"refill", "refill_status", "cancel"})


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


class Expect:
    def __init__(self, dialect: Dialect, catalogue: Catalogue) -> None:
        self.dialect = dialect
        self.catalogue = catalogue
        self._wild = {_fold(w) for w in catalogue.statuses_in_the_wild}
        self._vocabulary = {_fold(w) for w in dialect.statuses.values()}
        self.currency: str | None = None  # the balance's, once read: statuses must use it too
        self.unknown_action_words: set[str] = {dialect.message(ErrorCode.INCORRECT_REQUEST, {})}

    # --- every response ----------------------------------------------------------------

    def response(self, c: Checks, ex: Exchange) -> Any:
        """GEN-06 (an answer), GEN-02 (no 5xx), GEN-01 (JSON); the parsed body or NOT_JSON."""
        if ex.error:
            c.fail("V2-GEN-06", f"no answer: {ex.error}", ex)
            return NOT_JSON
        c.ok("V2-GEN-06")
        assert ex.status is not None
        c.require("V2-GEN-02", ex.status < 500, f"the panel answered HTTP {ex.status}", ex)
        if not c.require(
            "V2-GEN-01", ex.is_json,
            f"the answer is not JSON (HTTP {ex.status}, {ex.content_type or 'no content type'}): "
            f"{ex.body[:120]!r}", ex,
        ):
            return NOT_JSON
        self._content_type(c, ex)
        data = ex.data
        if isinstance(data, dict) and self._foreign_error(data) is not None and self._shaped(data) is None:
            c.fail("V2-GEN-05", f"an error in another envelope than the dialect's {self._error_form()}: {short(data)}", ex)
        return data

    def _content_type(self, c: Checks, ex: Exchange) -> None:
        """GEN-07: JSON says it is JSON (or is sent as the profile says this panel family sends it)."""
        main = ex.content_type.split(";")[0].strip().lower()
        declared = self.dialect.content_type.split(";")[0].strip().lower()
        c.require("V2-GEN-07", main.endswith("json") or main.endswith("+json") or main == declared,
                  f"a JSON answer came as {ex.content_type or 'no content type'!s}, not application/json", ex)

    def _error_form(self) -> str:
        return '{"error": "…"}' if not self.dialect.error_bodies else '{"error": "…"} or its error bodies'

    @staticmethod
    def _foreign_error(data: dict[str, Any]) -> Any:
        """The message of an error in an envelope no profile here uses ({"status": "error", "message": …},
        {"success": false, …}), or None."""
        status = data.get("status")
        if "error" in data or (isinstance(status, str) and status.strip().lower() in ("success", "ok")):
            return None
        failed = (isinstance(status, str) and status.strip().lower() in ("error", "fail", "failed", "failure")) or (
            data.get("success") is False)
        if not failed and not (set(data) <= {"message", "msg", "code", "status"} and ("message" in data or "msg" in data)):
            return None
        message = data.get("message", data.get("msg", status))
        return message if message is not None else status

    def unsupported(self, c: Checks, ex: Exchange) -> bool:
        """Is this the panel's unknown-action error for an action of the API? Then the panel does not
        support the action: recorded on ``c``, and the requirements that need it are not exercised."""
        found = self.error_message(ex.data) if ex.is_json else None
        if found is None or not isinstance(found[0], str) or found[0] not in self.unknown_action_words:
            return False
        if ex.action in OPTIONAL_ACTIONS:  # services, add, status, balance: every panel has them
            c.unsupported.setdefault(ex.action, found[0])
        return True

    # --- errors ------------------------------------------------------------------------

    def wording(self, code: str, values: Mapping[str, Any] | None = None) -> str:
        template = self.dialect.errors[ErrorCode(code)]
        return template.format(**values) if values is not None else template

    def matches(self, code: str, message: str, values: Mapping[str, Any] | None) -> bool:
        """True if ``message`` is the dialect's wording of error ``code`` (with ``values``, exactly)."""
        if values is not None:
            return message == self.wording(code, values)
        template = self.dialect.errors[ErrorCode(code)]
        pattern = re.sub(r"\\\{\w+\\\}", r".+", re.escape(template))
        return re.fullmatch(pattern, message) is not None

    def error(
        self,
        c: Checks,
        ex: Exchange,
        rid: str,
        *,
        codes: tuple[str, ...] = (),
        wording_rid: str | None = None,
        values: Mapping[str, Any] | None = None,
        what: str = "an error",
    ) -> bool:
        """The answer is an error object (rid); its words are the dialect's (wording_rid)."""
        data = self.response(c, ex)
        if data is NOT_JSON:
            c.fail(rid, f"expected {what}; the answer is not JSON", ex)
            return False
        found = self.error_message(data)
        if not c.require(rid, found is not None, f"expected {what}, got {short(data)}", ex):
            return False
        message = found[0]
        c.require("V2-GEN-05", isinstance(message, str) and bool(message.strip()),
                  f"the error field is {short(message)}, not a non-empty string", ex)
        if ex.status is not None and ex.status < 500:
            c.require("V2-GEN-03", ex.status == 200, f"the error came with HTTP {ex.status}", ex)
        if codes and wording_rid and isinstance(message, str):
            ok = any(self.matches(code, message, values) for code in codes)
            expected = " or ".join(repr(self.wording(code, values)) if values is not None else
                                   repr(self.dialect.errors[ErrorCode(code)]) for code in codes)
            c.require(wording_rid, ok, f"expected the words {expected}, got {message!r}", ex)
        return True

    def error_message(self, data: Any) -> tuple[Any, str] | None:
        """(message, where) if ``data`` is an error answer in one of the dialect's shapes."""
        if not isinstance(data, dict):
            return None
        if "error" in data:
            return data["error"], "error"
        shaped = self._shaped(data)
        if shaped is not None:
            return shaped
        foreign = self._foreign_error(data)
        return (foreign, "foreign") if foreign is not None else None

    def _shaped(self, data: dict[str, Any]) -> tuple[Any, str] | None:
        """(message, where) if ``data`` is an error in one of the profile's own error bodies."""
        for shape in self.dialect.error_bodies.values():
            fixed = {k: v for k, v in shape.items() if not (isinstance(v, str) and "{message}" in v)}
            slots = [k for k in shape if k not in fixed]
            if set(data) == set(shape) and all(data[k] == v for k, v in fixed.items()) and slots:
                return data[slots[0]], slots[0]
        return None

    def is_error(self, data: Any) -> bool:
        return self.error_message(data) is not None

    def other_error(self, message: Any, code: str) -> str | None:
        """The dialect's error code whose words ``message`` is, if it is not ``code``'s."""
        if not isinstance(message, str) or self.matches(code, message, None):
            return None
        for other in ErrorCode:  # only exact words: "Invalid {field}" would match "Invalid API key"
            template = self.dialect.errors[other]
            if other.value != code and "{" not in template and template == message:
                return other.value
        return None

    def item_error(self, item: Any) -> str | None:
        """The message of a per-item error in a batch, in the dialect's form, or None."""
        if self.dialect.batch_item_error == "nested":
            if isinstance(item, dict) and set(item) == {"error"} and isinstance(item["error"], str):
                return item["error"]
            return None
        return item if isinstance(item, str) and _fold(item) not in self._vocabulary else None

    def item_error_form(self) -> str:
        return '{"error": "…"}' if self.dialect.batch_item_error == "nested" else 'a plain string "…"'

    # --- envelopes and ids ------------------------------------------------------------

    def envelope_for(self, action: str) -> Mapping[str, Any]:
        """Fields the dialect adds to an action's single-object success answer."""
        env = self.dialect.success_envelope or {}
        if env and all(isinstance(v, Mapping) for v in env.values()):  # per action
            return env.get(action, {})
        return env

    def envelope(self, c: Checks, rid: str, data: dict[str, Any], ex: Exchange, action: str) -> None:
        for name, value in self.envelope_for(action).items():
            c.require(rid, data.get(name) == value,
                      f"expected the envelope field {name!r} = {short(value)}, got {short(data.get(name))}", ex)

    def id_kind_ok(self, value: Any, kind: str) -> bool:
        if kind == "int":
            return isinstance(value, int) and not isinstance(value, bool)
        return isinstance(value, str) and WHOLE.fullmatch(value) is not None

    # --- services ----------------------------------------------------------------------

    def services(self, c: Checks, ex: Exchange) -> list[ServiceInfo] | None:
        data = self.response(c, ex)
        if data is NOT_JSON:
            c.fail("V2-SVC-01", "services did not answer JSON", ex)
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

    # --- balance -----------------------------------------------------------------------

    def money(self, c: Checks, rid: str, value: Any, label: str, ex: Exchange, decimals: int | None = None) -> Decimal | None:
        if not isinstance(value, str) or decimal(value) is None:
            c.fail(rid, f"{label} is {json_kind(value)} ({short(value)}), not a decimal string", ex)
            return None
        c.ok(rid)
        want = self.dialect.money_decimals if decimals is None else decimals
        places = len(value.split(".", 1)[1]) if "." in value else 0
        c.require("V2-BAL-02", places == want, f"{label} {value!r} has {places} decimals; the dialect uses {want}", ex)
        return decimal(value)

    def balance(self, c: Checks, ex: Exchange) -> tuple[Decimal, str] | None:
        data = self.response(c, ex)
        if not c.require("V2-BAL-01", isinstance(data, dict) and not self.is_error(data),
                         f"expected the balance object, got {short(data)}", ex):
            return None
        self.envelope(c, "V2-BAL-01", data, ex, "balance")
        amount: Decimal | None = None
        currency = ""
        for name, kind in self.dialect.balance_fields.items():
            if name not in data:
                c.fail("V2-BAL-01", f"the balance answer has no field {name!r}", ex)
                continue
            value = data[name]
            if kind == "money":
                places = self.dialect.balance_decimals
                amount = self.money(c, "V2-BAL-01", value, f"balance {name!r}", ex, places)
            elif kind == "currency":
                if c.require("V2-BAL-01", isinstance(value, str), f"currency is {json_kind(value)}", ex):
                    currency = value
                    self.currency = self.currency or value
                    c.require("V2-BAL-03", CURRENCY.fullmatch(value) is not None,
                              f"currency {value!r} is not a three-letter code", ex)
            else:
                c.require("V2-BAL-01", isinstance(value, str), f"{name!r} is {json_kind(value)}, not a string", ex)
        return (amount, currency) if amount is not None else None

    # --- statuses ----------------------------------------------------------------------

    def status_word(self, c: Checks, word: Any, ex: Exchange) -> Status | None:
        if not isinstance(word, str):
            c.fail("V2-STA-03", f"status is {json_kind(word)} ({short(word)}), not a word", ex)
            return None
        canonical = self.dialect.read_status(word)
        if canonical is not None:
            c.ok("V2-STA-03", "V2-STA-04")
            return canonical
        folded = _fold(word)
        if folded in self._vocabulary or folded in self._wild:
            c.ok("V2-STA-03")
            c.fail("V2-STA-04", f"status {word!r} is not spelled as the dialect {self.dialect.name!r} spells "
                   f"its statuses ({', '.join(self.dialect.statuses.values())})", ex)
            for status, spelled in self.dialect.statuses.items():
                if _fold(spelled) == folded:
                    return status
            return guess_status(word)
        c.fail("V2-STA-03", f"status {word!r} is not a status of the dialect "
               f"({', '.join(self.dialect.statuses.values())}) nor one seen on real panels", ex)
        return None

    def status_item(self, c: Checks, item: Any, label: str, ex: Exchange, rid: str = "V2-STA-02") -> StatusInfo | None:
        if not c.require(rid, isinstance(item, dict) and not self.is_error(item),
                         f"{label}: expected an order status object, got {short(item)}", ex):
            return None
        word: Any = None
        status = None
        charge = remains = start_count = None
        for name, kind in self.dialect.status_fields.items():
            if name not in item:
                c.fail(rid, f"{label} has no field {name!r}", ex)
                continue
            value = item[name]
            if kind == "money":
                charge = self.money(c, rid, value, f"{label} {name!r}", ex)
            elif kind == "status":
                word = value
                status = self.status_word(c, value, ex)
            elif kind == "currency":
                if c.require(rid, isinstance(value, str), f"{label} {name!r} is {json_kind(value)}", ex) and self.currency:
                    c.require("V2-STA-05", value == self.currency,
                              f"{label} {name!r} is {value!r}, but the balance is in {self.currency!r}", ex)
            elif kind in ("str", "int"):
                ok = is_kind(value, kind) and whole(value) is not None
                c.require(rid, ok, f"{label} {name!r} is {json_kind(value)} ({short(value)}); the dialect wants "
                          f"{'a whole-number string' if kind == 'str' else 'an integer'}", ex)
                number = whole(value)
                if name == "remains":
                    remains = number
                elif name == "start_count":
                    start_count = number
            else:  # id_str / id_int: the order id echoed
                c.require(rid, is_kind(value, kind), f"{label} {name!r} is {json_kind(value)}; "
                          f"the dialect wants {kind_name(kind)}", ex)
        if word is None:
            return None
        return StatusInfo(str(word), status, charge, remains, start_count)

    def single_status(self, c: Checks, ex: Exchange) -> StatusInfo | None:
        data = self.response(c, ex)
        if data is NOT_JSON:
            c.fail("V2-STA-02", "status did not answer JSON", ex)
            return None
        if isinstance(data, dict) and not self.is_error(data):
            self.envelope(c, "V2-STA-02", data, ex, "status")
            fields = self.dialect.status_fields
            data = {k: v for k, v in data.items() if k in fields or k not in self.envelope_for("status")}
        return self.status_item(c, data, "status", ex)

    def status_batch(self, c: Checks, ex: Exchange, tokens: list[str], unknown: set[str]) -> dict[str, Any] | None:
        """A multi-status answer: keyed by token (BAT-01), every token present (BAT-02),
        unknown ones with the item error (BAT-02, ERR-01). Returns the items by token."""
        data = self.response(c, ex)
        if data is NOT_JSON:
            c.fail("V2-BAT-01", "multi-status did not answer JSON", ex)
            return None
        if self.is_error(data):
            c.fail("V2-BAT-03", f"a batch of {len(tokens)} ids was refused: {short(data)}", ex)
            return None
        c.ok("V2-BAT-03")
        if not c.require("V2-BAT-01", isinstance(data, dict),
                         f"expected an object keyed by order id, got {json_kind(data)}: {short(data)}", ex):
            return None
        missing = [t for t in tokens if t not in data]
        c.require("V2-BAT-02", not missing,
                  f"{len(missing)} of {len(tokens)} requested ids are missing from the answer (first: {missing[:3]})", ex)
        extra = [k for k in data if k not in tokens]
        c.require("V2-BAT-01", not extra, f"the answer has keys that were not asked for: {extra[:3]}", ex)
        for token in tokens:
            if token in unknown and token in data:
                message = self.item_error(data[token])
                if c.require("V2-BAT-02", message is not None,
                             f"unknown id {token} should carry {self.item_error_form()}, got {short(data[token])}", ex):
                    c.require("V2-ERR-01", self.matches("incorrect_order_id", message, None),
                              f"expected the words {self.wording('incorrect_order_id')!r}, got {message!r}", ex)
        return data

    # --- refills -----------------------------------------------------------------------

    def refill_word(self, c: Checks, rid: str, word: Any, ex: Exchange) -> RefillStatus | None:
        for status, spelled in self.dialect.refill_statuses.items():
            if word == spelled:
                c.ok(rid)
                return status
        c.fail(rid, f"refill status {short(word)} is not one of the dialect's "
               f"({', '.join(self.dialect.refill_statuses.values())})", ex)
        return guess_refill_status(word) if isinstance(word, str) else None

    def refill_batch_status(self, c: Checks, ex: Exchange, tokens: list[str], unknown: set[str]) -> None:
        data = self.response(c, ex)
        if data is NOT_JSON:
            c.fail("V2-BAT-05", "multi refill status did not answer JSON", ex)
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
            ok = set(item) >= {"refill", "status"} and self.id_kind_ok(item.get("refill"), kind)
            c.require("V2-BAT-05", ok, f"item {short(item)}: expected \"refill\" as {kind_name(kind)} and \"status\"", ex)
            seen.append(str(item.get("refill")))
            if str(item.get("refill")) in unknown:
                message = self.item_error(item.get("status"))
                if c.require("V2-BAT-05", message is not None,
                             f"unknown refill {item.get('refill')} should carry {self.item_error_form()} in "
                             f"\"status\", got {short(item.get('status'))}", ex):
                    c.require("V2-ERR-02", self.matches("incorrect_refill_id", message, None),
                              f"expected the words {self.wording('incorrect_refill_id')!r}, got {message!r}", ex)
        missing = [t for t in tokens if t not in seen]
        c.require("V2-BAT-05", not missing, f"{len(missing)} requested refill ids are missing (first: {missing[:3]})", ex)


def _fold(word: str) -> str:
    return word.strip().lower().replace("_", "").replace(" ", "")
