"""Fixtures of the catalog's integration tests: empty catalog tables and the demo categories."""

from __future__ import annotations

import asyncpg
import pytest

from actors.catalog import store
from actors.catalog.demo import demo_categories

CATALOG_TABLES = "catalog_import_batches, catalog_products, catalog_categories, audit_log"


@pytest.fixture
async def catalog_db(db_conn: asyncpg.Connection) -> asyncpg.Connection:
    """``db_conn`` with the catalog emptied and the demo category tree in place."""
    await db_conn.execute(f"TRUNCATE {CATALOG_TABLES} RESTART IDENTITY")
    for category in demo_categories():
        await store.add_category(db_conn, category)
    return db_conn
