"""Migrations against real PostgreSQL: each test gets an empty database of its own."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from hub.migrate import MigrationError, discover, migrate
from hub.settings import PROJECT_ROOT

from ..conftest import with_database

PROJECT_MIGRATIONS = PROJECT_ROOT / "migrations"
HUB_TABLES = {"hub_inbox", "hub_outbox", "hub_timers", "hub_dead_letters", "hub_migrations"}


@pytest.fixture
async def empty_dsn(pg_admin_dsn: str) -> AsyncIterator[str]:
    """A freshly created, empty database, dropped after the test."""
    name = f"cypher_migrate_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(pg_admin_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield with_database(pg_admin_dsn, name)
    finally:
        admin = await asyncpg.connect(pg_admin_dsn)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest.fixture
async def conn(empty_dsn: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(empty_dsn)
    try:
        yield connection
    finally:
        await connection.close()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "migrations"
    path.mkdir()
    return path


def write(folder: Path, name: str, sql: str) -> Path:
    path = folder / name
    path.write_text(sql, encoding="utf-8")
    return path


async def tables(conn: asyncpg.Connection) -> set[str]:
    rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    return {r["tablename"] for r in rows}


async def recorded(conn: asyncpg.Connection) -> list[tuple[int, str]]:
    rows = await conn.fetch("SELECT version, name FROM hub_migrations ORDER BY version")
    return [(r["version"], r["name"]) for r in rows]


async def test_project_migrations_apply_to_an_empty_database(conn: asyncpg.Connection) -> None:
    expected = discover(PROJECT_MIGRATIONS)
    assert expected, "the project has no migrations"

    applied = await migrate(conn, PROJECT_MIGRATIONS)

    assert [m.version for m in applied] == [m.version for m in expected]
    assert await tables(conn) >= HUB_TABLES
    assert await recorded(conn) == [(m.version, m.name) for m in expected]
    checksums = await conn.fetch("SELECT checksum FROM hub_migrations ORDER BY version")
    assert [r["checksum"] for r in checksums] == [m.checksum for m in expected]


async def test_second_run_applies_nothing(conn: asyncpg.Connection) -> None:
    await migrate(conn, PROJECT_MIGRATIONS)
    before = await conn.fetch("SELECT version, applied_at FROM hub_migrations ORDER BY version")

    assert await migrate(conn, PROJECT_MIGRATIONS) == []
    after = await conn.fetch("SELECT version, applied_at FROM hub_migrations ORDER BY version")
    assert after == before


async def test_pending_migrations_are_applied_in_version_order(
    conn: asyncpg.Connection, folder: Path
) -> None:
    write(folder, "0002_add_colour.sql", "ALTER TABLE lamps ADD COLUMN colour text;")
    write(folder, "0001_lamps.sql", "CREATE TABLE lamps (id int PRIMARY KEY);")
    write(folder, "README.md", "not a migration")

    applied = await migrate(conn, folder)

    assert [m.filename for m in applied] == ["0001_lamps.sql", "0002_add_colour.sql"]
    assert await conn.fetchval("SELECT count(*) FROM lamps") == 0
    columns = await conn.fetch(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'lamps'"
    )
    assert {r["column_name"] for r in columns} == {"id", "colour"}


async def test_new_migration_is_applied_on_a_later_run(
    conn: asyncpg.Connection, folder: Path
) -> None:
    write(folder, "0001_lamps.sql", "CREATE TABLE lamps (id int PRIMARY KEY);")
    await migrate(conn, folder)
    write(folder, "0002_strips.sql", "CREATE TABLE strips (id int PRIMARY KEY);")

    applied = await migrate(conn, folder)

    assert [m.filename for m in applied] == ["0002_strips.sql"]
    assert {"lamps", "strips"} <= await tables(conn)


async def test_edited_applied_migration_is_refused_naming_the_file(
    conn: asyncpg.Connection, folder: Path
) -> None:
    path = write(folder, "0001_lamps.sql", "CREATE TABLE lamps (id int PRIMARY KEY);")
    await migrate(conn, folder)
    path.write_text("CREATE TABLE lamps (id bigint PRIMARY KEY);", encoding="utf-8")

    with pytest.raises(MigrationError, match=r"0001_lamps\.sql was edited"):
        await migrate(conn, folder)


async def test_edited_migration_is_refused_before_anything_is_applied(
    conn: asyncpg.Connection, folder: Path
) -> None:
    write(folder, "0001_lamps.sql", "CREATE TABLE lamps (id int PRIMARY KEY);")
    edited = write(folder, "0003_strips.sql", "CREATE TABLE strips (id int PRIMARY KEY);")
    await migrate(conn, folder)
    write(folder, "0002_drivers.sql", "CREATE TABLE drivers (id int PRIMARY KEY);")
    edited.write_text("CREATE TABLE strips (id bigint PRIMARY KEY);", encoding="utf-8")

    with pytest.raises(MigrationError, match=r"0003_strips\.sql"):
        await migrate(conn, folder)

    assert "drivers" not in await tables(conn)
    assert await recorded(conn) == [(1, "lamps"), (3, "strips")]


async def test_applied_migration_whose_file_vanished_is_refused(
    conn: asyncpg.Connection, folder: Path
) -> None:
    write(folder, "0001_lamps.sql", "CREATE TABLE lamps (id int PRIMARY KEY);")
    gone = write(folder, "0002_strips.sql", "CREATE TABLE strips (id int PRIMARY KEY);")
    await migrate(conn, folder)
    gone.unlink()

    with pytest.raises(
        MigrationError, match=r"0002_strips\.sql was applied but its file is missing"
    ):
        await migrate(conn, folder)


@pytest.mark.parametrize("name", ["1_lamps.sql", "0001-lamps.sql", "0001_Lamps.sql", "lamps.sql"])
async def test_badly_named_migration_file_is_refused(
    conn: asyncpg.Connection, folder: Path, name: str
) -> None:
    write(folder, "0001_ok.sql", "CREATE TABLE ok (id int);")
    write(folder, name, "CREATE TABLE lamps (id int);")

    with pytest.raises(MigrationError, match=name.replace(".", r"\.")):
        await migrate(conn, folder)

    assert "ok" not in await tables(conn)  # refused before anything ran


async def test_two_files_with_one_version_are_refused(
    conn: asyncpg.Connection, folder: Path
) -> None:
    write(folder, "0001_lamps.sql", "CREATE TABLE lamps (id int);")
    write(folder, "0001_strips.sql", "CREATE TABLE strips (id int);")

    with pytest.raises(MigrationError, match="share version 1"):
        await migrate(conn, folder)


async def test_missing_migrations_folder_is_refused(
    conn: asyncpg.Connection, tmp_path: Path
) -> None:
    with pytest.raises(MigrationError, match="CYPHER_MIGRATIONS_DIR"):
        await migrate(conn, tmp_path / "nowhere")


async def test_failing_migration_rolls_back_completely_and_earlier_ones_stay(
    conn: asyncpg.Connection, folder: Path
) -> None:
    write(folder, "0001_lamps.sql", "CREATE TABLE lamps (id int PRIMARY KEY);")
    write(
        folder,
        "0002_broken.sql",
        "CREATE TABLE strips (id int PRIMARY KEY);\nINSERT INTO lamps VALUES (1);\nSELECT 1 / 0;\n",
    )
    write(folder, "0003_later.sql", "CREATE TABLE later (id int);")

    with pytest.raises(MigrationError, match=r"0002_broken\.sql failed") as info:
        await migrate(conn, folder)

    assert isinstance(info.value.__cause__, asyncpg.DivisionByZeroError)
    names = await tables(conn)
    assert "lamps" in names
    assert "strips" not in names
    assert "later" not in names
    assert await conn.fetchval("SELECT count(*) FROM lamps") == 0
    assert await recorded(conn) == [(1, "lamps")]


async def test_fixed_migration_applies_after_a_failure(
    conn: asyncpg.Connection, folder: Path
) -> None:
    broken = write(folder, "0001_lamps.sql", "CREATE TABLE lamps (id int PRIMARY KEY); SELECT 1/0;")
    with pytest.raises(MigrationError):
        await migrate(conn, folder)
    broken.write_text("CREATE TABLE lamps (id int PRIMARY KEY);", encoding="utf-8")

    applied = await migrate(conn, folder)

    assert [m.filename for m in applied] == ["0001_lamps.sql"]


async def test_concurrent_runners_apply_each_migration_once(empty_dsn: str, folder: Path) -> None:
    # The first migration holds its transaction long enough for the other runner to arrive.
    write(
        folder, "0001_lamps.sql", "SELECT pg_sleep(0.1); CREATE TABLE lamps (id int PRIMARY KEY);"
    )
    write(folder, "0002_strips.sql", "CREATE TABLE strips (id int PRIMARY KEY);")
    write(folder, "0003_seed.sql", "INSERT INTO lamps VALUES (1);")
    first, second = await asyncpg.connect(empty_dsn), await asyncpg.connect(empty_dsn)
    try:
        results = await asyncio.gather(migrate(first, folder), migrate(second, folder))

        applied = sorted(m.filename for result in results for m in result)
        assert applied == ["0001_lamps.sql", "0002_strips.sql", "0003_seed.sql"]
        assert await first.fetchval("SELECT count(*) FROM lamps") == 1
        assert await recorded(first) == [(1, "lamps"), (2, "strips"), (3, "seed")]
        held = await first.fetchval(
            "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
            "WHERE l.locktype = 'advisory' AND d.datname = current_database()"
        )
        assert held == 0  # both runners released the lock
    finally:
        await first.close()
        await second.close()


async def test_a_phone_shared_before_0021_stays_with_the_latest_saved_recipient(
    conn: asyncpg.Connection, folder: Path
) -> None:
    unique = "0021_notification_phone_unique.sql"
    for m in discover(PROJECT_MIGRATIONS):
        if m.version < 21:
            write(folder, m.filename, m.sql)
    await migrate(conn, folder)
    saved = (  # C-2 saved last; C-3 saved with it in the same instant (the lower id wins)
        ("C-1", "40744123456", datetime(2025, 1, 1, tzinfo=UTC)),
        ("C-3", "40744123456", datetime(2025, 3, 1, tzinfo=UTC)),
        ("C-2", "40744123456", datetime(2025, 3, 1, tzinfo=UTC)),
        ("C-4", "40755000000", datetime(2025, 2, 1, tzinfo=UTC)),
    )
    for customer_id, phone, at in saved:
        await conn.execute(
            "INSERT INTO notification_recipients (customer_id, phone, whatsapp_opt_in, "
            "updated_at) VALUES ($1, $2, true, $3)",
            customer_id,
            phone,
            at,
        )
    await conn.execute(  # linked by the trigger to the last saver, C-2
        "INSERT INTO notification_chat_conversations (phone, customer_id, created_at, "
        "updated_at) VALUES ('40744123456', 'C-2', now(), now())"
    )
    write(folder, unique, (PROJECT_MIGRATIONS / unique).read_text(encoding="utf-8"))

    assert [m.filename for m in await migrate(conn, folder)] == [unique]

    rows = await conn.fetch(
        "SELECT customer_id, phone, whatsapp_opt_in FROM notification_recipients "
        "ORDER BY customer_id"
    )
    assert [tuple(r) for r in rows] == [
        ("C-1", None, False),
        ("C-2", "40744123456", True),
        ("C-3", None, False),
        ("C-4", "40755000000", True),
    ]
    linked = "SELECT customer_id FROM notification_chat_conversations WHERE phone = '40744123456'"
    assert await conn.fetchval(linked) == "C-2"
    with pytest.raises(asyncpg.UniqueViolationError):
        await conn.execute(
            "UPDATE notification_recipients SET phone = '40744123456' WHERE customer_id = 'C-1'"
        )
