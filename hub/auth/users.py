"""Users: the store (plain SQL on ``auth_users``) and the login check.

Repositories raise :class:`~hub.errors.NotFound` rather than return ``None``. A :class:`User`
never carries the password hash or the TOTP secret: those stay inside this module.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime

import asyncpg
import msgspec

from hub.auth.model import AuthError, Principal, Role
from hub.auth.passwords import (
    check_password_policy,
    dummy_hash,
    hash_password_async,
    needs_rehash,
    verify_password_async,
)
from hub.auth.refresh import revoke_user_tokens
from hub.auth.totp import new_totp_secret, provisioning_uri, verify_totp
from hub.db import record_to
from hub.errors import DomainError, NotFound

log = logging.getLogger(__name__)

DEFAULT_ISSUER = "Cypher Hub"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_MAX_EMAIL = 254


class User(msgspec.Struct, frozen=True, kw_only=True):
    """A person who logs in. One role; a ``b2b_customer`` is bound to ``customer_id``."""

    id: int
    email: str
    role: Role
    customer_id: str | None
    totp_enabled: bool
    disabled_at: datetime | None
    created_at: datetime
    updated_at: datetime
    last_login_at: datetime | None

    @property
    def disabled(self) -> bool:
        """True while the account is disabled."""
        return self.disabled_at is not None

    def principal(self) -> Principal:
        """The principal this user acts as."""
        return Principal(
            kind="user",
            id=self.id,
            name=self.email,
            roles=frozenset({self.role}),
            customer_id=self.customer_id,
        )


_COLUMNS = ", ".join(User.__struct_fields__)
USER_COLUMNS = _COLUMNS  # what a query must select to build a User


def normalize_email(email: str) -> str:
    """Trimmed and lower-cased, as stored and looked up."""
    return email.strip().lower()


def validate_email(email: str) -> str:
    """The normalised email; :class:`DomainError` if it does not look like an address."""
    normal = normalize_email(email)
    if len(normal) > _MAX_EMAIL or not _EMAIL.match(normal):
        raise DomainError(f"{email.strip()!r} is not a valid email address")
    return normal


def parse_role(role: Role | str) -> Role:
    """``role`` as a :class:`Role`; :class:`DomainError` naming the valid ones if unknown."""
    try:
        return Role(role)
    except ValueError:
        known = ", ".join(r.value for r in Role)
        raise DomainError(f"unknown role {role!r}; use one of: {known}") from None


def check_customer(roles: frozenset[Role], customer_id: str | None) -> str | None:
    """The customer id to store for ``roles``: required for b2b_customer, refused otherwise."""
    customer = customer_id.strip() if customer_id is not None else None
    if Role.b2b_customer in roles:
        if not customer:
            raise DomainError("the b2b_customer role needs a customer id (--customer)")
        return customer
    if customer_id is not None:
        raise DomainError("only the b2b_customer role is bound to a customer; drop the customer id")
    return None


async def create_user(
    conn: asyncpg.Connection,
    *,
    email: str,
    role: Role | str,
    password: str,
    customer_id: str | None = None,
    issuer: str = DEFAULT_ISSUER,
) -> tuple[User, str | None]:
    """Create a user; return it and, for an admin, the TOTP provisioning URI.

    Admins get a TOTP secret at once and need a code from their first login on: the URI is
    returned only here, to be shown once. Raises :class:`DomainError` for an invalid email,
    role, customer binding or password, or an email already registered.
    """
    normal = validate_email(email)
    parsed = parse_role(role)
    customer = check_customer(frozenset({parsed}), customer_id)
    check_password_policy(password, email=normal)
    password_hash = await hash_password_async(password)
    secret = new_totp_secret() if parsed is Role.admin else None
    row = await conn.fetchrow(
        f"""
        INSERT INTO auth_users (email, role, customer_id, password_hash, totp_secret, totp_enabled)
        VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT ((lower(email))) DO NOTHING
        RETURNING {_COLUMNS}
        """,
        normal,
        parsed.value,
        customer,
        password_hash,
        secret,
        secret is not None,
    )
    if row is None:
        raise DomainError(f"a user with email {normal} already exists")
    user: User = record_to(User, row)
    log.info("created user %d (%s)", user.id, user.role, extra={"user_id": user.id})
    uri = provisioning_uri(secret, normal, issuer) if secret is not None else None
    return user, uri


async def get_user(conn: asyncpg.Connection, user_id: int) -> User:
    """The user with id ``user_id``; :class:`NotFound` if there is none."""
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM auth_users WHERE id = $1", user_id)
    if row is None:
        raise NotFound(f"no user with id {user_id}")
    user: User = record_to(User, row)
    return user


async def get_user_by_email(conn: asyncpg.Connection, email: str) -> User:
    """The user with ``email`` (any case, spaces trimmed); :class:`NotFound` if none."""
    normal = normalize_email(email)
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM auth_users WHERE lower(email) = $1", normal)
    if row is None:
        raise NotFound(f"no user with email {normal}")
    user: User = record_to(User, row)
    return user


async def list_users(
    conn: asyncpg.Connection, *, role: Role | str | None = None, include_disabled: bool = True
) -> list[User]:
    """Users in creation order, optionally of one role and only enabled ones."""
    rows = await conn.fetch(
        f"""
        SELECT {_COLUMNS} FROM auth_users
        WHERE ($1::text IS NULL OR role = $1) AND ($2 OR disabled_at IS NULL)
        ORDER BY id
        """,
        parse_role(role).value if role is not None else None,
        include_disabled,
    )
    return [record_to(User, r) for r in rows]


async def disable_user(conn: asyncpg.Connection, user_id: int) -> User:
    """Disable a user and revoke their refresh tokens (access tokens run out within their TTL).

    Refuses to disable the last enabled admin, which would leave nobody to manage users.
    """
    async with conn.transaction():
        user = await get_user(conn, user_id)
        if user.role is Role.admin and not user.disabled:
            # lock every enabled admin, in id order, so two admins disabling each other at
            # once cannot both succeed (nor deadlock)
            admins = await conn.fetch(
                "SELECT id FROM auth_users WHERE role = 'admin' AND disabled_at IS NULL "
                "ORDER BY id FOR UPDATE"
            )
            if not any(r["id"] != user_id for r in admins):
                raise DomainError(
                    f"{user.email} is the last enabled admin; create or enable another admin "
                    "before disabling this one"
                )
        row = await conn.fetchrow(
            f"""
            UPDATE auth_users SET disabled_at = coalesce(disabled_at, now()), updated_at = now()
            WHERE id = $1 RETURNING {_COLUMNS}
            """,
            user_id,
        )
        await revoke_user_tokens(conn, user_id)
    log.info("disabled user %d", user_id, extra={"user_id": user_id})
    disabled: User = record_to(User, row)
    return disabled


async def enable_user(conn: asyncpg.Connection, user_id: int) -> User:
    """Enable a disabled user again (they log in anew: their old tokens stay revoked)."""
    row = await conn.fetchrow(
        f"""
        UPDATE auth_users SET disabled_at = NULL, updated_at = now()
        WHERE id = $1 RETURNING {_COLUMNS}
        """,
        user_id,
    )
    if row is None:
        raise NotFound(f"no user with id {user_id}")
    log.info("enabled user %d", user_id, extra={"user_id": user_id})
    user: User = record_to(User, row)
    return user


async def reset_password(conn: asyncpg.Connection, user_id: int, password: str) -> User:
    """Set a new password (policy checked) and revoke the user's refresh tokens."""
    user = await get_user(conn, user_id)
    check_password_policy(password, email=user.email)
    password_hash = await hash_password_async(password)
    async with conn.transaction():
        await conn.execute(
            "UPDATE auth_users SET password_hash = $2, updated_at = now() WHERE id = $1",
            user_id,
            password_hash,
        )
        await revoke_user_tokens(conn, user_id)
    log.info("password reset for user %d", user_id, extra={"user_id": user_id})
    return await get_user(conn, user_id)


async def enroll_totp(
    conn: asyncpg.Connection, user_id: int, *, issuer: str = DEFAULT_ISSUER
) -> str:
    """Start TOTP enrolment for a user who opts in; return the provisioning URI.

    TOTP is not required until :func:`confirm_totp` accepts a first code. Enrolling again
    before confirming replaces the pending secret.
    """
    async with conn.transaction():
        row = await conn.fetchrow(
            "SELECT email, totp_enabled FROM auth_users WHERE id = $1 FOR UPDATE", user_id
        )
        if row is None:
            raise NotFound(f"no user with id {user_id}")
        if row["totp_enabled"]:
            raise DomainError("TOTP is already enabled for this account")
        secret = new_totp_secret()
        await conn.execute(
            "UPDATE auth_users SET totp_secret = $2, totp_last_step = NULL, updated_at = now() "
            "WHERE id = $1",
            user_id,
            secret,
        )
    return provisioning_uri(secret, row["email"], issuer)


async def confirm_totp(conn: asyncpg.Connection, user_id: int, code: str) -> User:
    """Finish enrolment with a first code from the app; from now on logins need a code.

    Raises ``AuthError("totp_invalid")`` for a wrong code and :class:`DomainError` when no
    enrolment is pending.
    """
    async with conn.transaction():
        row = await conn.fetchrow(
            "SELECT totp_secret, totp_enabled FROM auth_users WHERE id = $1 FOR UPDATE", user_id
        )
        if row is None:
            raise NotFound(f"no user with id {user_id}")
        if row["totp_enabled"]:
            raise DomainError("TOTP is already enabled for this account")
        if row["totp_secret"] is None:
            raise DomainError("no TOTP enrolment is pending: start one first")
        step = verify_totp(row["totp_secret"], code, last_step=None)
        await conn.execute(
            "UPDATE auth_users SET totp_enabled = true, totp_last_step = $2, updated_at = now() "
            "WHERE id = $1",
            user_id,
            step,
        )
    log.info("TOTP enabled for user %d", user_id, extra={"user_id": user_id})
    return await get_user(conn, user_id)


async def login(
    conn: asyncpg.Connection, *, email: str, password: str, otp: str | None
) -> Principal:
    """Check a user's credentials; return the principal to issue tokens for.

    Raises :class:`AuthError`: ``invalid_credentials`` for an unknown email or a wrong
    password alike (an unknown email is checked against a dummy hash, so both take as long);
    then, only once the password is right, ``account_disabled``, ``totp_required`` (TOTP
    enabled, always so for admins, and no ``otp``) or ``totp_invalid`` (wrong or reused code).
    A hash made with old parameters is replaced on success.
    """
    row = await conn.fetchrow(
        f"""
        SELECT {_COLUMNS}, password_hash, totp_secret, totp_last_step
        FROM auth_users WHERE lower(email) = $1
        """,
        normalize_email(email),
    )
    if row is None:
        await verify_password_async(dummy_hash(), password)
        raise AuthError("invalid_credentials")
    if not await verify_password_async(row["password_hash"], password):
        raise AuthError("invalid_credentials")
    user: User = record_to(User, {k: row[k] for k in User.__struct_fields__})
    if user.disabled:
        raise AuthError("account_disabled")
    if user.totp_enabled:
        if not otp:
            raise AuthError("totp_required")
        step = verify_totp(row["totp_secret"], otp, last_step=row["totp_last_step"])
        # conditional: of two logins racing with one code, only one records its step
        used = await conn.fetchval(
            "UPDATE auth_users SET totp_last_step = $2 "
            "WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2) RETURNING id",
            user.id,
            step,
        )
        if used is None:
            raise AuthError("totp_invalid")
    if needs_rehash(row["password_hash"]):
        await conn.execute(
            "UPDATE auth_users SET password_hash = $3 WHERE id = $1 AND password_hash = $2",
            user.id,
            row["password_hash"],
            await hash_password_async(password),
        )
    await conn.execute("UPDATE auth_users SET last_login_at = now() WHERE id = $1", user.id)
    return user.principal()


async def check_password(conn: asyncpg.Connection, user_id: int, password: str) -> None:
    """Confirm a logged-in user's password before a sensitive change to their own account.

    Raises ``AuthError("invalid_credentials")`` when it is wrong (or the user is unknown).
    """
    stored = await conn.fetchval("SELECT password_hash FROM auth_users WHERE id = $1", user_id)
    if not await verify_password_async(stored or dummy_hash(), password) or stored is None:
        raise AuthError("invalid_credentials")


async def reset_totp(
    conn: asyncpg.Connection, user_id: int, *, issuer: str = DEFAULT_ISSUER
) -> tuple[User, str | None]:
    """Replace a user's second factor (a lost phone); return the user and, for an admin, the new
    provisioning URI (admins always have TOTP, so they get a new secret at once).

    Others lose TOTP until they enrol again. Refresh tokens are revoked either way.
    """
    async with conn.transaction():
        user = await get_user(conn, user_id)
        secret = new_totp_secret() if user.role is Role.admin else None
        row = await conn.fetchrow(
            f"""
            UPDATE auth_users SET totp_secret = $2, totp_enabled = $3, totp_last_step = NULL,
                                  updated_at = now()
            WHERE id = $1 RETURNING {_COLUMNS}
            """,
            user_id,
            secret,
            secret is not None,
        )
        await revoke_user_tokens(conn, user_id)
    log.info("TOTP reset for user %d", user_id, extra={"user_id": user_id})
    changed: User = record_to(User, row)
    uri = provisioning_uri(secret, user.email, issuer) if secret is not None else None
    return changed, uri
