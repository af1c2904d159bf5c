"""Errors as codes with values; the dialect turns a code into its words."""

from __future__ import annotations

from enum import Enum
from typing import Any


class ErrorCode(str, Enum):
    """The API errors the panel can answer, as codes; each dialect profile gives their words (``errors``)."""

    INVALID_KEY = "invalid_key"
    INCORRECT_REQUEST = "incorrect_request"  # unknown or missing action
    INCORRECT_ORDER_ID = "incorrect_order_id"
    INCORRECT_REFILL_ID = "incorrect_refill_id"  # refill_status of an unknown refill
    INCORRECT_SERVICE_ID = "incorrect_service_id"
    SERVICE_DISABLED = "service_disabled"
    NOT_ENOUGH_FUNDS = "not_enough_funds"
    QUANTITY_BELOW_MIN = "quantity_below_min"  # values: min
    QUANTITY_ABOVE_MAX = "quantity_above_max"  # values: max
    MISSING_FIELD = "missing_field"  # values: field
    INVALID_FIELD = "invalid_field"  # values: field
    ACTIVE_ORDER_WITH_LINK = "active_order_with_link"
    DRIPFEED_NOT_SUPPORTED = "dripfeed_not_supported"
    TOO_MANY_IDS = "too_many_ids"  # values: limit
    REFILL_DISABLED = "refill_disabled"  # the service has no refill
    REFILL_NOT_ALLOWED = "refill_not_allowed"  # the order is not (yet) refillable
    REFILL_ALREADY_ACTIVE = "refill_already_active"
    CANCEL_DISABLED = "cancel_disabled"  # the service has no cancel
    CANCEL_NOT_ALLOWED = "cancel_not_allowed"  # the order is already final or canceling


class PanelError(Exception):
    """A documented API error. ``values`` fill the dialect's message template."""

    def __init__(self, code: ErrorCode, **values: Any) -> None:
        super().__init__(code.value, values)
        self.code = code
        self.values = values

    def __repr__(self) -> str:
        args = "".join(f", {k}={v!r}" for k, v in self.values.items())
        return f"PanelError({self.code.name}{args})"
