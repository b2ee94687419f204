"""Settings of the WooCommerce connector: ``[woocommerce]``, variables ``CYPHER_WOOCOMMERCE_*``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

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
    The connector actor spaces its status push retries (``PushOrderStatus``) the same way,
    without a last attempt.

    ``breaker_fail_max``, ``breaker_reset_timeout``: consecutive 5xx/timeouts that open the
    ``woocommerce`` circuit breaker, and seconds before it lets one trial request through.

    ``page_size``: items per page when listing (WordPress allows 1..100).
    ``batch_size``: items (create + update + delete) per batch request; WooCommerce's default
    limit is 100 (filter ``woocommerce_rest_batch_items_limit``), lower it if the host's PHP
    time limit cuts long batches.

    The connector actor (docs/WOOCOMMERCE.md, "The connector actor"):

    ``push_window``: seconds price and stock changes are gathered before one batch push.
    ``lookup_listing``: SKUs without a known shop product above which the actor lists every
    product (pages of ``page_size``) instead of asking for each SKU.
    ``prices_include_tax``: the shop's prices are entered with VAT (WooCommerce > Settings >
    Tax): the gross list price is pushed; otherwise the net one.

    ``poll_interval``: seconds between two reconcile polls (``GET /orders?modified_after=``).
    ``poll_overlap``: seconds the poll goes back before the last change it saw (WordPress
    compares to the second, strictly). ``poll_lookback``: how far back the first poll looks.

    ``place_statuses``: shop statuses at which an order is placed in the hub (``processing``:
    paid by card or cash on delivery; ``on-hold``: waiting for a bank transfer). ``pending``
    (card payment not finished), ``failed`` and ``checkout-draft`` wait; ``cancelled``,
    ``refunded`` and ``trash`` are never placed; any other status (``completed`` before the hub
    saw the order, a plugin's own) parks the order for a person (``RetryOrder`` places it).
    ``card_gateways``, ``cod_gateways``, ``transfer_gateways``: WooCommerce ``payment_method``
    ids of each hub payment method; an order paid otherwise is parked, naming its gateway.
    ``cui_meta_keys``, ``reg_com_meta_keys``: order meta keys holding the company's CUI and
    trade register number (the first one set wins); a billing company with a CUI is a company.
    ``customer_id_meta_key``: customer meta naming the hub's customer id of a shop customer
    (default: ``woo-customer-<id>``); ``tier_meta_key``, ``tier_role_prefix``: where the shop
    keeps a B2B tier (meta value, or a role such as ``b2b_tier_2``).
    ``totals_mismatch``: an order whose shop totals differ from the hub's pricing by more than
    0.01 RON is flagged either way; ``place`` places it too (stock held, staff decide),
    ``park`` keeps it until ``woocommerce.RetryOrder(accept_totals=true)``.
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
    push_window: Positive = 2.0
    lookup_listing: Annotated[int, Meta(ge=0)] = 20
    prices_include_tax: bool = False
    poll_interval: Positive = 300.0
    poll_overlap: Annotated[float, Meta(ge=0)] = 60.0
    poll_lookback: Positive = 86400.0
    place_statuses: tuple[str, ...] = ("processing", "on-hold")
    card_gateways: tuple[str, ...] = (
        "stripe",
        "stripe_cc",
        "netopiapayments",
        "netopia",
        "euplatesc",
        "mobilpay",
        "payu",
        "twispay",
        "ppcp-gateway",
        "paypal",
        "woocommerce_payments",
    )
    cod_gateways: tuple[str, ...] = ("cod",)
    transfer_gateways: tuple[str, ...] = ("bacs",)
    cui_meta_keys: tuple[str, ...] = (
        "_billing_cui",
        "billing_cui",
        "_billing_cif",
        "billing_cif",
        "cui",
        "cif",
    )
    reg_com_meta_keys: tuple[str, ...] = (
        "_billing_nr_reg_com",
        "billing_nr_reg_com",
        "_billing_reg_com",
        "billing_reg_com",
        "nr_reg_com",
    )
    customer_id_meta_key: str = "cypher_customer_id"
    tier_meta_key: str = "b2b_tier"
    tier_role_prefix: str = "b2b_tier_"
    totals_mismatch: Literal["place", "park"] = "place"


def load_settings(
    config_path: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> WooCommerceSettings:
    """Load ``[woocommerce]`` from the config file and ``CYPHER_WOOCOMMERCE_*``."""
    return load(
        WooCommerceSettings, section="woocommerce", config_path=config_path, environ=environ
    )
