"""Demo data seeds: once per database, in order, all-or-nothing, messages through the outbox."""

from __future__ import annotations

import sys
import types
from collections.abc import Callable, Iterator

import asyncpg
import msgspec
import pytest

from hub import seeds
from hub.bootstrap import open_db
from hub.settings import HubSettings
from tests.support import Add

calls: list[str] = []


async def first(conn: asyncpg.Connection) -> None:
    calls.append("first")
    await conn.execute("INSERT INTO test_counters (name, total) VALUES ('demo', 1)")
    await seeds.emit(conn, Add(counter="demo", amount=1), key="demo")


async def second(conn: asyncpg.Connection) -> None:
    calls.append("second")
    await conn.execute("UPDATE test_counters SET total = total + 1 WHERE name = 'demo'")


async def broken(conn: asyncpg.Connection) -> None:
    calls.append("broken")
    await conn.execute("INSERT INTO test_counters (name, total) VALUES ('half', 1)")
    await seeds.emit(conn, Add(counter="half", amount=1))
    raise RuntimeError("the demo data is wrong")


@pytest.fixture
def seed_module() -> Iterator[str]:
    module = types.ModuleType("demo_seeds_for_tests")
    module.first = first  # type: ignore[attr-defined]
    module.second = second  # type: ignore[attr-defined]
    module.broken = broken  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    calls.clear()
    yield module.__name__
    del sys.modules[module.__name__]


@pytest.fixture
async def settings(
    make_settings: Callable[..., HubSettings], database_url: str, db_conn: asyncpg.Connection
) -> HubSettings:
    await db_conn.execute("TRUNCATE hub_seeds")
    return make_settings(database_url=database_url)


async def test_seeds_run_once_in_order_and_publish_through_the_outbox(
    settings: HubSettings, db_conn: asyncpg.Connection, seed_module: str
) -> None:
    paths = [f"{seed_module}:first", f"{seed_module}:second"]
    async with open_db(settings) as db:
        assert await seeds.apply(db, paths) == paths
        assert await seeds.apply(db, paths) == []  # a restart seeds nothing again
    assert calls == ["first", "second"]
    assert await db_conn.fetchval("SELECT total FROM test_counters WHERE name = 'demo'") == 2
    [row] = await db_conn.fetch("SELECT envelope, body FROM hub_outbox WHERE type = 'test.Add'")
    assert row["envelope"]["actor"] == seeds.SEED_ACTOR
    assert msgspec.json.decode(row["body"])["counter"] == "demo"


async def test_a_failing_seed_leaves_nothing_behind_and_runs_again_next_time(
    settings: HubSettings, db_conn: asyncpg.Connection, seed_module: str
) -> None:
    async with open_db(settings) as db:
        with pytest.raises(RuntimeError, match="demo data is wrong"):
            await seeds.apply(db, [f"{seed_module}:first", f"{seed_module}:broken"])
        assert await db_conn.fetchval("SELECT count(*) FROM test_counters WHERE name = 'half'") == 0
        assert await db_conn.fetchval("SELECT count(*) FROM hub_outbox") == 1  # first's only
        with pytest.raises(RuntimeError):
            await seeds.apply(db, [f"{seed_module}:first", f"{seed_module}:broken"])
    assert calls == ["first", "broken", "broken"]


@pytest.mark.parametrize(
    ("demo_data", "database_url", "env", "expected"),
    [
        ("auto", None, "development", True),
        ("auto", "postgresql://x/y", "development", False),
        ("auto", None, "production", False),
        ("on", "postgresql://x/y", "development", True),
        ("off", None, "development", False),
    ],
)
def test_demo_data_auto_seeds_only_an_embedded_database(
    make_settings: Callable[..., HubSettings],
    demo_data: str,
    database_url: str | None,
    env: str,
    expected: bool,
) -> None:
    settings = make_settings(demo_data=demo_data, database_url=database_url, env=env)
    assert seeds.wanted(settings) is expected
