"""WordPress behaviour the simulator copies: WP_Error bodies, argument checks, JSON, decimals.

- Errors are ``{"code", "message", "data": {"status", ...}}``; invalid arguments are collected
  into one ``rest_invalid_param`` naming each (``rest_validate_value_from_schema``).
- JSON is ``wp_json_encode``'s: ``/`` escaped as ``\\/``, non-ASCII as ``\\uXXXX``.
- Prices go through ``wc_format_decimal``: the store's decimal separator becomes ``.``, every
  other character than digits, ``.`` and ``-`` is dropped (``"abc"`` → ``""``: no error).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from typing import Any


class RestError(Exception):
    """A ``WP_Error`` as the REST server sends it."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "data": self.data()}

    def data(self) -> dict[str, Any]:
        return {"status": self.status, **self.extra}


def invalid_params(problems: Mapping[str, tuple[str, str]]) -> RestError:
    """``rest_invalid_param`` for ``{param: (detail code, message)}``."""
    return RestError(
        400,
        "rest_invalid_param",
        "Invalid parameter(s): " + ", ".join(problems),
        params={name: message for name, (_, message) in problems.items()},
        details={
            name: {"code": code, "message": message, "data": None}
            for name, (code, message) in problems.items()
        },
    )


def php_json(value: Any) -> bytes:
    """``wp_json_encode($value)``: PHP's default escaping of ``/`` and non-ASCII."""
    text = json.dumps(value, ensure_ascii=True, separators=(",", ":"), default=_default)
    return text.replace("/", "\\/").encode("ascii")


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


def wc_format_decimal(value: Any, separator: str) -> str:
    """What WooCommerce stores for a price it is sent (``wc_format_decimal($v)``, no rounding)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        value = "1" if value else ""
    if isinstance(value, float):
        text = f"{value:.6f}".rstrip("0").rstrip(".")  # wc_get_rounding_precision() = 6
        return text
    text = str(value)
    for mark in (separator, "."):
        text = text.replace(mark, ".")
    return re.sub(r"\.(?![^.]+$)|[^0-9.-]", "", text.strip())


def wp_list(value: Any) -> list[str]:
    """``wp_parse_list``: a list, or a comma/space separated string."""
    if isinstance(value, list):
        return [str(v) for v in value]
    return [part for part in re.split(r"[\s,]+", str(value)) if part]


# --- argument checks (WordPress validates, then sanitizes) ---------------------------------


def _is_integer(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    if isinstance(value, float):
        return value.is_integer()
    return isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()) is not None


def _is_boolean(value: Any) -> bool:
    return isinstance(value, bool) or value in ("true", "false", "1", "0", 1, 0, "")


def to_boolean(value: Any) -> bool:
    return value in (True, "true", "1", 1)


def check(name: str, value: Any, schema: Mapping[str, Any]) -> tuple[str, str] | None:
    """The (code, message) WordPress gives ``value`` against ``schema``; ``None`` when valid."""
    kind = schema.get("type")
    if kind == "string" and not isinstance(value, str):
        return "rest_invalid_type", f"{name} is not of type string."
    if kind == "integer" and not _is_integer(value):
        return "rest_invalid_type", f"{name} is not of type integer."
    if kind == "boolean" and not _is_boolean(value):
        return "rest_invalid_type", f"{name} is not of type boolean."
    if kind == "array" and not isinstance(value, list):
        return "rest_invalid_type", f"{name} is not of type array."
    if kind == "object" and not isinstance(value, dict):
        return "rest_invalid_type", f"{name} is not of type object."
    if "enum" in schema:
        values = value if kind == "array" else [value]
        for one in values:
            if one not in schema["enum"]:
                options = list(schema["enum"])
                listed = ", ".join(options[:-1]) + f", and {options[-1]}"
                return "rest_not_in_enum", f"{name} is not one of {listed}."
    if kind == "integer":
        number = int(float(value))
        low, high = schema.get("minimum"), schema.get("maximum")
        if low is not None and high is not None and not low <= number <= high:
            return (
                "rest_out_of_bounds",
                f"{name} must be between {low} (inclusive) and {high} (inclusive)",
            )
        if low is not None and number < low:
            return "rest_out_of_bounds", f"{name} must be greater than or equal to {low}"
    if schema.get("format") == "date-time" and parse_date(str(value), UTC) is None:
        return "rest_invalid_date", "Invalid date."
    return None


def sanitize(value: Any, schema: Mapping[str, Any]) -> Any:
    kind = schema.get("type")
    if kind == "integer":
        return int(float(value))
    if kind == "boolean":
        return to_boolean(value)
    return value


def validate(args: Mapping[str, Any], schemas: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """``args`` checked and sanitized against ``schemas``; unknown arguments pass untouched."""
    problems: dict[str, tuple[str, str]] = {}
    clean = dict(args)
    for name, value in args.items():
        schema = schemas.get(name)
        if schema is None or (value is None and schema.get("nullable")):
            continue
        problem = check(name, value, schema)
        if problem is not None:
            problems[name] = problem
        else:
            clean[name] = sanitize(value, schema)
    if problems:
        raise invalid_params(problems)
    return clean


_DATE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(Z|[+-]\d{2}(?::?\d{2})?)?$"
)


def parse_date(text: str, naive_zone: tzinfo) -> datetime | None:
    """``rest_parse_date``: RFC 3339, the offset optional (then ``naive_zone``); ``None`` if bad."""
    match = _DATE.match(text.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    try:
        moment = datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None
    offset = match.group(7)
    if offset is None:
        return moment.replace(tzinfo=naive_zone).astimezone(UTC)
    if offset == "Z":
        return moment.replace(tzinfo=UTC)
    sign = -1 if offset[0] == "-" else 1
    digits = offset[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + (int(digits[2:4]) if len(digits) > 2 else 0)
    return datetime.fromtimestamp(moment.replace(tzinfo=UTC).timestamp() - sign * minutes * 60, UTC)


def wp_dates(moment: datetime, zone: tzinfo) -> tuple[str, str]:
    """A moment as WordPress shows it: site-local and GMT, to the second, no offset."""
    utc = moment.astimezone(UTC).replace(microsecond=0)
    local = utc.astimezone(zone)
    return local.strftime("%Y-%m-%dT%H:%M:%S"), utc.strftime("%Y-%m-%dT%H:%M:%S")


def pages(total: int, per_page: int) -> int:
    return math.ceil(total / per_page) if per_page else 0


def collection_schema(orderby: tuple[str, ...], order_default: str) -> dict[str, dict[str, Any]]:
    """The collection parameters WordPress checks on every list (``get_collection_params``)."""
    return {
        "context": {"type": "string", "enum": ("view", "edit")},
        "page": {"type": "integer", "minimum": 1},
        "per_page": {"type": "integer", "minimum": 1, "maximum": 100},
        "offset": {"type": "integer"},
        "order": {"type": "string", "enum": ("asc", "desc"), "default": order_default},
        "orderby": {"type": "string", "enum": orderby},
        "after": {"type": "string", "format": "date-time"},
        "before": {"type": "string", "format": "date-time"},
        "modified_after": {"type": "string", "format": "date-time"},
        "modified_before": {"type": "string", "format": "date-time"},
        "dates_are_gmt": {"type": "boolean"},
        "search": {"type": "string"},
    }
