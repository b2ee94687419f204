"""``cypher-hub woo reconcile [--apply] [--overwrite-stock] [--json] [--show N]``.

Compares every product of the shop with the hub's prices and stock (``reconcile_run.py``) and
prints a summary (or ``--json``); progress goes to standard error. Exit codes: 0 nothing
differs, 1 differences remain, 2 configuration (settings missing or refused by the shop: the
CLI prints ``ConfigError``s and exits 2), 3 the shop could not be read or written (down,
unreachable, unreadable answers): nothing was compared, or the push stopped; run it again.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any, TextIO

import msgspec

from connectors.woocommerce import reconcile_run
from connectors.woocommerce.client import build as build_client
from connectors.woocommerce.client import check_base_url
from connectors.woocommerce.errors import Unauthorized, WooCommerceError
from connectors.woocommerce.progress import Progress
from connectors.woocommerce.reconcile import CATEGORIES, Difference, Report
from connectors.woocommerce.settings import WooCommerceSettings, load_settings
from hub.bootstrap import open_cache, open_db
from hub.errors import ConfigError, TransientError
from hub.ratelimit import limiter_for
from hub.settings import HubSettings, redact_url

UNAVAILABLE = 3
KEYS = "CYPHER_WOOCOMMERCE_CONSUMER_KEY / CYPHER_WOOCOMMERCE_CONSUMER_SECRET"


def add_commands(subparsers: Any) -> None:
    """Add ``woo reconcile`` to the CLI's subparsers (``func(settings, args) -> exit code``)."""
    woo = subparsers.add_parser("woo", help="the WooCommerce shop: reconcile prices and stock")
    sub = woo.add_subparsers(required=True, metavar="ACTION")
    r = sub.add_parser(
        "reconcile",
        help="compare every shop product's price and stock with the hub's (dry run by default)",
        description=(
            "Read every product of the shop and compare the fields the hub owns (price, "
            "stock) per SKU. Exit 0: nothing differs; 1: differences remain; 2: settings; "
            "3: the shop could not be reached."
        ),
    )
    r.add_argument(
        "--apply",
        action="store_true",
        help="push the differing prices and stock (changed fields only, batches of <= 100)",
    )
    r.add_argument(
        "--overwrite-stock",
        action="store_true",
        help="with --apply, also push the hub's stock where the shop changed it by itself",
    )
    r.add_argument("--json", action="store_true", help="print the report as JSON")
    r.add_argument("--show", type=int, default=20, metavar="N", help="SKUs listed per category")
    r.set_defaults(func=cmd_woo_reconcile)


def cmd_woo_reconcile(settings: HubSettings, args: argparse.Namespace) -> int:
    """Run the reconciliation; the exit code says whether differences remain."""
    return asyncio.run(main(settings, args, out=sys.stdout, err=sys.stderr))


async def main(
    settings: HubSettings,
    args: argparse.Namespace,
    *,
    out: TextIO,
    err: TextIO,
    woo: WooCommerceSettings | None = None,
    tty: bool | None = None,
) -> int:
    """The command with its streams (``woo``: the ``[woocommerce]`` settings, else loaded)."""
    woo = woo or load_settings()
    check_settings(woo)
    if args.overwrite_stock and not args.apply:
        raise ConfigError("--overwrite-stock only makes sense with --apply")
    shop = redact_url(woo.base_url)

    def progress(label: str, total: int | None) -> Progress:
        return Progress(err, label, total, tty=tty)

    async with open_db(settings) as db, open_cache(settings) as cache:
        client = build_client(woo, limiter=limiter_for(cache))
        try:
            report = await reconcile_run.run(
                woo, db, client, progress, apply=args.apply, overwrite_stock=args.overwrite_stock
            )
        except Unauthorized as exc:
            raise ConfigError(
                f"the shop at {shop} refused the REST API key ({exc}): check "
                f"{KEYS} (WooCommerce > Settings > Advanced > REST API; --apply needs "
                "Read/Write permission)"
            ) from exc
        except (TransientError, WooCommerceError) as exc:
            print(
                f"cypher-hub: cannot read the shop's products at {shop}: {exc}. Check that the "
                "site is up and CYPHER_WOOCOMMERCE_BASE_URL is its address, then run this again; "
                "nothing was changed",
                file=err,
            )
            return UNAVAILABLE
        finally:
            await client.close()
    if args.json:
        out.write(msgspec.json.encode(as_json(report)).decode() + "\n")
    else:
        out.write(summary(report, shop=shop, show=args.show))
    if report.not_pushed is not None:
        print(
            f"cypher-hub: the push stopped: {report.not_pushed}. What was not pushed stays due: "
            "a running hub's connector pushes it after its next poll (poll_interval), or run "
            "this again when the shop answers",
            file=err,
        )
    return 1 if report.remaining() else 0


def check_settings(woo: WooCommerceSettings) -> None:
    """A ``ConfigError`` saying which setting to set before anything is called."""
    check_base_url(woo.base_url)
    if not woo.consumer_key or not woo.consumer_secret:
        raise ConfigError(
            f"missing setting {KEYS}: set them to a REST API key of the shop (WooCommerce > "
            "Settings > Advanced > REST API; Read for a dry run, Read/Write for --apply)"
        )


def as_json(report: Report) -> dict[str, Any]:
    """The machine-readable report: counts, every difference, what --apply did."""
    return {
        "apply": report.apply,
        "products_read": report.products_read,
        "hub_skus": report.hub_skus,
        "counts": report.counts(),
        "remaining": report.remaining(),
        "pushed": report.pushed,
        "requests": report.requests,
        "not_pushed": report.not_pushed,
        "differences": report.differences,
    }


def summary(report: Report, *, shop: str, show: int = 20) -> str:
    """The report for a person: counts per category, the first ``show`` SKUs of each."""
    mode = "applied" if report.apply else "dry run: nothing changed, --apply pushes"
    lines = [
        f"WooCommerce reconcile of {shop} ({mode}): {report.products_read} shop products, "
        f"{report.hub_skus} SKUs with hub values"
    ]
    for category, title in CATEGORIES.items():
        items = report.differences[category]
        if not items:
            continue
        fixed = sum(1 for d in items if d.fixed)
        lines.append(f"{title}: {len(items)}" + (f" ({fixed} fixed)" if fixed else ""))
        lines.append(f"  {'SKU':24} {'HUB':28} SHOP")
        for item in items[:show]:
            lines.append("  " + _line(item))
        if len(items) > show:
            lines.append(f"  … and {len(items) - show} more (--json lists all)")
    remaining = report.remaining()
    if report.apply:
        lines.append(f"pushed {report.pushed} products in {report.requests} batch requests")
    lines.append(f"{remaining} differences remain" if remaining else "nothing differs")
    return "\n".join(lines) + "\n"


def _line(item: Difference) -> str:
    sku = item.sku or f"(product {', '.join(map(str, item.product_ids))})"
    shop = _values(item.shop) if item.shop is not None else "-"
    if item.name and not item.sku:
        shop = f"{item.name!r} {shop}"
    if len(item.product_ids) > 1:
        shop = "products " + ", ".join(map(str, item.product_ids))
    text = f"{sku:24} {_values(item.hub) if item.hub is not None else '-':28} {shop}"
    if item.fixed:
        text += "  [fixed]"
    elif item.error:
        text += f"  [{item.error}]"
    return text


def _values(values: dict[str, Any]) -> str:
    parts = []
    if "regular_price" in values:
        price = "no price" if values["regular_price"] is None else str(values["regular_price"])
        if values.get("sale_price") is not None:
            price += f" (sale {values['sale_price']})"
        parts.append(price)
    if "stock_quantity" in values:
        managed = values.get("manage_stock", True)
        parts.append("stock not managed" if not managed else f"stock {values['stock_quantity']}")
    return ", ".join(parts) or "-"
