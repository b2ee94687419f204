"""``cypher-hub demo``: its arguments; the work is in :mod:`connectors.sandbox.demo`."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from hub.settings import HubSettings


def add_commands(subparsers: Any) -> None:
    """Add the ``demo`` command to the CLI's subparsers."""
    p = subparsers.add_parser(
        "demo",
        help="place demo shop orders in a running sandbox and show the hub at work",
        description=(
            "Places realistic shop orders in the sandbox's simulated WooCommerce shop (as its "
            "checkout would) and shows what the hub makes of each: its order, the SmartBill "
            "document, the emails, the status set back in the shop. Start the hub first "
            "(`make run`) and run this in another terminal (`make demo`)."
        ),
    )
    p.add_argument("--orders", type=_count, default=10, help="orders to place (0: until Ctrl-C)")
    p.add_argument("--rate", type=_rate, default=20.0, help="orders per minute (default 20)")
    p.add_argument("--url", help="the hub (default http://<http_host>:<http_port>)")
    p.add_argument(
        "--timeout", type=_rate, default=120.0, help="seconds an order may take (default 120)"
    )
    p.add_argument("--seed", type=int, help="replay the same orders")
    p.add_argument(
        "--no-ship",
        dest="ship",
        action="store_false",
        help="do not ship orders through the hub's API (no API key is created)",
    )
    p.set_defaults(func=cmd_demo)


def cmd_demo(settings: HubSettings, args: argparse.Namespace) -> int:
    """Run the demo against the hub at ``--url``."""
    from connectors.sandbox import demo
    from connectors.sandbox.partners import edge_url

    options = demo.Options(
        url=args.url or edge_url(settings),
        orders=args.orders,
        rate=args.rate,
        timeout=args.timeout,
        seed=args.seed,
        ship=args.ship,
    )
    return asyncio.run(demo.run(options, settings, out=_print))


def _print(line: str) -> None:
    print(line, flush=True)


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _rate(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return value
