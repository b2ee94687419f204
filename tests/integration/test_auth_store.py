"""Users, logins, refresh tokens and API keys against real PostgreSQL."""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import AsyncIterator, Awaitable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from argon2 import PasswordHasher

from hub.auth import (
    AuthError,
    Principal,
    Role,
    authenticate_api_key,
    confirm_totp,
    create_api_key,
    create_user,
    disable_user,
    enable_user,
    enroll_totp,
    get_api_key,
    get_user,
    get_user_by_email,
    issue_refresh,
    list_api_keys,
    list_users,
    login,
    purge_refresh_tokens,
    reset_password,
    revoke_api_key,
    revoke_refresh,
    rotate_refresh,
)
from hub.auth.totp import totp_code
from hub.db import init_connection
from hub.errors import DomainError, NotFound

AUTH_TABLES = "auth_api_keys, auth_refresh_tokens, auth_users"
PW = "correct horse battery"
TTL = 3600.0
STEP = timedelta(seconds=30)


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(database_url)
    await init_connection(connection)
    await connection.execute(f"TRUNCATE {AUTH_TABLES} RESTART IDENTITY CASCADE")
    try:
        yield connection
    finally:
        await connection.close()


@pytest.fixture
async def other_conn(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(database_url)
    try:
        yield connection
    finally:
        await connection.close()


async def fails(code: str, work: Awaitable[Any]) -> AuthError:
    with pytest.raises(AuthError) as caught:
        await work
    assert caught.value.code == code, caught.value.message
    return caught.value


def secret_of(uri: str) -> str:
    match = re.search(r"secret=([A-Z2-7]+)", uri)
    assert match is not None
    return match.group(1)


def next_code(secret: str, after: datetime) -> str:
    """A code of the step after ``after`` (accepted: within the window, not yet used)."""
    return totp_code(secret, after + STEP)


# --- users ------------------------------------------------------------------------------------


async def test_user_is_created_with_normalised_email_and_no_secrets(
    conn: asyncpg.Connection,
) -> None:
    user, uri = await create_user(conn, email="  Ana@Ledux.RO ", role="sales", password=PW)
    assert uri is None
    assert (user.email, user.role, user.customer_id) == ("ana@ledux.ro", Role.sales, None)
    assert not user.totp_enabled and not user.disabled
    assert not {"password_hash", "totp_secret"} & set(user.__struct_fields__)
    stored = await conn.fetchval("SELECT password_hash FROM auth_users WHERE id = $1", user.id)
    assert stored.startswith("$argon2id$") and PW not in stored
    assert await get_user(conn, user.id) == user
    assert await get_user_by_email(conn, "ANA@ledux.ro") == user


async def test_same_email_in_another_case_is_refused(conn: asyncpg.Connection) -> None:
    await create_user(conn, email="ana@ledux.ro", role="sales", password=PW)
    with pytest.raises(DomainError, match="already exists"):
        await create_user(conn, email="ANA@Ledux.ro", role="ops", password=PW)
    assert len(await list_users(conn)) == 1


@pytest.mark.parametrize("email", ["", "ana", "ana@", "@ledux.ro", "ana@ledux", "a na@ledux.ro"])
async def test_invalid_email_is_refused(conn: asyncpg.Connection, email: str) -> None:
    with pytest.raises(DomainError, match="not a valid email"):
        await create_user(conn, email=email, role="sales", password=PW)


async def test_customer_binding_rules(conn: asyncpg.Connection) -> None:
    with pytest.raises(DomainError, match="needs a customer id"):
        await create_user(conn, email="b@shop.ro", role="b2b_customer", password=PW)
    with pytest.raises(DomainError, match="only the b2b_customer"):
        await create_user(conn, email="s@ledux.ro", role="sales", password=PW, customer_id="C-1")
    user, _ = await create_user(
        conn, email="b@shop.ro", role=Role.b2b_customer, password=PW, customer_id=" C-1 "
    )
    assert user.customer_id == "C-1"
    principal = await login(conn, email="b@shop.ro", password=PW, otp=None)
    assert principal.customer_id == "C-1" and principal.roles == {Role.b2b_customer}


async def test_unknown_role_and_weak_password_are_refused_and_nothing_stored(
    conn: asyncpg.Connection,
) -> None:
    with pytest.raises(DomainError, match="unknown role 'root'"):
        await create_user(conn, email="x@ledux.ro", role="root", password=PW)
    with pytest.raises(DomainError, match="at least 12"):
        await create_user(conn, email="x@ledux.ro", role="ops", password="short")
    assert await list_users(conn) == []


async def test_database_enforces_the_rules_without_the_store(conn: asyncpg.Connection) -> None:
    insert = (
        "INSERT INTO auth_users (email, role, customer_id, password_hash) VALUES ($1,$2,$3,'x')"
    )
    with pytest.raises(asyncpg.CheckViolationError):
        await conn.execute(insert, "root@ledux.ro", "admin", None)  # admin without TOTP
    with pytest.raises(asyncpg.CheckViolationError):
        await conn.execute(insert, "b@shop.ro", "b2b_customer", None)
    with pytest.raises(asyncpg.CheckViolationError):
        await conn.execute(insert, "s@ledux.ro", "sales", "C-1")
    with pytest.raises(asyncpg.CheckViolationError):
        await conn.execute(insert, "x@ledux.ro", "root", None)
    await conn.execute(insert, "ana@ledux.ro", "sales", None)
    with pytest.raises(asyncpg.UniqueViolationError):
        await conn.execute(insert, "ana@ledux.ro", "ops", None)
    with pytest.raises(asyncpg.CheckViolationError):
        await conn.execute(insert, "ANA@ledux.ro", "sales", None)  # not normalised
    keys = "INSERT INTO auth_api_keys (public_id, name, roles, customer_id, secret_hash) "
    keys += "VALUES ('abcd1234', 'k', $1, $2, sha256('x'))"
    for roles, customer in [(["admin"], None), (["b2b_customer"], None), (["ops"], "C-1")]:
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute(keys, roles, customer)
    with pytest.raises(asyncpg.CheckViolationError):
        await conn.execute(keys, ["b2b_customer", "ops"], "C-1")


async def test_missing_users_raise_not_found(conn: asyncpg.Connection) -> None:
    with pytest.raises(NotFound):
        await get_user(conn, 404)
    with pytest.raises(NotFound):
        await get_user_by_email(conn, "nobody@ledux.ro")
    with pytest.raises(NotFound):
        await disable_user(conn, 404)
    with pytest.raises(NotFound):
        await enable_user(conn, 404)
    with pytest.raises(NotFound):
        await reset_password(conn, 404, PW)


async def test_list_users_filters_by_role_and_state(conn: asyncpg.Connection) -> None:
    a, _ = await create_user(conn, email="a@ledux.ro", role="sales", password=PW)
    b, _ = await create_user(conn, email="b@ledux.ro", role="ops", password=PW)
    await disable_user(conn, a.id)
    assert [u.email for u in await list_users(conn)] == ["a@ledux.ro", "b@ledux.ro"]
    assert [u.id for u in await list_users(conn, role="sales")] == [a.id]
    assert [u.id for u in await list_users(conn, include_disabled=False)] == [b.id]


async def test_the_last_enabled_admin_cannot_be_disabled(conn: asyncpg.Connection) -> None:
    first, _ = await create_user(conn, email="root@ledux.ro", role="admin", password=PW)
    with pytest.raises(DomainError, match="last enabled admin"):
        await disable_user(conn, first.id)
    second, _ = await create_user(conn, email="boss@ledux.ro", role="admin", password=PW)
    assert (await disable_user(conn, first.id)).disabled
    with pytest.raises(DomainError, match="last enabled admin"):
        await disable_user(conn, second.id)


# --- login ------------------------------------------------------------------------------------


async def test_login_returns_the_principal_and_records_the_time(conn: asyncpg.Connection) -> None:
    user, _ = await create_user(conn, email="ana@ledux.ro", role="warehouse", password=PW)
    principal = await login(conn, email=" ANA@ledux.ro", password=PW, otp=None)
    assert principal == Principal(
        kind="user", id=user.id, name="ana@ledux.ro", roles=frozenset({Role.warehouse})
    )
    assert (await get_user(conn, user.id)).last_login_at is not None


async def test_unknown_email_and_wrong_password_look_the_same(conn: asyncpg.Connection) -> None:
    await create_user(conn, email="ana@ledux.ro", role="sales", password=PW)
    wrong = await fails(
        "invalid_credentials", login(conn, email="ana@ledux.ro", password=PW + "!", otp=None)
    )
    unknown = await fails(
        "invalid_credentials", login(conn, email="eve@ledux.ro", password=PW, otp=None)
    )
    assert str(wrong) == str(unknown)
    assert "ana@ledux.ro" not in str(wrong)


async def test_disabled_user_is_told_so_only_with_the_right_password(
    conn: asyncpg.Connection,
) -> None:
    user, _ = await create_user(conn, email="ana@ledux.ro", role="sales", password=PW)
    await disable_user(conn, user.id)
    await fails(
        "invalid_credentials", login(conn, email="ana@ledux.ro", password="x" * 12, otp=None)
    )
    await fails("account_disabled", login(conn, email="ana@ledux.ro", password=PW, otp=None))
    await enable_user(conn, user.id)
    assert (await login(conn, email="ana@ledux.ro", password=PW, otp=None)).id == user.id


async def test_admin_needs_totp_from_the_first_login_and_codes_are_single_use(
    conn: asyncpg.Connection,
) -> None:
    admin, uri = await create_user(conn, email="root@ledux.ro", role="admin", password=PW)
    assert uri is not None and uri.startswith("otpauth://totp/") and admin.totp_enabled
    secret = secret_of(uri)
    now = datetime.now(UTC)
    await fails("totp_required", login(conn, email="root@ledux.ro", password=PW, otp=None))
    await fails("totp_required", login(conn, email="root@ledux.ro", password=PW, otp=""))
    good = {totp_code(secret, now + k * STEP) for k in (-1, 0, 1, 2)}
    wrong = next(c for c in ("000000", "123456", "999999") if c not in good)
    await fails("totp_invalid", login(conn, email="root@ledux.ro", password=PW, otp=wrong))
    code = next_code(secret, now)
    principal = await login(conn, email="root@ledux.ro", password=PW, otp=code)
    assert principal.roles == {Role.admin}
    await fails("totp_invalid", login(conn, email="root@ledux.ro", password=PW, otp=code))
    older = totp_code(secret, now)
    if older != code:
        await fails("totp_invalid", login(conn, email="root@ledux.ro", password=PW, otp=older))
    # a wrong password never reveals whether a code would be needed
    await fails(
        "invalid_credentials", login(conn, email="root@ledux.ro", password="x" * 12, otp=None)
    )


async def test_non_admin_can_opt_in_to_totp(conn: asyncpg.Connection) -> None:
    user, _ = await create_user(conn, email="ana@ledux.ro", role="sales", password=PW)
    with pytest.raises(DomainError, match="no TOTP enrolment"):
        await confirm_totp(conn, user.id, "123456")
    uri = await enroll_totp(conn, user.id, issuer="Ledux")
    assert "issuer=Ledux" in uri
    secret = secret_of(uri)
    # enrolment is pending: logins do not need a code yet
    await login(conn, email="ana@ledux.ro", password=PW, otp=None)
    now = datetime.now(UTC)
    good = {totp_code(secret, now + k * STEP) for k in (-1, 0, 1, 2)}
    await fails(
        "totp_invalid",
        confirm_totp(conn, user.id, next(c for c in ("000000", "777777") if c not in good)),
    )
    confirming = totp_code(secret, now)
    assert (await confirm_totp(conn, user.id, confirming)).totp_enabled
    with pytest.raises(DomainError, match="already enabled"):
        await enroll_totp(conn, user.id)
    await fails("totp_required", login(conn, email="ana@ledux.ro", password=PW, otp=None))
    await fails("totp_invalid", login(conn, email="ana@ledux.ro", password=PW, otp=confirming))
    assert await login(conn, email="ana@ledux.ro", password=PW, otp=next_code(secret, now))


async def test_admin_cannot_re_enrol_totp(conn: asyncpg.Connection) -> None:
    admin, _ = await create_user(conn, email="root@ledux.ro", role="admin", password=PW)
    with pytest.raises(DomainError, match="already enabled"):
        await enroll_totp(conn, admin.id)


async def test_login_replaces_a_hash_made_with_old_parameters(conn: asyncpg.Connection) -> None:
    user, _ = await create_user(conn, email="ana@ledux.ro", role="sales", password=PW)
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PW)
    await conn.execute("UPDATE auth_users SET password_hash = $2 WHERE id = $1", user.id, weak)
    await login(conn, email="ana@ledux.ro", password=PW, otp=None)
    stored = await conn.fetchval("SELECT password_hash FROM auth_users WHERE id = $1", user.id)
    assert stored != weak and stored.startswith("$argon2id$")
    await login(conn, email="ana@ledux.ro", password=PW, otp=None)


async def test_password_reset_changes_the_password(conn: asyncpg.Connection) -> None:
    user, _ = await create_user(conn, email="ana@ledux.ro", role="sales", password=PW)
    with pytest.raises(DomainError, match="at least 12"):
        await reset_password(conn, user.id, "short")
    await reset_password(conn, user.id, "a brand new passphrase")
    await fails("invalid_credentials", login(conn, email="ana@ledux.ro", password=PW, otp=None))
    await login(conn, email="ana@ledux.ro", password="a brand new passphrase", otp=None)


# --- refresh tokens ---------------------------------------------------------------------------


async def test_rotation_returns_the_user_and_a_new_token(conn: asyncpg.Connection) -> None:
    user, _ = await create_user(conn, email="ana@ledux.ro", role="sales", password=PW)
    first = await issue_refresh(conn, user.id, ttl=TTL)
    user_id, second = await rotate_refresh(conn, first, ttl=TTL)
    assert user_id == user.id and second != first
    user_id, third = await rotate_refresh(conn, second, ttl=TTL)
    assert user_id == user.id
    rows = await conn.fetch("SELECT token_hash, family FROM auth_refresh_tokens")
    assert len({r["family"] for r in rows}) == 1
    assert hashlib.sha256(third.encode()).digest() in {r["token_hash"] for r in rows}
    assert all(third.encode() not in r["token_hash"] for r in rows)


async def test_reusing_a_rotated_token_revokes_the_family_so_the_newest_fails_too(
    conn: asyncpg.Connection,
) -> None:
    user, _ = await create_user(conn, email="ana@ledux.ro", role="sales", password=PW)
    stolen = await issue_refresh(conn, user.id, ttl=TTL)
    _, newest = await rotate_refresh(conn, stolen, ttl=TTL)
    other_login = await issue_refresh(conn, user.id, ttl=TTL)

    await fails("refresh_reused", rotate_refresh(conn, stolen, ttl=TTL))

    await fails("refresh_invalid", rotate_refresh(conn, newest, ttl=TTL))
    await fails("refresh_invalid", rotate_refresh(conn, stolen, ttl=TTL))
    # another login (another device) of the same user is a different family: untouched
    assert (await rotate_refresh(conn, other_login, ttl=TTL))[0] == user.id


async def test_logout_revokes_the_family(conn: asyncpg.Connection) -> None:
    user, _ = await create_user(conn, email="ana@ledux.ro", role="sales", password=PW)
    first = await issue_refresh(conn, user.id, ttl=TTL)
    _, current = await rotate_refresh(conn, first, ttl=TTL)
    assert await revoke_refresh(conn, first)  # any token of the login logs it out
    await fails("refresh_invalid", rotate_refresh(conn, current, ttl=TTL))
    assert not await revoke_refresh(conn, "never-issued")


async def test_refreshing_never_extends_a_login_beyond_its_lifetime(
    conn: asyncpg.Connection,
) -> None:
    user, _ = await create_user(conn, email="ana@ledux.ro", role="sales", password=PW)
    first = await issue_refresh(conn, user.id, ttl=TTL)
    # the login began long ago: its first token ends in one minute
    await conn.execute("UPDATE auth_refresh_tokens SET expires_at = now() + interval '1 minute'")
    _, second = await rotate_refresh(conn, first, ttl=TTL)
    _, third = await rotate_refresh(conn, second, ttl=TTL)
    lifetimes = await conn.fetch(
        "SELECT expires_at - now() AS left FROM auth_refresh_tokens ORDER BY id"
    )
    assert len(lifetimes) == 3
    assert all(r["left"].total_seconds() <= 60 for r in lifetimes)
    fresh = await issue_refresh(conn, user.id, ttl=TTL)  # a new login starts a new lifetime
    left = await conn.fetchval(
        "SELECT expires_at - now() FROM auth_refresh_tokens WHERE token_hash = $1",
        hashlib.sha256(fresh.encode()).digest(),
    )
    assert left.total_seconds() > TTL - 60
    assert third


async def test_expired_and_unknown_refresh_tokens_are_refused(conn: asyncpg.Connection) -> None:
    user, _ = await create_user(conn, email="ana@ledux.ro", role="sales", password=PW)
    token = await issue_refresh(conn, user.id, ttl=TTL)
    await conn.execute(
        "UPDATE auth_refresh_tokens SET issued_at = now() - interval '2 hours', "
        "expires_at = now() - interval '1 second'"
    )
    await fails("refresh_expired", rotate_refresh(conn, token, ttl=TTL))
    await fails("refresh_invalid", rotate_refresh(conn, "x" * 43, ttl=TTL))


async def test_password_reset_and_disable_revoke_refresh_tokens(conn: asyncpg.Connection) -> None:
    user, _ = await create_user(conn, email="ana@ledux.ro", role="sales", password=PW)
    before_reset = await issue_refresh(conn, user.id, ttl=TTL)
    await reset_password(conn, user.id, "a brand new passphrase")
    await fails("refresh_invalid", rotate_refresh(conn, before_reset, ttl=TTL))
    before_disable = await issue_refresh(conn, user.id, ttl=TTL)
    await disable_user(conn, user.id)
    await fails("refresh_invalid", rotate_refresh(conn, before_disable, ttl=TTL))


async def test_refresh_of_a_disabled_user_is_refused(conn: asyncpg.Connection) -> None:
    user, _ = await create_user(conn, email="ana@ledux.ro", role="sales", password=PW)
    await disable_user(conn, user.id)
    token = await issue_refresh(conn, user.id, ttl=TTL)  # e.g. issued by a racing login
    await fails("account_disabled", rotate_refresh(conn, token, ttl=TTL))


async def test_rotation_inside_a_transaction_is_refused(conn: asyncpg.Connection) -> None:
    user, _ = await create_user(conn, email="ana@ledux.ro", role="sales", password=PW)
    token = await issue_refresh(conn, user.id, ttl=TTL)
    async with conn.transaction():
        with pytest.raises(RuntimeError, match="outside a transaction"):
            await rotate_refresh(conn, token, ttl=TTL)


async def test_two_rotations_of_one_token_at_once_exactly_one_succeeds(
    conn: asyncpg.Connection, database_url: str
) -> None:
    user, _ = await create_user(conn, email="ana@ledux.ro", role="sales", password=PW)
    token = await issue_refresh(conn, user.id, ttl=TTL)
    racers = [await asyncpg.connect(database_url) for _ in range(2)]
    try:
        # hold the row so both rotations are in flight before either can proceed
        async with conn.transaction():
            await conn.execute("SELECT 1 FROM auth_refresh_tokens FOR UPDATE")
            tasks = [asyncio.create_task(rotate_refresh(r, token, ttl=TTL)) for r in racers]
            pids = [r.get_server_pid() for r in racers]
            for _ in range(200):
                waiting = await conn.fetchval(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE pid = ANY($1::int[]) AND wait_event_type = 'Lock'",
                    pids,
                )
                if waiting == 2:
                    break
                await asyncio.sleep(0.02)
            assert waiting == 2, "both rotations should be waiting on the row lock"
        results = await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        for r in racers:
            await r.close()
    wins = [r for r in results if isinstance(r, tuple)]
    losses = [r for r in results if isinstance(r, AuthError)]
    assert len(wins) == 1 and len(losses) == 1, results
    assert losses[0].code == "refresh_reused"
    # the loser's reuse revoked the family, the winner's new token included
    await fails("refresh_invalid", rotate_refresh(conn, wins[0][1], ttl=TTL))


# --- API keys ---------------------------------------------------------------------------------


async def test_api_key_is_shown_once_stored_hashed_and_authenticates(
    conn: asyncpg.Connection,
) -> None:
    creator, _ = await create_user(conn, email="ops@ledux.ro", role="ops", password=PW)
    key, plaintext = await create_api_key(
        conn, name="scanner", roles=["warehouse", Role.ops], created_by=creator.id
    )
    match = re.fullmatch(r"chk_([a-z0-9]{8})_([A-Za-z0-9_-]{32,})", plaintext)
    assert match is not None and match.group(1) == key.public_id
    assert key.roles == {Role.warehouse, Role.ops} and key.created_by == creator.id
    row = await conn.fetchrow("SELECT * FROM auth_api_keys WHERE id = $1", key.id)
    assert row["secret_hash"] == hashlib.sha256(plaintext.encode()).digest()
    assert plaintext not in str(dict(row))
    principal = await authenticate_api_key(conn, plaintext)
    assert principal == Principal(
        kind="api_key", id=key.id, name="scanner", roles=frozenset({Role.warehouse, Role.ops})
    )
    assert await get_api_key(conn, key.id) != key  # last_used_at was recorded
    assert (await get_api_key(conn, key.id)).last_used_at is not None


async def test_forged_malformed_and_revoked_keys_are_refused(conn: asyncpg.Connection) -> None:
    key, plaintext = await create_api_key(conn, name="shop-sync", roles=["service"])
    prefix, _, secret = plaintext.rpartition("_")
    forged = f"{prefix}_{'A' if secret[0] != 'A' else 'B'}{secret[1:]}"
    for bad in (forged, "chk_zzzzzzzz_" + secret, "", "Bearer x", plaintext[:-10]):
        await fails("api_key_invalid", authenticate_api_key(conn, bad))
    revoked = await revoke_api_key(conn, key.id)
    assert revoked.revoked
    await fails("api_key_invalid", authenticate_api_key(conn, plaintext))
    assert (await revoke_api_key(conn, key.id)).revoked_at == revoked.revoked_at


async def test_key_roles_and_customer_binding_rules(conn: asyncpg.Connection) -> None:
    with pytest.raises(DomainError, match="admin"):
        await create_api_key(conn, name="root", roles=["admin"])
    with pytest.raises(DomainError, match="admin"):
        await create_api_key(conn, name="root", roles=["ops", "admin"])
    with pytest.raises(DomainError, match="at least one role"):
        await create_api_key(conn, name="none", roles=[])
    with pytest.raises(DomainError, match="needs a customer id"):
        await create_api_key(conn, name="portal", roles=["b2b_customer"])
    with pytest.raises(DomainError, match="no other role"):
        await create_api_key(conn, name="portal", roles=["b2b_customer", "sales"], customer_id="C")
    with pytest.raises(DomainError, match="only the b2b_customer"):
        await create_api_key(conn, name="sync", roles=["service"], customer_id="C-1")
    assert await list_api_keys(conn) == []
    _, plaintext = await create_api_key(
        conn, name="portal", roles=["b2b_customer"], customer_id="C-1"
    )
    principal = await authenticate_api_key(conn, plaintext)
    assert principal.customer_id == "C-1" and principal.roles == {Role.b2b_customer}


async def test_key_names_are_unique_among_active_keys(conn: asyncpg.Connection) -> None:
    key, _ = await create_api_key(conn, name="scanner", roles=["warehouse"])
    with pytest.raises(DomainError, match="exists"):
        await create_api_key(conn, name="Scanner", roles=["warehouse"])
    await revoke_api_key(conn, key.id)
    await create_api_key(conn, name="scanner", roles=["warehouse"])


async def test_last_used_is_recorded_at_most_once_a_minute(conn: asyncpg.Connection) -> None:
    key, plaintext = await create_api_key(conn, name="scanner", roles=["warehouse"])
    assert key.last_used_at is None
    await authenticate_api_key(conn, plaintext)
    first = (await get_api_key(conn, key.id)).last_used_at
    await authenticate_api_key(conn, plaintext)
    assert (await get_api_key(conn, key.id)).last_used_at == first
    await conn.execute(
        "UPDATE auth_api_keys SET last_used_at = now() - interval '61 seconds' WHERE id = $1",
        key.id,
    )
    await authenticate_api_key(conn, plaintext)
    later = (await get_api_key(conn, key.id)).last_used_at
    assert first is not None and later is not None and later > first - timedelta(seconds=1)
    assert later >= datetime.now(UTC) - timedelta(seconds=30)


async def test_keys_are_listed_per_customer_and_missing_ones_are_not_found(
    conn: asyncpg.Connection,
) -> None:
    sync, _ = await create_api_key(conn, name="sync", roles=["service"])
    portal, _ = await create_api_key(conn, name="p", roles=["b2b_customer"], customer_id="C-1")
    await create_api_key(conn, name="q", roles=["b2b_customer"], customer_id="C-2")
    assert [k.id for k in await list_api_keys(conn, "C-1")] == [portal.id]
    assert len(await list_api_keys(conn)) == 3
    await revoke_api_key(conn, sync.id)
    assert len(await list_api_keys(conn, include_revoked=False)) == 2
    with pytest.raises(NotFound):
        await get_api_key(conn, 404)
    with pytest.raises(NotFound):
        await revoke_api_key(conn, 404)


async def test_expired_refresh_families_are_purged_after_a_grace_period(
    conn: asyncpg.Connection,
) -> None:
    user, _ = await create_user(conn, email="ana@ledux.ro", role="sales", password=PW)
    old = await issue_refresh(conn, user.id, ttl=TTL)
    await rotate_refresh(conn, old, ttl=TTL)  # a family of two
    live = await issue_refresh(conn, user.id, ttl=TTL)
    await conn.execute(
        "UPDATE auth_refresh_tokens SET issued_at = now() - interval '3 days', "
        "expires_at = now() - interval '2 days' WHERE token_hash != $1",
        hashlib.sha256(live.encode()).digest(),
    )
    assert await purge_refresh_tokens(conn) == 2
    assert await purge_refresh_tokens(conn, grace=3 * 86_400) == 0
    assert await conn.fetchval("SELECT count(*) FROM auth_refresh_tokens") == 1
    _, newer = await rotate_refresh(conn, live, ttl=TTL)  # the live login is untouched
    assert newer
