"""Settings of the inventory: ``[inventory]``, variables ``CYPHER_INVENTORY_*``."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Annotated

import msgspec

from hub.settings import load


class InventorySettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Defaults for SKUs without settings of their own, and the low-stock digest's pace."""

    # Seconds between two low-stock digests at most once (they collect what fell low meanwhile).
    digest_interval: Annotated[float, msgspec.Meta(gt=0)] = 3600.0
    # Stock kept back from the shop for SKUs without a safety buffer of their own.
    default_safety_buffer: Decimal = Decimal(0)
    # Reorder point of SKUs without one of their own; unset: such SKUs never alert.
    default_reorder_point: Decimal | None = None

    def __post_init__(self) -> None:
        for name in ("default_safety_buffer", "default_reorder_point"):
            value = getattr(self, name)
            if value is not None and not (value.is_finite() and value >= 0):
                raise ValueError(f"{name} must be a number >= 0, got {value}")


def load_settings(
    config_path: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> InventorySettings:
    """Load ``[inventory]`` from the config file and ``CYPHER_INVENTORY_*``."""
    return load(InventorySettings, section="inventory", config_path=config_path, environ=environ)


@cache
def current() -> InventorySettings:
    """The settings of this process, loaded once (the API routes and the seed use them)."""
    return load_settings()
