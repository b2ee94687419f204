"""Settings of the WooCommerce connector: ``[woocommerce]``, variables ``CYPHER_WOOCOMMERCE_*``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import msgspec

from hub.settings import Secret, load


class WooCommerceSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What the WooCommerce connector needs.

    ``webhook_secret`` (``CYPHER_WOOCOMMERCE_WEBHOOK_SECRET``) is the "Secret" of the store's
    webhooks (WooCommerce > Settings > Advanced > Webhooks), the same for every webhook pointed at
    ``/webhooks/woocommerce``. Unset: deliveries are refused with 503 naming this setting.
    """

    webhook_secret: Secret | None = None


def load_settings(
    config_path: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> WooCommerceSettings:
    """Load ``[woocommerce]`` from the config file and ``CYPHER_WOOCOMMERCE_*``."""
    return load(
        WooCommerceSettings, section="woocommerce", config_path=config_path, environ=environ
    )
