"""A second hub process for the concurrency test: the inventory actor on the real services,
counting the reservations it handled (printed as ``handled N`` when it stops on SIGTERM).
Settings come from the usual ``CYPHER_*`` variables."""

from __future__ import annotations

import asyncio
import signal

from actors.inventory.actor import InventoryActor
from actors.inventory.messages import (
    ReserveStock,
)
from actors.inventory.settings import load_settings
from hub.actor import Context, handler
from hub.bootstrap import open_hub
from hub.settings import load_hub
from hub.telemetry import setup_logging


class CountingInventory(InventoryActor):
    """The inventory actor, counting the reservations this process handled."""

    handled = 0

    @handler
    async def reserve(self, msg: ReserveStock, ctx: Context) -> None:
        await super().reserve(msg, ctx)
        CountingInventory.handled += 1


async def main() -> None:
    settings = load_hub()
    setup_logging("WARNING")
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with open_hub(settings, actors=[lambda _r: CountingInventory(load_settings())]):
        print("ready", flush=True)
        await stop.wait()
    print(f"handled {CountingInventory.handled}", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
