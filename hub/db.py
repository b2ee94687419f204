"""PostgreSQL: the asyncpg pool, transactions, and the embedded server for embedded mode."""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import msgspec

from hub.errors import ConfigError
from hub.settings import HubSettings, project_path, redact_url

log = logging.getLogger(__name__)

EMBEDDED_DATABASE = "cypher"


class Database:
    """The pool plus what the runtime needs around it."""

    def __init__(self, pool: asyncpg.Pool, *, dsn: str, mode: str) -> None:
        self.pool = pool
        self.dsn = dsn
        self.mode = mode
        size = pool.get_max_size()
        self.handler_slots = size - handler_reserve(size)
        self._handlers = asyncio.Semaphore(self.handler_slots)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection inside one transaction, committed when the block ends."""
        async with self.pool.acquire() as conn, conn.transaction():
            yield conn

    @asynccontextmanager
    async def handler_slot(self) -> AsyncIterator[None]:
        """Wait for one of the :attr:`handler_slots` in which a handler's transaction may be
        open: the rest of the pool stays free for the transactions a handler opens beside its
        own (an intent committed before an external call, a push run). Without the cap, a
        burst of such handlers takes every connection and each waits for one more until its
        time limit: nothing moves (seen with 30 shop orders at once on a pool of 10)."""
        async with self._handlers:
            yield

    async def ping(self) -> None:
        """Raise if the database cannot answer a trivial query within two seconds."""
        async with self.pool.acquire(timeout=2) as conn:
            await conn.fetchval("SELECT 1", timeout=2)

    async def connect(self) -> asyncpg.Connection:
        """A dedicated connection outside the pool (LISTEN, advisory locks held long)."""
        conn: asyncpg.Connection = await asyncpg.connect(self.dsn)
        await init_connection(conn)
        return conn


def handler_reserve(pool_size: int) -> int:
    """Connections kept from handlers' own transactions: a quarter of the pool (at least one,
    none for a pool of one)."""
    return 0 if pool_size <= 1 else max(1, pool_size // 4)


async def init_connection(conn: asyncpg.Connection) -> None:
    """Per-connection setup: ``jsonb`` encoded and decoded with msgspec."""
    await conn.set_type_codec(
        "jsonb",
        encoder=lambda v: msgspec.json.encode(v).decode(),
        decoder=msgspec.json.decode,
        schema="pg_catalog",
    )


async def resolve_dsn(settings: HubSettings) -> tuple[str, str]:
    """The DSN to use and a description of the mode, starting the embedded server if needed."""
    if settings.database_url is not None:
        dsn = settings.database_url.reveal()
        return dsn, f"services ({redact_url(dsn)})"
    if settings.env == "production":
        raise ConfigError(
            "missing setting CYPHER_DATABASE_URL: required when CYPHER_ENV=production"
        )
    data = project_path(settings.data_dir) / "pg"
    dsn = await asyncio.get_running_loop().run_in_executor(None, start_embedded, data)
    return dsn, f"embedded (pgserver in {data})"


def start_embedded(data: Path, database: str = EMBEDDED_DATABASE) -> str:
    """Start (or join) the embedded PostgreSQL in ``data``; return a DSN to ``database``.

    Blocking: call it in an executor. The server is shared by every process using the same
    folder and stops when the last one exits.
    """
    with warnings.catch_warnings():  # platformdirs warns about XDG_RUNTIME_DIR; harmless
        warnings.simplefilter("ignore")
        import pgserver  # imported here: it is only needed in embedded mode

    data.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        server = pgserver.get_server(str(data), cleanup_mode="stop")  # type: ignore[attr-defined]
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
    if "1 row" not in exists:
        server.psql(f'CREATE DATABASE "{database}";')
    uri: str = server.get_uri(database)
    return uri


@asynccontextmanager
async def open_database(
    settings: HubSettings, *, dsn: str | None = None
) -> AsyncIterator[Database]:
    """Open the pool (starting embedded PostgreSQL when no URL is set) and close it after."""
    if dsn is None:
        dsn, mode = await resolve_dsn(settings)
    else:
        mode = f"services ({redact_url(dsn)})"
    pool = await create_pool(dsn, min_size=settings.db_pool_min, max_size=settings.db_pool_max)
    log.info("database: %s", mode, extra={"part": "database", "mode": mode.split(" ")[0]})
    try:
        yield Database(pool, dsn=dsn, mode=mode)
    finally:
        await pool.close()


async def _keep_session(conn: asyncpg.Connection) -> None:
    """What a connection needs on its way back to the pool beyond asyncpg's own rollback of an
    open transaction: nothing. asyncpg's default runs ``pg_advisory_unlock_all(); CLOSE ALL;
    UNLISTEN *; RESET ALL`` on every release, a fourth round trip per handled message (about a
    tenth of the runtime's time, bench/actor_runtime.py); the hub leaves no session state on
    pooled connections: its advisory locks are transaction-scoped (``xact_lock``), LISTEN runs
    on dedicated connections (:meth:`Database.connect`), nothing calls ``SET`` without
    ``LOCAL``, and the migration lock is released in a ``finally``."""


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    """An asyncpg pool whose connections decode ``jsonb`` with msgspec."""
    pool: asyncpg.Pool | None = await asyncpg.create_pool(
        dsn, min_size=min_size, max_size=max_size, init=init_connection, reset=_keep_session
    )
    assert pool is not None
    return pool


async def xact_lock(conn: asyncpg.Connection, name: str) -> None:
    """Hold the advisory lock called ``name`` until the transaction ends (waiting for it)."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", name)


def key_lock(actor: str, key: str) -> str:
    """The name of the lock an actor's runner holds while it handles a message with ``key``
    (messages with one key are handled one at a time, across processes)."""
    return f"{actor}\x1f{key}"


def record_to(cls: type[Any], record: asyncpg.Record) -> Any:
    """Convert an asyncpg record to a Struct (repositories return Structs, not records)."""
    return msgspec.convert(dict(record), cls, from_attributes=False, strict=False)


def storable(value: Any) -> Any:
    """``value`` with each NUL character spelled out as ``\\x00``, in strings and in the dicts and
    lists that hold them: PostgreSQL text and jsonb refuse NUL.

    For records of refused or failed input (a poison message's dead letter, the audit entry of a
    refused call): refusing the record as well would lose it, or requeue its message for ever.
    """
    if isinstance(value, str):
        return value.replace("\x00", "\\x00")
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [storable(v) for v in value]
    return value
