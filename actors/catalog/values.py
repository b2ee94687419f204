"""The catalog's rules for single values, pure: SKU, EAN-13/EAN-8 check digits, amounts, names,
category codes and the technical attributes of LED products."""

from __future__ import annotations

import re
from decimal import Decimal

import msgspec

from actors.catalog.messages import Attributes, Unit

SKU = re.compile(r"[A-Z0-9][A-Z0-9._-]{1,39}")
CATEGORY_CODE = re.compile(r"[a-z0-9][a-z0-9-]{1,39}")
IP_RATING = re.compile(r"IP[0-6][0-9]")
COLOUR = re.compile(r"[\w][\w ./+-]{0,39}")
VOLTAGES = frozenset({5, 12, 24, 36, 48, 110, 230})
CCT_RANGE = (1000, 10000)
MAX_POWER = {"piece": Decimal(5000), "metre": Decimal(100)}  # W per piece / W per metre
MAX_COST = Decimal("99999999.9999")  # numeric(12,4)
MAX_MARGIN = Decimal(10)  # exclusive: a markup of 1000 % is a typo
PLACES = Decimal("0.0001")
NAME_MAX = 200
# A cell starting with one of these runs as a formula when an export is opened in a spreadsheet.
FORMULA_START = ("=", "+", "@", "\t", "\r")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class Problem(msgspec.Struct, frozen=True):
    """One thing wrong with one field."""

    field: str
    message: str


def normalize_sku(sku: str) -> str:
    """SKUs are upper case; surrounding spaces are dropped."""
    return sku.strip().upper()


def sku_problem(sku: str) -> str | None:
    """Why ``sku`` is not a valid SKU, or None."""
    if not SKU.fullmatch(sku):
        return "must be 2-40 characters A-Z, 0-9, '.', '_' or '-', starting with a letter or digit"
    return None


def ean_check_digit(body: str) -> int:
    """The GS1 check digit of the first 12 (EAN-13) or 7 (EAN-8) digits."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def ean_problem(ean: str) -> str | None:
    """Why ``ean`` is not a valid EAN-13 or EAN-8, or None."""
    if not (ean.isascii() and ean.isdigit() and len(ean) in (8, 13)):
        return "must be 13 digits (EAN-13) or 8 digits (EAN-8)"
    if ean_check_digit(ean[:-1]) != int(ean[-1]):
        return f"check digit should be {ean_check_digit(ean[:-1])}, not {ean[-1]}"
    return None


def amount_problem(value: Decimal, *, below: Decimal, inclusive: bool) -> str | None:
    """Why ``value`` is not an amount in [0, below] (or [0, below)) with at most 4 decimals."""
    if not value.is_finite():
        return "must be a number"
    if value < 0:
        return "must not be negative"
    if value > below or (value == below and not inclusive):
        return f"must be {'at most' if inclusive else 'less than'} {below}"
    if value != value.quantize(PLACES):
        return "must have at most 4 decimals"
    return None


def category_code_problem(code: str) -> str | None:
    """Why ``code`` is not a valid category code, or None."""
    if not CATEGORY_CODE.fullmatch(code):
        return "must be 2-40 characters a-z, 0-9 or '-', starting with a letter or digit"
    return None


def text_problem(text: str, *, max_length: int) -> str | None:
    """Why ``text`` is not a usable name (empty, too long, or a spreadsheet formula), or None."""
    if not text:
        return "must not be empty"
    if len(text) > max_length:
        return f"must be at most {max_length} characters"
    if text.startswith(FORMULA_START):
        return "must not start with '=', '+' or '@' (it would run as a spreadsheet formula)"
    if _CONTROL.search(text):
        return "must not contain control characters"
    return None


def clean_text(text: str) -> str:
    """Spaces trimmed and collapsed."""
    return " ".join(text.split())


def attribute_problems(a: Attributes, unit: Unit) -> list[Problem]:
    """What is wrong with the attributes of a product sold by ``unit``."""
    out: list[Problem] = []
    if a.power_w is not None:
        limit = MAX_POWER[unit]
        per = "W per metre" if unit == "metre" else "W"
        if not a.power_w.is_finite() or a.power_w <= 0 or a.power_w > limit:
            out.append(
                Problem("attributes.power_w", f"must be more than 0 and at most {limit} {per}")
            )
        elif a.power_w != a.power_w.quantize(Decimal("0.01")):
            out.append(Problem("attributes.power_w", "must have at most 2 decimals"))
    if a.cct_k is not None and not CCT_RANGE[0] <= a.cct_k <= CCT_RANGE[1]:
        out.append(Problem("attributes.cct_k", "must be between 1000 and 10000 K"))
    if a.ip_rating is not None and not IP_RATING.fullmatch(a.ip_rating):
        out.append(Problem("attributes.ip_rating", "must be IP followed by two digits, e.g. IP65"))
    if a.voltage_v is not None and a.voltage_v not in VOLTAGES:
        known = ", ".join(str(v) for v in sorted(VOLTAGES))
        out.append(Problem("attributes.voltage_v", f"must be one of {known} V"))
    if a.lumens is not None and not 1 <= a.lumens <= 1_000_000:
        out.append(Problem("attributes.lumens", "must be between 1 and 1000000"))
    if a.cri is not None and not 1 <= a.cri <= 100:
        out.append(Problem("attributes.cri", "must be between 1 and 100"))
    if a.colour is not None and not COLOUR.fullmatch(a.colour):
        out.append(Problem("attributes.colour", "must be 1-40 letters, digits, spaces or ./+-"))
    return out
