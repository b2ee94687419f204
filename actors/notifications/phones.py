"""Phone numbers as WhatsApp wants them: E.164 digits without ``+``.

Uses ``connectors.whatsapp.phone.normalise`` when that module is installed; until then a small
fallback with the same contract (Romanian national numbers get the 40 prefix; ValueError when
the input is not a phone number).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable

_SEPARATORS = re.compile(r"[\s().\-/]")


def _fallback(raw: str) -> str:
    text = _SEPARATORS.sub("", raw.strip())
    if text.startswith("+"):
        digits = text[1:]
    elif text.startswith("00"):
        digits = text[2:]
    elif text.startswith("0") and len(text) == 10:
        digits = "40" + text[1:]
    else:
        digits = text
    if not digits.isdigit() or not 8 <= len(digits) <= 15 or digits.startswith("0"):
        raise ValueError(f"not a phone number: {raw!r}")
    return digits


def _resolve() -> Callable[[str], str]:
    try:
        module = importlib.import_module("connectors.whatsapp.phone")
    except ImportError:
        return _fallback
    found: Callable[[str], str] = module.normalise
    return found


normalise = _resolve()


def maybe(raw: str | None) -> str | None:
    """The normalised number, or None when there is none or it is not a phone number."""
    if not raw:
        return None
    try:
        return normalise(raw)
    except ValueError:
        return None
