"""Settings of the pricing context: ``[pricing]``, variables ``CYPHER_PRICING_*``."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import msgspec

from hub.settings import load


class PricingSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What pricing needs besides its rules (which live in the database).

    - ``min_margin``: the margin floor of products and categories without an override: no
      price goes below cost * (1 + min_margin). Every hub process must use the same value;
      after changing it, reprice everything (``POST /api/v1/pricing/reprice``).
    - ``cache_ttl``: seconds a product's price sheet stays in the shared cache (0: no cache,
      every quote reads PostgreSQL).
    - ``cache_check_interval``: seconds a process trusts its in-process copy of the price
      version before asking the shared cache again (≤ 1: a change is seen everywhere within it).
    - ``cache_local_max``: price sheets kept in each process (0: no in-process cache).
    """

    min_margin: Decimal = Decimal("0.10")
    cache_ttl: Annotated[float, msgspec.Meta(ge=0)] = 600.0
    cache_check_interval: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.5
    cache_local_max: Annotated[int, msgspec.Meta(ge=0)] = 100_000

    def __post_init__(self) -> None:
        if not self.min_margin.is_finite() or self.min_margin < 0:
            raise ValueError("Expected `min_margin` >= 0")


def load_settings(
    config_path: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> PricingSettings:
    """Load ``[pricing]`` from the config file and ``CYPHER_PRICING_*``."""
    return load(PricingSettings, section="pricing", config_path=config_path, environ=environ)
