"""API keys for machine clients: ``chk_<public id>_<secret>``, shown once, stored as SHA-256.

The public id (8 lowercase letters and digits) finds the row and names the key in lists and
logs; the SHA-256 of the whole key, compared in constant time, proves it. A key holds one or
more roles, never admin; a b2b_customer key is bound to one customer and holds no other role.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import string
from collections.abc import Iterable
from datetime import datetime

import asyncpg
import msgspec

from hub.auth.model import AuthError, Principal, Role
from hub.auth.users import check_customer, parse_role
from hub.db import record_to
from hub.errors import DomainError, NotFound

log = logging.getLogger(__name__)

PREFIX = "chk"
_ALPHABET = string.ascii_lowercase + string.digits
_KEY = re.compile(r"^chk_([a-z0-9]{8})_([A-Za-z0-9_-]{32,128})$")
_MAX_NAME = 100
_NO_SUCH_HASH = hashlib.sha256(b"compared when the public id is unknown").digest()


class ApiKey(msgspec.Struct, frozen=True, kw_only=True):
    """An API key as listed (never its secret)."""

    id: int
    public_id: str
    name: str
    roles: frozenset[Role]
    customer_id: str | None
    created_by: int | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def prefix(self) -> str:
        """``chk_<public id>``: the visible start of the key, to tell keys apart."""
        return f"{PREFIX}_{self.public_id}"

    @property
    def revoked(self) -> bool:
        """True once the key is revoked."""
        return self.revoked_at is not None

    def principal(self) -> Principal:
        """The principal a request made with this key acts as."""
        return Principal(
            kind="api_key",
            id=self.id,
            name=self.name,
            roles=self.roles,
            customer_id=self.customer_id,
        )


_COLUMNS = ", ".join(ApiKey.__struct_fields__)


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def _key_roles(roles: Iterable[Role | str]) -> frozenset[Role]:
    parsed = frozenset(parse_role(r) for r in roles)
    if not parsed:
        raise DomainError("an API key needs at least one role")
    if Role.admin in parsed:
        raise DomainError(
            "API keys cannot have the admin role: administration needs a person with TOTP; "
            "give the key the narrowest role its client needs"
        )
    if Role.b2b_customer in parsed and len(parsed) > 1:
        raise DomainError("a b2b_customer key holds no other role; create a separate key")
    return parsed


async def create_api_key(
    conn: asyncpg.Connection,
    *,
    name: str,
    roles: Iterable[Role | str],
    customer_id: str | None = None,
    created_by: int | None = None,
) -> tuple[ApiKey, str]:
    """Create a key; return it and the plaintext key, which is never available again.

    Raises :class:`DomainError` for an empty or taken name, no role, the admin role, or a
    customer binding that does not fit the roles.
    """
    clean = name.strip()
    if not clean or len(clean) > _MAX_NAME:
        raise DomainError(f"an API key needs a name of 1 to {_MAX_NAME} characters")
    parsed = _key_roles(roles)
    customer = check_customer(parsed, customer_id)
    taken = f"an active API key named {clean!r} exists; pick another name or revoke it first"
    if await conn.fetchval(
        "SELECT 1 FROM auth_api_keys WHERE lower(name) = lower($1) AND revoked_at IS NULL", clean
    ):
        raise DomainError(taken)
    for _ in range(5):  # 36^8 public ids: a collision is rare, five in a row impossible
        public_id = "".join(secrets.choice(_ALPHABET) for _ in range(8))
        key = f"{PREFIX}_{public_id}_{secrets.token_urlsafe(32)}"
        try:
            row = await conn.fetchrow(
                f"""
                INSERT INTO auth_api_keys (public_id, name, roles, customer_id, secret_hash,
                                           created_by)
                VALUES ($1, $2, $3, $4, $5, $6)
                ON CONFLICT (public_id) DO NOTHING
                RETURNING {_COLUMNS}
                """,
                public_id,
                clean,
                sorted(r.value for r in parsed),
                customer,
                _digest(key),
                created_by,
            )
        except asyncpg.UniqueViolationError:  # the name, taken by a concurrent create
            raise DomainError(taken) from None
        if row is not None:
            api_key: ApiKey = record_to(ApiKey, row)
            log.info(
                "created API key %d (%s)", api_key.id, api_key.prefix, extra={"key_id": api_key.id}
            )
            return api_key, key
    raise RuntimeError("could not draw an unused API key id")  # pragma: no cover


async def authenticate_api_key(conn: asyncpg.Connection, key: str) -> Principal:
    """The principal of a presented key; ``AuthError("api_key_invalid")`` if unknown,
    malformed or revoked. Records the use (at most once a minute per key)."""
    match = _KEY.match(key.strip())
    if match is None:
        raise AuthError("api_key_invalid")
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS}, secret_hash FROM auth_api_keys WHERE public_id = $1",
        match.group(1),
    )
    stored = row["secret_hash"] if row is not None else _NO_SUCH_HASH
    if not hmac.compare_digest(stored, _digest(key.strip())) or row is None:
        raise AuthError("api_key_invalid")
    if row["revoked_at"] is not None:
        raise AuthError("api_key_invalid")
    await conn.execute(
        "UPDATE auth_api_keys SET last_used_at = now() WHERE id = $1 "
        "AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')",
        row["id"],
    )
    api_key: ApiKey = record_to(ApiKey, {k: row[k] for k in ApiKey.__struct_fields__})
    return api_key.principal()


async def list_api_keys(
    conn: asyncpg.Connection, customer_id: str | None = None, *, include_revoked: bool = True
) -> list[ApiKey]:
    """Keys in creation order; only one customer's when ``customer_id`` is given."""
    rows = await conn.fetch(
        f"""
        SELECT {_COLUMNS} FROM auth_api_keys
        WHERE ($1::text IS NULL OR customer_id = $1) AND ($2 OR revoked_at IS NULL)
        ORDER BY id
        """,
        customer_id,
        include_revoked,
    )
    return [record_to(ApiKey, r) for r in rows]


async def get_api_key(conn: asyncpg.Connection, key_id: int) -> ApiKey:
    """The key with id ``key_id``; :class:`NotFound` if there is none."""
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM auth_api_keys WHERE id = $1", key_id)
    if row is None:
        raise NotFound(f"no API key with id {key_id}")
    api_key: ApiKey = record_to(ApiKey, row)
    return api_key


async def revoke_api_key(conn: asyncpg.Connection, key_id: int) -> ApiKey:
    """Revoke a key: refused from now on. Revoking a revoked key changes nothing."""
    row = await conn.fetchrow(
        f"""
        UPDATE auth_api_keys SET revoked_at = coalesce(revoked_at, now())
        WHERE id = $1 RETURNING {_COLUMNS}
        """,
        key_id,
    )
    if row is None:
        raise NotFound(f"no API key with id {key_id}")
    log.info("revoked API key %d", key_id, extra={"key_id": key_id})
    api_key: ApiKey = record_to(ApiKey, row)
    return api_key
