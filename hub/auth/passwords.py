"""Password hashing (argon2id) and the password policy.

Hashing is deliberately slow (tens of milliseconds, 64 MiB): async callers run it in a thread
(:func:`hash_password_async`, :func:`verify_password_async`) so the event loop never waits on it.
"""

from __future__ import annotations

import asyncio
import functools

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from hub.errors import DomainError

MIN_LENGTH = 12
MAX_LENGTH = 1024  # longer inputs are refused before hashing: no free CPU for an attacker

# RFC 9106's second recommended profile (argon2-cffi's default): t=3, m=64 MiB, p=4.
_hasher = PasswordHasher(type=Type.ID)


def check_password_policy(password: str, *, email: str | None = None) -> None:
    """Raise :class:`DomainError` with a clear message if ``password`` is not acceptable."""
    if len(password) < MIN_LENGTH:
        raise DomainError(
            f"the password is too short: use at least {MIN_LENGTH} characters "
            "(a few random words make a good one)"
        )
    if len(password) > MAX_LENGTH:
        raise DomainError(f"the password is too long: use at most {MAX_LENGTH} characters")
    if not password.strip():
        raise DomainError("the password cannot be only spaces")
    if email is not None and password.strip().lower() == email.strip().lower():
        raise DomainError("the password cannot be the email address")


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (PHC string: algorithm, parameters, salt, hash)."""
    return _hasher.hash(password)


def verify_password(stored: str, password: str) -> bool:
    """True if ``password`` matches the ``stored`` hash; False for a mismatch or a bad hash.

    After a successful check, :func:`needs_rehash` tells whether the hash was made with
    other parameters than today's and should be replaced.
    """
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """True if ``stored`` was hashed with other parameters than the current ones."""
    try:
        return _hasher.check_needs_rehash(stored)
    except InvalidHashError:
        return True


@functools.cache
def dummy_hash() -> str:
    """A hash of nothing anyone knows, verified for unknown emails so they take as long."""
    return hash_password("not a password: unknown accounts are checked against this")


async def hash_password_async(password: str) -> str:
    """:func:`hash_password` in a worker thread."""
    return await asyncio.to_thread(hash_password, password)


async def verify_password_async(stored: str, password: str) -> bool:
    """:func:`verify_password` in a worker thread."""
    return await asyncio.to_thread(verify_password, stored, password)
