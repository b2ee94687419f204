"""Settings of the orders: ``[orders]``, variables ``CYPHER_ORDERS_*``."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Literal

import msgspec

from hub.settings import load

Shortage = Literal["hold", "partial"]


class OrdersSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How an order meets a shortage of stock."""

    # "hold": an order whose stock cannot all be reserved goes on hold until it can (or staff
    # confirm it to ship what is held); "partial": it is confirmed at once and ships what is held.
    shortage: Shortage = "hold"


def load_settings(
    config_path: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> OrdersSettings:
    """Load ``[orders]`` from the config file and ``CYPHER_ORDERS_*``."""
    return load(OrdersSettings, section="orders", config_path=config_path, environ=environ)


@cache
def current() -> OrdersSettings:
    """The settings of this process, loaded once."""
    return load_settings()
