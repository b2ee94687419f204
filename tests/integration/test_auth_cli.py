"""``cypher-hub users …`` and ``cypher-hub apikeys …`` as an operator uses them."""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import re
import sys
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import asyncpg
import pytest

from hub.auth import AuthError, Role, add_commands, authenticate_api_key, login
from hub.auth.totp import totp_code
from hub.db import init_connection
from hub.errors import ConfigError, DomainError
from hub.settings import HubSettings

T = TypeVar("T")
PW = "correct horse battery"


@pytest.fixture
def settings(make_settings: Callable[..., HubSettings], database_url: str) -> HubSettings:
    async def truncate() -> None:
        conn = await asyncpg.connect(database_url)
        await conn.execute(
            "TRUNCATE auth_api_keys, auth_refresh_tokens, auth_users RESTART IDENTITY CASCADE"
        )
        await conn.close()

    asyncio.run(truncate())
    return make_settings(database_url=database_url)


def cli(settings: HubSettings, monkeypatch: pytest.MonkeyPatch, *argv: str, stdin: str = "") -> int:
    """Run a command the way ``hub.cli.main`` does: parse, call ``func``, map errors."""
    parser = argparse.ArgumentParser(prog="cypher-hub")
    add_commands(parser.add_subparsers(required=True, metavar="COMMAND"))
    args = parser.parse_args(argv)
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    try:
        code: int = args.func(settings, args)
        return code
    except ConfigError as exc:
        print(f"cypher-hub: {exc}", file=sys.stderr)
        return 2
    except DomainError as exc:
        print(f"cypher-hub: {exc}", file=sys.stderr)
        return 1


def with_conn(
    settings: HubSettings, work: Callable[[asyncpg.Connection], Coroutine[Any, Any, T]]
) -> T:
    async def run() -> T:
        assert settings.database_url is not None
        conn = await asyncpg.connect(settings.database_url.reveal())
        await init_connection(conn)
        try:
            return await work(conn)
        finally:
            await conn.close()

    return asyncio.run(run())


def can_login(settings: HubSettings, email: str, password: str, otp: str | None = None) -> bool:
    async def attempt(conn: asyncpg.Connection) -> bool:
        try:
            await login(conn, email=email, password=password, otp=otp)
        except AuthError:
            return False
        return True

    return with_conn(settings, attempt)


def test_users_create_reads_the_password_from_stdin(
    settings: HubSettings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("users", "create", "--email", "Ana@Ledux.ro", "--role", "sales", "--password-stdin")
    code = cli(settings, monkeypatch, *args, stdin=PW + "\n")
    out = capsys.readouterr().out
    assert code == 0
    assert "created user 1: ana@ledux.ro (sales)" in out
    assert PW not in out and "secret" not in out
    assert can_login(settings, "ana@ledux.ro", PW)


def test_admin_create_shows_the_totp_secret_once_and_it_works(
    settings: HubSettings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("users", "create", "--email", "root@ledux.ro", "--role", "admin", "--password-stdin")
    code = cli(settings, monkeypatch, *args, stdin=PW)
    out = capsys.readouterr().out
    assert code == 0
    assert "authenticator app NOW" in out and "will not be shown again" in out
    secret = re.search(r"secret: ([A-Z2-7]+)", out)
    uri = re.search(r"uri: +(otpauth://totp/\S+)", out)
    assert secret is not None and uri is not None
    assert f"secret={secret.group(1)}" in uri.group(1) and "issuer=Cypher" in uri.group(1)
    assert not can_login(settings, "root@ledux.ro", PW)  # a code is needed
    step_later = totp_code(secret.group(1), datetime.now(UTC) + timedelta(seconds=30))
    assert can_login(settings, "root@ledux.ro", PW, step_later)


def test_create_errors_say_what_to_do(
    settings: HubSettings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    create = ("users", "create", "--email", "b@shop.ro", "--password-stdin")
    assert cli(settings, monkeypatch, *create, "--role", "sales", stdin="short\n") == 1
    assert "at least 12 characters" in capsys.readouterr().err
    assert cli(settings, monkeypatch, *create, "--role", "b2b_customer", stdin=PW) == 1
    assert "needs a customer id (--customer)" in capsys.readouterr().err
    assert cli(settings, monkeypatch, *create, "--role", "sales", stdin="") == 1
    assert "no password on stdin" in capsys.readouterr().err
    assert (
        cli(settings, monkeypatch, *create, "--role", "b2b_customer", "--customer", "C-9", stdin=PW)
        == 0
    )
    assert "customer C-9" in capsys.readouterr().out
    assert cli(settings, monkeypatch, *create, "--role", "sales", stdin=PW) == 1
    assert "already exists" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # the password never comes from the command line
        cli(settings, monkeypatch, "users", "create", "--email", "x@y.ro", "--role", "ops")
    assert "--password-stdin" in capsys.readouterr().err


def test_users_list_disable_enable(
    settings: HubSettings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(settings, monkeypatch, "users", "list") == 0
    assert "no users" in capsys.readouterr().out
    for email, role in [("ana@ledux.ro", "sales"), ("dan@ledux.ro", "warehouse")]:
        args = ("users", "create", "--email", email, "--role", role, "--password-stdin")
        assert cli(settings, monkeypatch, *args, stdin=PW) == 0
    assert cli(settings, monkeypatch, "users", "disable", "--email", "ANA@ledux.ro") == 0
    assert "disabled ana@ledux.ro" in capsys.readouterr().out
    assert not can_login(settings, "ana@ledux.ro", PW)

    assert cli(settings, monkeypatch, "users", "list") == 0
    table = capsys.readouterr().out.splitlines()
    assert "EMAIL" in table[0]
    assert re.search(r"ana@ledux\.ro +sales .* disabled", table[1])
    assert re.search(r"dan@ledux\.ro +warehouse .* active", table[2])
    assert cli(settings, monkeypatch, "users", "list", "--json") == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["email"] for r in rows] == ["ana@ledux.ro", "dan@ledux.ro"]
    assert all("password_hash" not in r for r in rows)

    assert cli(settings, monkeypatch, "users", "enable", "--email", "ana@ledux.ro") == 0
    assert can_login(settings, "ana@ledux.ro", PW)
    assert cli(settings, monkeypatch, "users", "disable", "--email", "eve@ledux.ro") == 1
    assert "no user with email eve@ledux.ro" in capsys.readouterr().err


def test_reset_password(
    settings: HubSettings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("users", "create", "--email", "ana@ledux.ro", "--role", "ops", "--password-stdin")
    assert cli(settings, monkeypatch, *args, stdin=PW) == 0
    reset = ("users", "reset-password", "--email", "ana@ledux.ro", "--password-stdin")
    assert cli(settings, monkeypatch, *reset, stdin="tiny\n") == 1
    assert "at least 12" in capsys.readouterr().err
    assert cli(settings, monkeypatch, *reset, stdin="a whole new passphrase\r\n") == 0
    assert "changed" in capsys.readouterr().out
    assert not can_login(settings, "ana@ledux.ro", PW)
    assert can_login(settings, "ana@ledux.ro", "a whole new passphrase")


def test_apikeys_create_prints_the_key_once_then_list_and_revoke(
    settings: HubSettings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    create = ("apikeys", "create", "--name", "scanner", "--role", "warehouse", "--role", "ops")
    assert cli(settings, monkeypatch, *create) == 0
    captured = capsys.readouterr()
    key = captured.out.strip()
    assert re.fullmatch(r"chk_[a-z0-9]{8}_[A-Za-z0-9_-]{32,}", key)  # alone on stdout
    assert "will not be shown again" in captured.err and "roles: ops, warehouse" in captured.err
    principal = with_conn(settings, lambda conn: authenticate_api_key(conn, key))
    assert principal.roles == {Role.warehouse, Role.ops}

    assert cli(settings, monkeypatch, "apikeys", "list") == 0
    listing = capsys.readouterr().out
    assert "scanner" in listing and key[:12] in listing and key not in listing
    assert cli(settings, monkeypatch, "apikeys", "list", "--json") == 0
    (row,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert row["roles"] == ["ops", "warehouse"] and key not in json.dumps(row)

    assert cli(settings, monkeypatch, "apikeys", "revoke", str(principal.id)) == 0
    assert "refused from now on" in capsys.readouterr().out
    with pytest.raises(AuthError):
        with_conn(settings, lambda conn: authenticate_api_key(conn, key))
    assert cli(settings, monkeypatch, "apikeys", "revoke", "404") == 1
    assert "no API key with id 404" in capsys.readouterr().err


def test_apikeys_refuse_admin_and_unbound_customer_keys(
    settings: HubSettings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        cli(settings, monkeypatch, "apikeys", "create", "--name", "root", "--role", "admin")
    assert "invalid choice: 'admin'" in capsys.readouterr().err
    portal = ("apikeys", "create", "--name", "portal", "--role", "b2b_customer")
    assert cli(settings, monkeypatch, *portal) == 1
    assert "needs a customer id (--customer)" in capsys.readouterr().err
    assert cli(settings, monkeypatch, *portal, "--customer", "C-1") == 0
    capsys.readouterr()
    assert cli(settings, monkeypatch, "apikeys", "list", "--customer", "C-2") == 0
    assert "no API keys" in capsys.readouterr().out


def test_cli_changes_are_in_the_audit_trail_and_a_lost_totp_is_replaced(
    settings: HubSettings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("users", "create", "--email", "root@ledux.ro", "--role", "admin", "--password-stdin")
    assert cli(settings, monkeypatch, *args, stdin=PW) == 0
    first = re.search(r"secret: ([A-Z2-7]+)", capsys.readouterr().out)
    assert cli(settings, monkeypatch, "users", "reset-totp", "--email", "root@ledux.ro") == 0
    out = capsys.readouterr().out
    second = re.search(r"secret: ([A-Z2-7]+)", out)
    assert first is not None and second is not None and first.group(1) != second.group(1)
    later = datetime.now(UTC) + timedelta(seconds=30)
    assert can_login(settings, "root@ledux.ro", PW, totp_code(second.group(1), later))

    async def entries(conn: asyncpg.Connection) -> list[tuple[str, str, str]]:
        rows = await conn.fetch(
            "SELECT actor, action, entity_id FROM audit_log WHERE entity_type = 'user' "
            "AND action LIKE 'users.%' ORDER BY id DESC LIMIT 2"
        )
        return [(r["actor"], r["action"], r["entity_id"]) for r in reversed(rows)]

    found = with_conn(settings, entries)
    assert [a for _, a, _ in found] == ["users.create", "users.reset_totp"]
    assert all(actor.startswith("cli:") for actor, _, _ in found)


def test_the_hub_command_has_the_users_apikeys_and_webhooks_commands() -> None:
    from hub.cli import _parser

    parser = _parser()
    for argv in (["users", "list"], ["apikeys", "list"], ["webhooks", "list"], ["dlq", "list"]):
        assert callable(parser.parse_args(argv).func), argv
