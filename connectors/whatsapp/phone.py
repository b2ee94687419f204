"""Romanian phone numbers as E.164 digits (``40`` + nine digits), the form WhatsApp's ``to`` takes.

Customers type numbers every way ("0744 123 456", "+40 744-123-456", "0040744123456",
"744123456"); Meta resolves a ``to`` it cannot parse to a different ``wa_id`` or refuses it, so
the hub normalises once, here, and refuses what cannot be a Romanian number with a message a
person can act on instead of sending to a wrong recipient.
"""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[\s\-./()]")
_NATIONAL = re.compile(r"[237]\d{8}")  # mobiles 7xx, geographic 2xx/3xx; nine digits


def normalise(phone: str) -> str:
    """``phone`` as E.164 digits without "+" (e.g. "40744123456"); ``ValueError`` if invalid."""
    raw = phone.strip()
    if not raw:
        raise ValueError("empty phone number: a Romanian number has 9 digits after 0 or +40")
    digits = _SEPARATORS.sub("", raw)
    if digits.startswith("+"):
        digits = digits[1:]
        if not digits.startswith("40"):
            raise ValueError(f"not a Romanian number (country code must be +40): {phone!r}")
    elif digits.startswith("0040"):
        digits = digits[2:]
    if not digits.isdigit():
        raise ValueError(f"a phone number holds only digits, spaces, '-', '.', '()': {phone!r}")
    if len(digits) == 11 and digits.startswith("40"):
        national = digits[2:]
    elif len(digits) == 10 and digits.startswith("0"):
        national = digits[1:]
    elif len(digits) == 9 and not digits.startswith("0"):
        national = digits
    else:
        raise ValueError(f"a Romanian number has 9 digits after 0 or +40: {phone!r}")
    if not _NATIONAL.fullmatch(national):
        raise ValueError(f"not a Romanian mobile or landline number: {phone!r}")
    return "40" + national
