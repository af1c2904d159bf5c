"""The judge's reading of every answer: the envelope, errors, ids and money, from the dialect
profile. ``Expect`` (expect.py) adds services, statuses and refills on top."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from .actions import ACTIONS
from ._answer_form import UNKNOWN_KINDS, AnswerForm, form_of
from .catalogue import Catalogue
from .profile import Dialect
from .rules import ErrorCode
from .session import NOT_JSON, Exchange
from ._values import (
    CURRENCY,
    OBJECT_ID,
    WHOLE,
    decimal,
    json_kind,
    short,
)
from .verdicts import Checks

UNREAD: Any = object()  # an answer not read yet: ``response`` reads it (JSON null is an answer, so not None)


def fold(word: str) -> str:
    """A status word compared loosely: case, spaces and underscores do not count."""
    return word.strip().lower().replace("_", "").replace(" ", "")


def unknown_answer(found: AnswerForm) -> str:
    """How a report says the panel answered as it answers an unknown action."""
    if found.kind == "error":
        return f"its unknown-action error ({found.detail!r})"
    return f"{found.describe()}, as it answers an unknown action"


class ExpectBase:
    """Reads any answer against the dialect: envelope, errors, ids, money."""

    def __init__(self, dialect: Dialect, catalogue: Catalogue) -> None:
        self.dialect = dialect
        self.catalogue = catalogue
        self.wild_words = {fold(w) for w in catalogue.statuses_in_the_wild}
        self.vocabulary = {fold(w) for w in dialect.statuses.values()}
        self.currency: str | None = None  # the balance's, once read: statuses must use it too
        self.currencies: dict[str, str] = {}  # each key's (as shown, redacted) balance currency, first read
        # How the panel words an unknown action: the incorrect_request error, unless the profile declares another
        # answer for it (MSM's null). There those words answer something else (msm-refill's "Missing data" is a
        # request without a key or an action, docs/dialects.md empty_request): they say nothing of an action.
        self.unknown_action_words: set[str] = (
            {dialect.message(ErrorCode.INCORRECT_REQUEST, {})} if dialect.unknown_action is None else set())
        self.unknown_forms: set[AnswerForm] = set()  # how this panel answered an action no panel has

    # --- every response ----------------------------------------------------------------

    def response(self, c: Checks, ex: Exchange) -> Any:
        """GEN-06 (an answer), GEN-02 (no 5xx), GEN-01 (JSON); the parsed body or NOT_JSON."""
        if ex.error:
            c.fail("V2-GEN-06", f"no answer: {ex.error}", ex)
            return NOT_JSON
        c.ok("V2-GEN-06")
        assert ex.status is not None
        c.require("V2-GEN-02", ex.status < 500, f"the panel answered HTTP {ex.status}", ex)
        why = f" ({ex.json_defect})" if ex.json_defect else ""
        if not c.require(
            "V2-GEN-01", ex.is_json,
            f"the answer is not JSON{why} (HTTP {ex.status}, {ex.content_type or 'no content type'}): "
            f"{ex.body[:120]!r}", ex,
        ):
            return NOT_JSON
        if ex.json_defect:  # read all the same (a lenient client would), and judged on the rest
            c.fail("V2-GEN-01", f"the answer is not valid JSON: {ex.json_defect}: {ex.body[:160]!r}", ex)
        self._content_type(c, ex)
        data = ex.data
        if isinstance(data, dict) and self._foreign_error(data) is not None and self._shaped(data) is None:
            c.fail("V2-GEN-05", f"an error in another envelope than the dialect's {self._error_form()}: {short(data)}", ex)
        return data

    @staticmethod
    def not_judged(c: Checks, rid: str, ex: Exchange) -> None:
        """``ex`` gave ``rid`` nothing to judge: say so once, naming the requirement that counted it (a failure is
        counted once, under the requirement it breaks)."""
        counted = "no answer: V2-GEN-06" if ex.error and ex.status is None else "V2-GEN-01"
        c.unjudged.setdefault(rid, f"the answers it was judged by were not JSON ({counted})")

    def _content_type(self, c: Checks, ex: Exchange) -> None:
        """GEN-07: JSON says it is JSON (or is sent as the profile says this panel family sends it)."""
        main = ex.content_type.split(";")[0].strip().lower()
        declared = self.dialect.content_type.split(";")[0].strip().lower()
        c.require("V2-GEN-07", main.endswith(("json", "+json")) or main == declared,
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

    def form(self, ex: Exchange) -> AnswerForm:
        """What kind of answer ``ex`` is: an error in any envelope, null, an empty body, HTML… (_answer_form.py)."""
        return form_of(ex, self.error_message)

    def learn_unknown(self, ex: Exchange) -> AnswerForm | None:
        """``ex`` answered an action no panel has: its form is how this panel says "unknown action"."""
        found = self.form(ex)
        if found.kind not in UNKNOWN_KINDS:
            return None  # data, or no answer: nothing to tell an unknown action by
        if found.kind == "error":
            if not found.detail.strip():
                return None
            self.unknown_action_words.add(found.detail)
        self.unknown_forms.add(found)
        return found

    def unsupported(self, c: Checks, ex: Exchange) -> bool:
        """Is this how the panel answers an unknown action, for an action of the API? Then the panel does not
        support the action: recorded on ``c``, and the requirements that need it are not exercised."""
        found = self.form(ex)
        if found.kind == "error":
            if found.detail not in self.unknown_action_words:
                return False
        elif found not in self.unknown_forms:
            return False
        known = ACTIONS.get(ex.action)
        if known is not None and known.optional:  # one a panel may lack (SmartPanel 4.0 has no refill, cancel)
            c.unsupported.setdefault(ex.action, unknown_answer(found))
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
            self.not_judged(c, rid, ex)
            return False
        found = self.error_message(data)
        if not c.require(rid, found is not None, f"expected {what}, got {short(data)}", ex) or found is None:
            return False
        message = found[0]
        c.require("V2-GEN-05", isinstance(message, str) and bool(message.strip()),
                  f"the error field is {short(message)}, not a non-empty string", ex)
        if ex.status is not None and ex.status < 500:
            allowed = self.dialect.http_statuses(codes)
            c.require("V2-GEN-03", ex.status in allowed,
                      f"the error came with HTTP {ex.status}; the dialect answers it with {sorted(allowed)}", ex)
        if codes and wording_rid and isinstance(message, str):
            ok = any(self.matches(code, message, values) for code in codes)
            expected = " or ".join(repr(self.wording(code, values)) if values is not None else
                                   repr(self.dialect.errors[ErrorCode(code)]) for code in codes)
            c.require(wording_rid, ok, f"expected the words {expected}, got {message!r}", ex)
        return True

    def error_message(self, data: Any, keyed: bool = True) -> tuple[Any, str] | None:
        """(message, where) if ``data`` is an error answer in one of the dialect's shapes
        (``keyed``: also {"<id>": {"error": …}}, a keyed single status's error)."""
        if not isinstance(data, dict):
            return None
        if keyed and self.dialect.single_status == "keyed" and len(data) == 1:
            inner = next(iter(data.values()))
            if isinstance(inner, dict) and set(inner) == {"error"}:
                return inner["error"], "keyed error"
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
            if set(data) == set(shape) and all(data[k] == v for k, v in fixed.items()):
                if slots:
                    return data[slots[0]], slots[0]
                return short(data), "error body"  # a body with no words ({"refill": "0"}): the whole of it
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

    # The errors of an add that refuse one thing in particular: a probe refused with another one's words was
    # refused for something else than what it probed.
    ADD_REFUSALS = ("quantity_below_min", "quantity_above_max", "incorrect_service_id", "service_disabled",
                    "not_enough_funds", "active_order_with_link", "invalid_key", "dripfeed_not_supported")

    def refuses_else(self, message: Any, own: tuple[str, ...], field: str | None = None) -> str | None:
        """Why the words ``message`` refuse something else than what a probe changed (its ``own`` error codes,
        its ``field``), or None: another add error's words, or a field error naming another field."""
        if not isinstance(message, str):
            return None
        for code in self.ADD_REFUSALS:
            if code not in own and self.matches(code, message, None):
                return f"{message!r} are the dialect's words for {code}"
        named = self.field_named(message) if field is not None else None
        # A family may name a field in words ("Interval in minutes"): another field is one that does not name it.
        if named is not None and field is not None and fold(field) not in fold(named) and fold(named) not in fold(field):
            return f"{message!r} names the field {named!r}, not {field!r}"
        return None

    def field_named(self, message: str) -> str | None:
        """The field a missing- or invalid-field error names (``Incorrect {field}``), if the words are one."""
        if any(text == message for code, text in self.dialect.errors.items()
               if code not in (ErrorCode.MISSING_FIELD, ErrorCode.INVALID_FIELD) and "{" not in text):
            return None  # the exact words of another error ("Incorrect request"): not a field's
        for code in (ErrorCode.MISSING_FIELD, ErrorCode.INVALID_FIELD):
            template = self.dialect.errors[code]
            if "{field}" not in template:
                continue
            escaped = re.escape(template).replace(re.escape("{field}"), "(?P<field>.+)")
            pattern = re.sub(r"\\\{\w+\\\}", r".+", escaped)
            found = re.fullmatch(pattern, message)
            if found is not None:
                return found.group("field")
        return None

    def item_error(self, item: Any) -> str | None:
        """The message of a per-item error in a batch, in the dialect's form, or None."""
        if self.dialect.batch_item_error == "nested":
            if isinstance(item, dict) and set(item) == {"error"} and isinstance(item["error"], str):
                return item["error"]
            return None
        return item if isinstance(item, str) and fold(item) not in self.vocabulary else None

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
        if kind == "objectid":
            return isinstance(value, str) and OBJECT_ID.fullmatch(value) is not None
        return isinstance(value, str) and WHOLE.fullmatch(value) is not None

    # --- balance -----------------------------------------------------------------------

    def money(self, c: Checks, rid: str, value: Any, label: str, ex: Exchange, decimals: int | None = None,
              kind: str = "str") -> Decimal | None:
        if kind == "number":  # a JSON number: its decimals are at most the dialect's (a float drops trailing zeros)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                c.fail(rid, f"{label} is {json_kind(value)} ({short(value)}), not a JSON number", ex)
                return None
            c.ok(rid)
            amount = Decimal(repr(value))
            want = self.dialect.money_decimals if decimals is None else decimals
            places = max(0, -amount.as_tuple().exponent)  # type: ignore[operator]
            c.require("V2-BAL-02", places <= want, f"{label} {value!r} has {places} decimals; the dialect uses {want}", ex)
            return amount
        if not isinstance(value, str) or decimal(value) is None:
            c.fail(rid, f"{label} is {json_kind(value)} ({short(value)}), not a decimal string", ex)
            return None
        c.ok(rid)
        want = self.dialect.money_decimals if decimals is None else decimals
        places = len(value.split(".", 1)[1]) if "." in value else 0
        c.require("V2-BAL-02", places == want, f"{label} {value!r} has {places} decimals; the dialect uses {want}", ex)
        return decimal(value)

    def balance(self, c: Checks, ex: Exchange, data: Any = UNREAD) -> tuple[Decimal, str] | None:
        """The balance answer's amount and currency. ``data``: the answer as ``response`` already read it (its
        checks made once), else read here."""
        data = self.response(c, ex) if data is UNREAD else data
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
                money_kind, places = self.dialect.money_format("balance")
                amount = self.money(c, "V2-BAL-01", value, f"balance {name!r}", ex, places, money_kind)
            elif kind == "currency":
                if c.require("V2-BAL-01", isinstance(value, str), f"currency is {json_kind(value)}", ex):
                    currency = value
                    self.currency = self.currency or value
                    account = str(ex.params.get("key", ""))  # as shown: redacted, one label per key
                    before = self.currencies.setdefault(account, value)
                    c.require("V2-BAL-01", value == before,  # every read, not the first one only
                              f"the balance of {account} is in {value!r}; an earlier read said {before!r}", ex)
                    c.require("V2-BAL-03", CURRENCY.fullmatch(value) is not None,
                              f"currency {value!r} is not a three-letter code", ex)
            else:
                c.require("V2-BAL-01", isinstance(value, str), f"{name!r} is {json_kind(value)}, not a string", ex)
        return (amount, currency) if amount is not None else None
