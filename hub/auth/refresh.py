"""Refresh tokens: opaque, random, stored only as SHA-256, rotated on every use.

A login starts a *family* that lives ``refresh_token_ttl`` at most: each rotated token keeps
its parent's expiry, so refreshing never extends a login. Each rotation marks the presented
token rotated and issues its child in the same family. A rotated token presented again means
a copy is in someone else's hands: the whole family is revoked (the thief's and the user's
newest token alike) and the user logs in again.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from datetime import datetime

import asyncpg

from hub.auth.model import AuthError

log = logging.getLogger(__name__)


def token_digest(token: str) -> bytes:
    """SHA-256 of a token: what is stored and looked up (the token itself never is)."""
    return hashlib.sha256(token.encode()).digest()


async def issue_refresh(
    conn: asyncpg.Connection, user_id: int, *, ttl: float, family: uuid.UUID | None = None
) -> str:
    """A new refresh token for ``user_id`` valid ``ttl`` seconds; a new family unless given."""
    return await _insert(conn, user_id, ttl=ttl, family=family or uuid.uuid4(), parent=None)


async def rotate_refresh(conn: asyncpg.Connection, token: str, *, ttl: float) -> tuple[int, str]:
    """Exchange ``token`` for a new one: return ``(user_id, new_token)``.

    Raises :class:`AuthError`: ``refresh_invalid`` (unknown or revoked), ``refresh_expired``,
    ``account_disabled``, or ``refresh_reused`` after revoking the token's family when
    ``token`` was already rotated.

    Must run outside a transaction: it commits its own, so that the revocation of a reused
    family stands even though the caller then sees an error. Of concurrent rotations of one
    token, exactly one succeeds (the row is locked); the others count as reuse.
    """
    if conn.is_in_transaction():
        raise RuntimeError(
            "rotate_refresh must be called outside a transaction: it commits the revocation "
            "of a reused family before raising, which an enclosing transaction would undo"
        )
    async with conn.transaction():
        row = await conn.fetchrow(
            """
            SELECT t.id, t.user_id, t.family, t.rotated_at, t.revoked_at, t.expires_at,
                   t.expires_at <= now() AS expired, u.disabled_at
            FROM auth_refresh_tokens t JOIN auth_users u ON u.id = t.user_id
            WHERE t.token_hash = $1
            FOR UPDATE OF t
            """,
            token_digest(token),
        )
        if row is None or row["revoked_at"] is not None:
            failure = "refresh_invalid"
        elif row["rotated_at"] is not None:
            revoked = await _revoke_family(conn, row["family"])
            log.warning(
                "refresh token reused: revoked its family (%d tokens) of user %d",
                revoked,
                row["user_id"],
                extra={"user_id": row["user_id"], "family": str(row["family"])},
            )
            failure = "refresh_reused"
        elif row["expired"]:
            failure = "refresh_expired"
        elif row["disabled_at"] is not None:
            failure = "account_disabled"
        else:
            await conn.execute(
                "UPDATE auth_refresh_tokens SET rotated_at = now() WHERE id = $1", row["id"]
            )
            new = await _insert(
                conn,
                row["user_id"],
                ttl=ttl,
                family=row["family"],
                parent=row["id"],
                not_after=row["expires_at"],
            )
            return row["user_id"], new
    raise AuthError(failure)


async def revoke_refresh(conn: asyncpg.Connection, token: str) -> bool:
    """Log out: revoke ``token``'s family. False (and nothing done) for an unknown token."""
    family = await conn.fetchval(
        "SELECT family FROM auth_refresh_tokens WHERE token_hash = $1", token_digest(token)
    )
    if family is None:
        return False
    await _revoke_family(conn, family)
    return True


async def revoke_user_tokens(conn: asyncpg.Connection, user_id: int) -> int:
    """Revoke every live refresh token of ``user_id`` (disable, password reset); how many."""
    status: str = await conn.execute(
        "UPDATE auth_refresh_tokens SET revoked_at = now() "
        "WHERE user_id = $1 AND revoked_at IS NULL",
        user_id,
    )
    return int(status.rsplit(" ", 1)[1])


async def _revoke_family(conn: asyncpg.Connection, family: uuid.UUID) -> int:
    status: str = await conn.execute(
        "UPDATE auth_refresh_tokens SET revoked_at = now() "
        "WHERE family = $1 AND revoked_at IS NULL",
        family,
    )
    return int(status.rsplit(" ", 1)[1])


async def _insert(
    conn: asyncpg.Connection,
    user_id: int,
    *,
    ttl: float,
    family: uuid.UUID,
    parent: int | None,
    not_after: datetime | None = None,
) -> str:
    if ttl <= 0:
        raise ValueError("a refresh token's ttl must be positive")
    token = secrets.token_urlsafe(32)
    # A rotated token inherits its parent's expiry: a login lasts at most ``ttl`` in all,
    # however often it is refreshed (an absolute lifetime, not a sliding one).
    await conn.execute(
        """
        INSERT INTO auth_refresh_tokens (user_id, family, parent_id, token_hash, expires_at)
        VALUES ($1, $2, $3, $4,
                least(now() + make_interval(secs => $5), coalesce($6, 'infinity'::timestamptz)))
        """,
        user_id,
        family,
        parent,
        token_digest(token),
        float(ttl),
        not_after,
    )
    return token


async def purge_refresh_tokens(conn: asyncpg.Connection, *, grace: float = 86_400.0) -> int:
    """Delete the families whose every token expired more than ``grace`` seconds ago."""
    status: str = await conn.execute(
        """
        DELETE FROM auth_refresh_tokens WHERE family IN (
            SELECT family FROM auth_refresh_tokens
            GROUP BY family
            HAVING max(expires_at) < now() - make_interval(secs => $1)
        )
        """,
        float(grace),
    )
    return int(status.rsplit(" ", 1)[1])
