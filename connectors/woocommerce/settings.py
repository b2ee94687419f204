"""Settings of the WooCommerce connector: ``[woocommerce]``, variables ``CYPHER_WOOCOMMERCE_*``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

import msgspec
from msgspec import Meta

from hub.settings import Positive, Secret, load


class WooCommerceSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What the WooCommerce connector needs.

    ``webhook_secret`` (``CYPHER_WOOCOMMERCE_WEBHOOK_SECRET``) is the "Secret" of the store's
    webhooks (WooCommerce > Settings > Advanced > Webhooks), the same for every webhook pointed at
    ``/webhooks/woocommerce``. Unset: deliveries are refused with 503 naming this setting.

    ``base_url``: the store's address as WordPress knows it (``https://ledux.ro``; a
    ``www.`` the site uses must be there too); the client calls ``<base_url>/wp-json/wc/v3``.
    HTTPS only: plain HTTP is accepted for loopback addresses alone (tests, the simulator).

    ``consumer_key``, ``consumer_secret`` (``CYPHER_WOOCOMMERCE_CONSUMER_KEY``,
    ``CYPHER_WOOCOMMERCE_CONSUMER_SECRET``): a Read/Write REST API key (WooCommerce > Settings >
    Advanced > REST API), sent as HTTP Basic. Unset: every call raises ``ConfigError`` naming
    them.

    ``timeout``: seconds for one request. A batch of 100 products can take WordPress many
    seconds on shared hosting, hence the generous default.

    ``per_second``, ``burst``: the client-side limit on requests to the store, shared by every
    hub process through Redis. WooCommerce publishes none; the host's limits apply (429).

    ``attempts``, ``retry_backoff``, ``retry_max_backoff``: requests made for one call that is
    safe to repeat (reads, updates that set fields to values) when the store answers 429/5xx
    or times out, with jittered backoff doubling from ``retry_backoff`` up to
    ``retry_max_backoff`` seconds (or the store's ``Retry-After``, when it is not longer).

    ``breaker_fail_max``, ``breaker_reset_timeout``: consecutive 5xx/timeouts that open the
    ``woocommerce`` circuit breaker, and seconds before it lets one trial request through.

    ``page_size``: items per page when listing (WordPress allows 1..100).
    ``batch_size``: items (create + update + delete) per batch request; WooCommerce's default
    limit is 100 (filter ``woocommerce_rest_batch_items_limit``), lower it if the host's PHP
    time limit cuts long batches.
    """

    webhook_secret: Secret | None = None
    base_url: str = "https://ledux.ro"
    consumer_key: Secret | None = None
    consumer_secret: Secret | None = None
    timeout: Positive = 60.0
    per_second: Positive = 5.0
    burst: Annotated[int, Meta(ge=1)] = 5
    attempts: Annotated[int, Meta(ge=1, le=10)] = 3
    retry_backoff: Positive = 1.0
    retry_max_backoff: Positive = 30.0
    breaker_fail_max: Annotated[int, Meta(ge=1)] = 5
    breaker_reset_timeout: Positive = 60.0
    page_size: Annotated[int, Meta(ge=1, le=100)] = 100
    batch_size: Annotated[int, Meta(ge=1, le=100)] = 100


def load_settings(
    config_path: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> WooCommerceSettings:
    """Load ``[woocommerce]`` from the config file and ``CYPHER_WOOCOMMERCE_*``."""
    return load(
        WooCommerceSettings, section="woocommerce", config_path=config_path, environ=environ
    )
