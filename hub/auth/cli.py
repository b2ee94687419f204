"""``cypher-hub users …`` and ``cypher-hub apikeys …``: accounts and keys from the shell.

Passwords are read from standard input (never from the command line, where ``ps`` and the
shell history would show them). Secrets meant for a person (an admin's TOTP secret, a new
API key) are printed once and never again.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import asyncpg
import msgspec

from hub import audit
from hub.auth import apikeys, users
from hub.auth.model import Role
from hub.errors import DomainError
from hub.settings import HubSettings

T = TypeVar("T")
ROLES = [r.value for r in Role]
KEY_ROLES = [r.value for r in Role if r is not Role.admin]


def add_commands(subparsers: Any) -> None:
    """Add the ``users`` and ``apikeys`` commands to the CLI's subparsers.

    Each command sets ``func(settings, args) -> exit code``, like the other commands.
    """
    p = subparsers.add_parser("users", help="user accounts: create, list, disable, reset")
    sub = p.add_subparsers(required=True, metavar="ACTION")
    c = sub.add_parser("create", help="create a user (password read from stdin)")
    c.add_argument("--email", required=True)
    c.add_argument("--role", required=True, choices=ROLES)
    c.add_argument("--customer", help="customer id: required for, and only for, b2b_customer")
    _password_stdin(c)
    c.set_defaults(func=cmd_users_create)
    c = sub.add_parser("list", help="list users")
    c.add_argument("--json", action="store_true", help="one JSON object per line")
    c.set_defaults(func=cmd_users_list)
    c = sub.add_parser("disable", help="disable a user and sign out their sessions")
    c.add_argument("--email", required=True)
    c.set_defaults(func=cmd_users_disable)
    c = sub.add_parser("enable", help="enable a disabled user")
    c.add_argument("--email", required=True)
    c.set_defaults(func=cmd_users_enable)
    c = sub.add_parser("reset-password", help="set a new password (read from stdin)")
    c.add_argument("--email", required=True)
    _password_stdin(c)
    c.set_defaults(func=cmd_users_reset_password)
    c = sub.add_parser("reset-totp", help="replace a lost second factor (admins get a new one)")
    c.add_argument("--email", required=True)
    c.set_defaults(func=cmd_users_reset_totp)

    p = subparsers.add_parser("apikeys", help="API keys of machine clients: create, list, revoke")
    sub = p.add_subparsers(required=True, metavar="ACTION")
    c = sub.add_parser("create", help="create a key (shown once)")
    c.add_argument("--name", required=True, help="who uses it, e.g. 'warehouse-scanner'")
    c.add_argument(
        "--role",
        dest="roles",
        action="append",
        required=True,
        choices=KEY_ROLES,
        help="a role of the key (repeat for several)",
    )
    c.add_argument("--customer", help="customer id: required for, and only for, b2b_customer")
    c.set_defaults(func=cmd_apikeys_create)
    c = sub.add_parser("list", help="list keys (never their secrets)")
    c.add_argument("--customer", help="only this customer's keys")
    c.add_argument("--json", action="store_true", help="one JSON object per line")
    c.set_defaults(func=cmd_apikeys_list)
    c = sub.add_parser("revoke", help="revoke a key: refused from now on")
    c.add_argument("id", type=int)
    c.set_defaults(func=cmd_apikeys_revoke)


def _password_stdin(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--password-stdin",
        action="store_true",
        required=True,
        help="read the password from stdin (prompted twice when stdin is a terminal)",
    )


def read_password() -> str:
    """The password from stdin: prompted (twice) on a terminal, else the first line piped in."""
    if sys.stdin.isatty():
        first = getpass.getpass("password: ")
        if getpass.getpass("again: ") != first:
            raise DomainError("the two passwords differ; nothing was changed")
        return first
    line = sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    if not line:
        raise DomainError(
            "no password on stdin: pipe it in, e.g. "
            "printf '%s\\n' \"$PASSWORD\" | cypher-hub users ... --password-stdin"
        )
    return line


def _with_db(settings: HubSettings, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    from hub.bootstrap import open_db  # here: hub.bootstrap is heavy and may import hub.auth

    async def run() -> T:
        async with open_db(settings) as db, db.transaction() as conn:
            return await work(conn)

    return asyncio.run(run())


async def _audit(
    conn: asyncpg.Connection,
    action: str,
    entity_type: str,
    entity_id: int,
    *,
    after: dict[str, Any] | None = None,
) -> None:
    """Record a change made from the command line (who: the operating-system user)."""
    await audit.record(
        conn,
        actor=f"cli:{_os_user()}",
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id),
        after=after,
    )


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return str(os.getuid())


def _user_audit(user: users.User) -> dict[str, Any]:
    return {
        "email": user.email,
        "role": user.role.value,
        "customer_id": user.customer_id,
        "disabled": user.disabled,
        "totp_enabled": user.totp_enabled,
    }


def cmd_users_create(settings: HubSettings, args: argparse.Namespace) -> int:
    """Create a user; for an admin, show the TOTP secret once."""
    password = read_password()

    async def work(conn: asyncpg.Connection) -> tuple[users.User, str | None]:
        user, uri = await users.create_user(
            conn,
            email=args.email,
            role=args.role,
            password=password,
            customer_id=args.customer,
            issuer=settings.totp_issuer,
        )
        await _audit(conn, "users.create", "user", user.id, after=_user_audit(user))
        return user, uri

    user, uri = _with_db(settings, work)
    bound = f", customer {user.customer_id}" if user.customer_id else ""
    print(f"created user {user.id}: {user.email} ({user.role}{bound})")
    if uri is not None:
        secret = parse_qs(urlsplit(uri).query)["secret"][0]
        print(
            "TOTP is mandatory for admins. Add this account to an authenticator app NOW "
            "(type the secret, or turn the URI into a QR code); it will not be shown again, "
            "and the first login already needs a code:"
        )
        print(f"  secret: {secret}")
        print(f"  uri:    {uri}")
    return 0


def cmd_users_list(settings: HubSettings, args: argparse.Namespace) -> int:
    """List users."""
    rows = _with_db(settings, lambda conn: users.list_users(conn))
    if args.json:
        for u in rows:
            print(json.dumps(msgspec.to_builtins(u)))
        return 0
    if not rows:
        print(
            "no users; create one with: cypher-hub users create --email E --role R --password-stdin"
        )
        return 0
    print(
        f"{'ID':>5}  {'EMAIL':32} {'ROLE':13} {'CUSTOMER':12} {'TOTP':4}  {'STATUS':8} LAST LOGIN"
    )
    for u in rows:
        status = "disabled" if u.disabled else "active"
        totp = "yes" if u.totp_enabled else "no"
        print(
            f"{u.id:>5}  {u.email:32} {u.role:13} {u.customer_id or '-':12} {totp:4}  "
            f"{status:8} {_when(u.last_login_at)}"
        )
    return 0


def cmd_users_disable(settings: HubSettings, args: argparse.Namespace) -> int:
    """Disable a user."""

    async def work(conn: asyncpg.Connection) -> users.User:
        user = await users.get_user_by_email(conn, args.email)
        done = await users.disable_user(conn, user.id)
        await _audit(conn, "users.disable", "user", user.id, after=_user_audit(done))
        return done

    user = _with_db(settings, work)
    minutes = max(1, round(settings.access_token_ttl / 60))
    print(
        f"disabled {user.email}: their sessions are signed out (an access token already "
        f"issued runs out within {minutes} min)"
    )
    return 0


def cmd_users_enable(settings: HubSettings, args: argparse.Namespace) -> int:
    """Enable a user."""

    async def work(conn: asyncpg.Connection) -> users.User:
        user = await users.get_user_by_email(conn, args.email)
        done = await users.enable_user(conn, user.id)
        await _audit(conn, "users.enable", "user", user.id, after=_user_audit(done))
        return done

    user = _with_db(settings, work)
    print(f"enabled {user.email}: they can log in again")
    return 0


def cmd_users_reset_password(settings: HubSettings, args: argparse.Namespace) -> int:
    """Set a user's password; their sessions are signed out."""
    password = read_password()

    async def work(conn: asyncpg.Connection) -> users.User:
        user = await users.get_user_by_email(conn, args.email)
        done = await users.reset_password(conn, user.id, password)
        await _audit(conn, "users.reset_password", "user", user.id, after={"password": "changed"})
        return done

    user = _with_db(settings, work)
    print(f"password of {user.email} changed; their sessions are signed out")
    return 0


def cmd_users_reset_totp(settings: HubSettings, args: argparse.Namespace) -> int:
    """Replace a user's second factor (a lost phone); their sessions are signed out."""

    async def work(conn: asyncpg.Connection) -> tuple[users.User, str | None]:
        user = await users.get_user_by_email(conn, args.email)
        done, uri = await users.reset_totp(conn, user.id, issuer=settings.totp_issuer)
        await _audit(conn, "users.reset_totp", "user", user.id, after=_user_audit(done))
        return done, uri

    user, uri = _with_db(settings, work)
    if uri is None:
        print(f"TOTP of {user.email} removed; they may enrol again. Their sessions are signed out")
        return 0
    secret = parse_qs(urlsplit(uri).query)["secret"][0]
    print(f"new TOTP secret of {user.email} (admins always need one); add it to their app NOW:")
    print(f"  secret: {secret}")
    print(f"  uri:    {uri}")
    return 0


def cmd_apikeys_create(settings: HubSettings, args: argparse.Namespace) -> int:
    """Create an API key: the key alone on stdout (for scripts), the rest on stderr."""

    async def work(conn: asyncpg.Connection) -> tuple[apikeys.ApiKey, str]:
        key, plaintext = await apikeys.create_api_key(
            conn, name=args.name, roles=args.roles, customer_id=args.customer
        )
        after = {"name": key.name, "roles": sorted(key.roles), "customer_id": key.customer_id}
        await _audit(conn, "api_keys.create", "api_key", key.id, after=after)
        return key, plaintext

    key, plaintext = _with_db(settings, work)
    roles = ", ".join(sorted(key.roles))
    print(f"created API key {key.id} {key.name!r} (roles: {roles})", file=sys.stderr)
    print(plaintext)
    print(
        "Copy this key now into the client's configuration: it will not be shown again "
        f"(if lost, revoke it with `cypher-hub apikeys revoke {key.id}` and create another).",
        file=sys.stderr,
    )
    return 0


def cmd_apikeys_list(settings: HubSettings, args: argparse.Namespace) -> int:
    """List API keys."""
    rows = _with_db(settings, lambda conn: apikeys.list_api_keys(conn, args.customer))
    if args.json:
        for k in rows:
            data = msgspec.to_builtins(k)
            data["roles"] = sorted(data["roles"])
            print(json.dumps(data))
        return 0
    if not rows:
        print("no API keys")
        return 0
    print(
        f"{'ID':>5}  {'PREFIX':12} {'NAME':24} {'ROLES':24} {'CUSTOMER':12} {'STATUS':8} LAST USED"
    )
    for k in rows:
        status = "revoked" if k.revoked else "active"
        roles = ",".join(sorted(k.roles))
        print(
            f"{k.id:>5}  {k.prefix:12} {k.name:24} {roles:24} {k.customer_id or '-':12} "
            f"{status:8} {_when(k.last_used_at)}"
        )
    return 0


def cmd_apikeys_revoke(settings: HubSettings, args: argparse.Namespace) -> int:
    """Revoke an API key."""

    async def work(conn: asyncpg.Connection) -> apikeys.ApiKey:
        key = await apikeys.revoke_api_key(conn, args.id)
        await _audit(conn, "api_keys.revoke", "api_key", key.id, after={"revoked": True})
        return key

    key = _with_db(settings, work)
    print(f"revoked API key {key.id} {key.name!r} ({key.prefix}): refused from now on")
    return 0


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment is not None else "never"
