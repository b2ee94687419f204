"""TOTP second factor (RFC 6238, 30-second steps, 6 digits), with replay protection.

A code is accepted for the current step and one step either side (clock drift between the
phone and the server). The step of each accepted code is stored per user, and a code for that
step or an earlier one is refused, so a code seen over someone's shoulder cannot be replayed.
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime

import pyotp

from hub.auth.model import AuthError

INTERVAL = 30
DIGITS = 6
WINDOW = 1  # steps accepted either side of the current one


def new_totp_secret() -> str:
    """A fresh random base32 secret (160 bits), to be shown once to the user."""
    return pyotp.random_base32()


def provisioning_uri(secret: str, email: str, issuer: str) -> str:
    """The ``otpauth://`` URI an authenticator app imports (usually shown as a QR code)."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL).provisioning_uri(
        name=email, issuer_name=issuer
    )


def current_step(now: datetime | None = None) -> int:
    """The TOTP time step (counter) at ``now``."""
    moment = now or datetime.now(UTC)
    return int(moment.timestamp()) // INTERVAL


def verify_totp(
    secret: str, code: str, *, last_step: int | None, now: datetime | None = None
) -> int:
    """Check ``code``; return the step it belongs to, which the caller must store.

    Raises ``AuthError("totp_invalid")`` for a wrong or malformed code, and for a code of a
    step not later than ``last_step`` (already used, or older than one already used).
    """
    digits = code.replace(" ", "").strip()
    if len(digits) != DIGITS or not digits.isascii() or not digits.isdigit():
        raise AuthError("totp_invalid")
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL)
    step = current_step(now)
    matched = None
    for candidate in range(step - WINDOW, step + WINDOW + 1):
        # compare every candidate (no early exit): the timing says nothing about which matched
        if hmac.compare_digest(totp.generate_otp(candidate), digits):
            matched = candidate
    if matched is None or (last_step is not None and matched <= last_step):
        raise AuthError("totp_invalid")
    return matched


def totp_code(secret: str, now: datetime | None = None) -> str:
    """The code an authenticator app shows at ``now`` (for tests and tooling)."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL).generate_otp(current_step(now))
