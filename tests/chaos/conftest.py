"""The fault suite's session: one bus prefix shared by its scenarios (purged before each one,
deleted at the end), and which scenarios run. ``make test`` (CI) runs those marked ``ci``;
``CYPHER_CHAOS=all`` (``make chaos``) runs every one; the others are deselected, not skipped."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Iterator

import pytest

from tests.chaos.floor import clear_bus


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("CYPHER_CHAOS") == "all":
        return
    keep, drop = [], []
    for item in items:
        in_suite = item.get_closest_marker("chaos") is not None
        (drop if in_suite and item.get_closest_marker("ci") is None else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="session")
def chaos_prefix() -> Iterator[str]:
    prefix = f"chaos{secrets.token_hex(3)}"
    yield prefix
    asyncio.run(clear_bus(prefix, delete=True))
