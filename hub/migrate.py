"""Forward-only SQL migrations: ``migrations/NNNN_name.sql`` applied in order.

Each file runs in its own transaction and is recorded with its SHA-256 checksum. A file edited
after it was applied is refused; concurrent runners are serialised by an advisory lock.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from hub.errors import ConfigError

log = logging.getLogger(__name__)

LOCK_ID = 0x43595048  # "CYPH": one advisory lock for every migration runner
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class MigrationError(ConfigError):
    """A migration cannot be applied, or an applied one was changed."""


@dataclass(frozen=True)
class Migration:
    """One migration file."""

    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        """SHA-256 of the file's text."""
        return hashlib.sha256(self.sql.encode()).hexdigest()

    @property
    def filename(self) -> str:
        """The file name it came from."""
        return f"{self.version:04d}_{self.name}.sql"


def discover(directory: str | Path) -> list[Migration]:
    """The migrations in ``directory`` in version order; a bad or repeated name is an error."""
    folder = Path(directory)
    if not folder.is_dir():
        raise MigrationError(f"invalid setting CYPHER_MIGRATIONS_DIR: {folder} is not a folder")
    found: dict[int, Migration] = {}
    for path in sorted(folder.glob("*.sql")):
        match = _NAME.match(path.name)
        if match is None:
            raise MigrationError(f"migration file {path.name} is not named NNNN_name.sql")
        version = int(match.group(1))
        if version in found:
            raise MigrationError(
                f"migrations {found[version].filename} and {path.name} share version {version}"
            )
        found[version] = Migration(version, match.group(2), path.read_text(encoding="utf-8"))
    return [found[v] for v in sorted(found)]


async def migrate(conn: asyncpg.Connection, directory: str | Path) -> list[Migration]:
    """Apply pending migrations from ``directory`` on ``conn``; return those applied now."""
    migrations = discover(directory)
    await conn.execute("SELECT pg_advisory_lock($1)", LOCK_ID)
    try:
        await conn.execute(
            """
            CREATE TABLE IF NOT EXISTS hub_migrations (
                version    integer     PRIMARY KEY,
                name       text        NOT NULL,
                checksum   text        NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """
        )
        rows = await conn.fetch("SELECT version, name, checksum FROM hub_migrations")
        applied = {r["version"]: r for r in rows}
        known = {m.version for m in migrations}
        for version, row in sorted(applied.items()):
            if version not in known:
                raise MigrationError(
                    f"migration {version:04d}_{row['name']}.sql was applied but its file is "
                    "missing; restore it (migrations are forward-only)"
                )
        # Every applied file is checked before anything is applied: a refused run changes nothing.
        for migration in migrations:
            row = applied.get(migration.version)
            if row is not None and row["checksum"] != migration.checksum:
                raise MigrationError(
                    f"migration {migration.filename} was edited after it was applied "
                    "(checksum differs); revert the edit and add a new migration instead"
                )
        done: list[Migration] = []
        for migration in migrations:
            if migration.version in applied:
                continue
            try:
                async with conn.transaction():
                    await conn.execute(migration.sql)
                    await conn.execute(
                        "INSERT INTO hub_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                        migration.version,
                        migration.name,
                        migration.checksum,
                    )
            except asyncpg.PostgresError as exc:
                raise MigrationError(
                    f"migration {migration.filename} failed and was rolled back: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
            log.info("applied migration %s", migration.filename)
            done.append(migration)
        return done
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", LOCK_ID)
