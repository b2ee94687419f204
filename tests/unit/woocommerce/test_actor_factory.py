"""The connector actor's factory: what it needs from the settings, and what it does without."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, cast

import pytest

from connectors.woocommerce.actor import WooCommerceActor, build, factory
from connectors.woocommerce.settings import WooCommerceSettings
from hub.bootstrap import Resources
from hub.cache import MemoryCache
from hub.db import Database
from hub.errors import ConfigError, TransientError
from hub.settings import HubSettings, Secret
from hub.telemetry import Metrics

EMPTY = Path(__file__).parents[2] / "empty.toml"
DB = cast(Database, object())  # building touches no database


def resources(env: Literal["development", "production"]) -> Resources:
    return Resources(HubSettings(env=env), DB, MemoryCache(), Metrics())


def test_production_without_the_rest_keys_is_a_startup_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CYPHER_CONFIG", str(EMPTY))
    with pytest.raises(ConfigError, match="CYPHER_WOOCOMMERCE_CONSUMER_KEY"):
        factory(resources("production"))


def test_without_keys_the_actor_is_built_and_shop_calls_wait_naming_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CYPHER_CONFIG", str(EMPTY))
    actor = cast(WooCommerceActor, factory(resources("development")))
    with pytest.raises(TransientError, match="CYPHER_WOOCOMMERCE_CONSUMER_KEY"):
        actor.shop()


def test_a_store_url_the_client_refuses_leaves_the_intake_working() -> None:
    settings = WooCommerceSettings(
        base_url="http://shop.example", consumer_key=Secret("ck"), consumer_secret=Secret("cs")
    )
    actor: Any = build(settings, DB)
    assert actor.client is None
    with pytest.raises(TransientError, match="CYPHER_WOOCOMMERCE_BASE_URL"):
        actor.shop()
