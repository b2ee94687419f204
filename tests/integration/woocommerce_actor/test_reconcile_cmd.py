"""``cypher-hub woo reconcile`` against the simulator on loopback and the real PostgreSQL: what it
reports, what ``--apply`` pushes (the simulator's request log), what the connector does after,
and what the operator reads when the settings, the key or the shop are wrong."""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import math
import socket
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal as D
from typing import Any

import asyncpg
import msgspec
import pytest

from actors.inventory.messages import StockChanged
from actors.pricing.messages import PriceChanged
from connectors.woocommerce import product_store, push, reconcile_cmd
from connectors.woocommerce.messages import PushProducts
from connectors.woocommerce.settings import WooCommerceSettings
from connectors.woocommerce.simulator import WooCommerceSimulator, demo_catalog
from hub.errors import ConfigError
from hub.settings import HubSettings, Secret
from tests.integration.woocommerce_actor.support import KEY, SECRET, handled, publish
from tests.support import eventually

Sim = tuple[WooCommerceSimulator, str]
Run = Callable[..., Awaitable[tuple[int, str, str]]]
VAT = D("0.21")
WAITING_FOR_LOCK = (
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


def parser() -> argparse.ArgumentParser:
    """The CLI's shape: subcommands with ``func(settings, args)``."""
    top = argparse.ArgumentParser(prog="cypher-hub")
    reconcile_cmd.add_commands(top.add_subparsers(required=True, metavar="COMMAND"))
    return top


@pytest.fixture
def woo(sim: Sim) -> WooCommerceSettings:
    return WooCommerceSettings(
        base_url=sim[1],
        consumer_key=Secret(KEY),
        consumer_secret=Secret(SECRET),
        timeout=5.0,
        per_second=1000.0,
        burst=100,
        attempts=2,
        retry_backoff=0.05,
        retry_max_backoff=0.2,
    )


@pytest.fixture
def hub_settings(make_settings: Callable[..., HubSettings], database_url: str) -> HubSettings:
    return make_settings(database_url=database_url, migrate_on_start=False)


@pytest.fixture
def run(hub_settings: HubSettings, woo: WooCommerceSettings) -> Run:
    """``code, stdout, stderr = await run("--apply", woo=...)``: the command, not on a TTY."""

    async def call(*argv: str, woo: WooCommerceSettings = woo) -> tuple[int, str, str]:
        args = parser().parse_args(["woo", "reconcile", *argv])
        out, err = io.StringIO(), io.StringIO()
        code = await reconcile_cmd.main(hub_settings, args, out=out, err=err, woo=woo, tty=False)
        return code, out.getvalue(), err.getvalue()

    return call


async def hub_price(conn: asyncpg.Connection, sku: str, net: str, sale: str | None = None) -> None:
    """The hub's price as the connector records a ``PriceChanged`` (``push.wanted_price``)."""
    gross = (D(net) * (1 + VAT)).quantize(D("0.01"))
    msg = PriceChanged(
        sku=sku,
        list_net=D(net),
        list_gross=gross,
        sale_net=D(sale) if sale else None,
        sale_gross=(D(sale) * (1 + VAT)).quantize(D("0.01")) if sale else None,
        vat_rate=VAT,
        previous_list_net=None,
        reason="test",
    )
    regular, sale_price = push.wanted_price(msg, include_tax=False)
    await product_store.want_price(conn, sku, regular, sale_price, datetime.now(UTC))


async def hub_stock(conn: asyncpg.Connection, sku: str, available: int, version: int = 1) -> None:
    """The hub's stock as the connector records a ``StockChanged`` (buffer of 2 pieces)."""
    msg = StockChanged(
        sku=sku, available=D(available), published=D(max(0, available - 2)), version=version
    )
    await product_store.want_stock(conn, sku, push.wanted_stock(msg), msg.version)


def product(shop: WooCommerceSimulator, sku: str) -> dict[str, Any]:
    return next(p for p in shop.store.records["product"].values() if p["sku"] == sku)


def batches(shop: WooCommerceSimulator) -> list[Any]:
    return shop.calls("POST", "/products/batch")


def skus(report: dict[str, Any], category: str) -> list[str]:
    return [d["sku"] for d in report["differences"][category]]


async def mixed_store(shop: WooCommerceSimulator, conn: asyncpg.Connection) -> dict[str, int]:
    """One SKU per kind of difference, one in sync; product ids by SKU."""
    ids: dict[str, int] = {}

    def add(sku: str, **fields: Any) -> None:
        fields.setdefault("regular_price", "10.00")
        fields.setdefault("manage_stock", True)
        fields.setdefault("stock_quantity", 5)
        ids[sku] = shop.add_product(name=f"Produs {sku}", sku=sku, **fields)["id"]

    add("PRICE-1", regular_price="15.00")
    add("SALE-1", sale_price="9.00")
    add("STOCK-1", stock_quantity=3)
    add("UNMANAGED-1", manage_stock=False)
    add("SHOPSTOCK-1", stock_quantity=8)
    add("SAME-1")
    add("SHOPONLY-1")
    add("DUP-1")
    add("DUP-2")
    add("VAR-1", type="variable")
    ids["(none)"] = shop.add_product(name="Fără cod", regular_price="3.00")["id"]
    # an import plugin wrote the SKU straight into the database: WooCommerce's check never ran
    product(shop, "DUP-2")["sku"] = "DUP-1"

    await hub_price(conn, "PRICE-1", "20.00")
    await hub_price(conn, "SALE-1", "10.00")  # no sale in the hub: the shop's sale goes
    await hub_stock(conn, "STOCK-1", 9)  # 7 published
    await hub_stock(conn, "UNMANAGED-1", 7)  # 5 published, the shop does not count stock
    await hub_stock(conn, "SHOPSTOCK-1", 12)  # 10 published, already given to the shop:
    await product_store.pushed(conn, [("SHOPSTOCK-1", 1)], datetime.now(UTC))  # it sold 2
    await hub_price(conn, "SAME-1", "10.00")
    await hub_stock(conn, "SAME-1", 7)
    await hub_price(conn, "DUP-1", "10.00")
    await hub_price(conn, "VAR-1", "11.00")
    await hub_price(conn, "GONE-1", "30.00")  # no product holds it
    return ids


async def test_a_dry_run_reports_each_kind_of_difference_and_changes_nothing(
    sim: Sim, run: Run, db_conn: asyncpg.Connection
) -> None:
    shop, _ = sim
    ids = await mixed_store(shop, db_conn)
    before = await db_conn.fetch("SELECT * FROM woo_products ORDER BY sku")

    code, out, err = await run("--json")

    assert code == 1
    report = json.loads(out)
    assert report["counts"] == {
        "price_differs": 2,
        "stock_differs": 2,
        "stock_changed_in_shop": 1,
        "missing_in_shop": 1,
        "unknown_to_hub": 1,
        "duplicate_sku": 1,
        "no_sku": 1,
        "unsupported": 1,
    }
    [price] = [d for d in report["differences"]["price_differs"] if d["sku"] == "PRICE-1"]
    assert price["hub"] == {"regular_price": "20.00", "sale_price": None}
    assert price["shop"] == {"regular_price": "15.00", "sale_price": None}
    assert price["product_ids"] == [ids["PRICE-1"]]
    assert skus(report, "price_differs") == ["PRICE-1", "SALE-1"]
    assert skus(report, "stock_differs") == ["STOCK-1", "UNMANAGED-1"]
    stock = report["differences"]["stock_differs"]
    assert [(d["hub"], d["shop"]) for d in stock] == [
        ({"stock_quantity": 7}, {"stock_quantity": 3, "manage_stock": True}),
        ({"stock_quantity": 5}, {"stock_quantity": None, "manage_stock": False}),
    ]
    assert skus(report, "stock_changed_in_shop") == ["SHOPSTOCK-1"]
    assert skus(report, "missing_in_shop") == ["GONE-1"]
    assert skus(report, "unknown_to_hub") == ["SHOPONLY-1"]
    [dup] = report["differences"]["duplicate_sku"]
    assert (dup["sku"], sorted(dup["product_ids"])) == ("DUP-1", [ids["DUP-1"], ids["DUP-2"]])
    [nosku] = report["differences"]["no_sku"]
    assert (nosku["product_ids"], nosku["name"]) == ([ids["(none)"]], "Fără cod")
    assert skus(report, "unsupported") == ["VAR-1"]
    assert report["remaining"] == 10 and report["apply"] is False

    assert batches(shop) == [] and not shop.calls("PUT")
    assert await db_conn.fetch("SELECT * FROM woo_products ORDER BY sku") == before
    assert "reading the shop's products: 11/11" in err


async def test_the_summary_names_each_category_with_hub_and_shop_values(
    sim: Sim, run: Run, db_conn: asyncpg.Connection
) -> None:
    await mixed_store(sim[0], db_conn)

    code, out, _ = await run()

    assert code == 1
    assert "dry run: nothing changed" in out
    assert "price differs: 2" in out
    assert any(line.split()[:3] == ["PRICE-1", "20.00", "15.00"] for line in out.splitlines()), out
    assert "product without SKU: 1" in out
    assert "SKU duplicated in the shop" in out
    assert out.rstrip().endswith("10 differences remain")


async def test_apply_fixes_prices_and_stock_and_a_second_run_finds_only_what_it_cannot_fix(
    sim: Sim, run: Run, db_conn: asyncpg.Connection
) -> None:
    shop, _ = sim
    await mixed_store(shop, db_conn)

    code, out, _ = await run("--apply", "--json")

    assert code == 1  # the shop-only, missing, duplicated... remain
    report = json.loads(out)
    assert report["pushed"] == 4 and report["requests"] == 1
    [request] = batches(shop)
    sent = {item["id"]: item for item in request.body["update"]}
    assert sorted(tuple(sorted(i)) for i in sent.values()) == [
        ("id", "manage_stock", "stock_quantity"),
        ("id", "regular_price"),
        ("id", "sale_price"),
        ("id", "stock_quantity"),
    ]
    assert product(shop, "PRICE-1")["regular_price"] == "20.00"
    assert product(shop, "SALE-1")["sale_price"] == ""
    assert product(shop, "STOCK-1")["stock_quantity"] == 7
    assert product(shop, "UNMANAGED-1")["manage_stock"] is True
    assert product(shop, "UNMANAGED-1")["stock_quantity"] == 5
    assert product(shop, "SHOPSTOCK-1")["stock_quantity"] == 8  # the shop's own figure kept
    assert all(
        d["fixed"] for c in ("price_differs", "stock_differs") for d in report["differences"][c]
    )
    assert await db_conn.fetchval(
        "SELECT missing_since IS NOT NULL FROM woo_products WHERE sku = 'GONE-1'"
    )

    code, out, _ = await run("--json")

    again = json.loads(out)
    assert code == 1
    assert {c: n for c, n in again["counts"].items() if n} == {
        "stock_changed_in_shop": 1,
        "missing_in_shop": 1,
        "unknown_to_hub": 1,
        "duplicate_sku": 1,
        "no_sku": 1,
        "unsupported": 1,
    }

    code, out, _ = await run("--apply", "--overwrite-stock", "--json")

    assert json.loads(out)["differences"]["stock_changed_in_shop"][0]["fixed"] is True
    assert product(shop, "SHOPSTOCK-1")["stock_quantity"] == 10
    assert len(batches(shop)) == 2


async def test_apply_pushes_250_differences_in_3_batches_and_the_connector_pushes_none_again(
    start_hub: Any,
    sim: Sim,
    run: Run,
    connector: Callable[..., Any],
    db_conn: asyncpg.Connection,
) -> None:
    shop, _ = sim
    seeded = {p["sku"]: p for p in (shop.add_product(**d) for d in demo_catalog(260))}
    names = sorted(seeded)
    for sku in names[:150]:
        await hub_price(db_conn, sku, str(D(seeded[sku]["regular_price"]) + 1))
    for sku in names[150:250]:
        await hub_stock(db_conn, sku, seeded[sku]["stock_quantity"] + 7)  # 5 more published
    for sku in names[250:]:
        await hub_price(db_conn, sku, seeded[sku]["regular_price"])  # in sync

    code, out, err = await run("--apply")

    assert code == 0, out
    assert out.rstrip().endswith("nothing differs")
    assert "pushed 250 products in 3 batch requests" in out
    assert len(batches(shop)) == math.ceil(250 / 100)
    assert [r.items for r in batches(shop)] == [100, 100, 50]
    items = [item for r in batches(shop) for item in r.body["update"]]
    assert sum(1 for i in items if set(i) == {"id", "regular_price"}) == 150
    assert sum(1 for i in items if set(i) == {"id", "stock_quantity"}) == 100
    assert product(shop, names[0])["regular_price"] == str(D(seeded[names[0]]["regular_price"]) + 1)
    assert product(shop, names[200])["stock_quantity"] == seeded[names[200]]["stock_quantity"] + 5
    # progress without a terminal: plain lines every 10 %, no carriage returns
    assert "\r" not in err
    pushing = [line for line in err.splitlines() if line.startswith("pushing to the shop")]
    assert [line.split()[4] for line in pushing] == ["100/250", "200/250", "250/250"]
    reading = [line for line in err.splitlines() if line.startswith("reading")]
    assert reading[0].split()[4] == "100/260" and reading[-1].split()[4] == "260/260"

    code, out, _ = await run()
    assert (code, out.rstrip().splitlines()[-1]) == (0, "nothing differs")
    assert len(batches(shop)) == 3

    # the connector, started now, finds nothing to push: the answers were recorded as its own
    hub, _ = await start_hub(connector())
    env = await publish(hub, PushProducts(), key=push.PUSH_KEY)
    await eventually(lambda: handled(db_conn, env), what="the connector's push run")
    assert len(batches(shop)) == 3
    assert not await db_conn.fetchval("SELECT count(*) FROM woo_products WHERE refused IS NOT NULL")


async def test_apply_waits_while_the_connector_pushes_and_the_connector_waits_for_it(
    start_hub: Any,
    sim: Sim,
    run: Run,
    connector: Callable[..., Any],
    db_conn: asyncpg.Connection,
    database_url: str,
) -> None:
    shop, _ = sim
    shop.add_product(sku="LOCK-1", regular_price="10.00")
    await hub_price(db_conn, "LOCK-1", "12.00")
    holder = await asyncpg.connect(database_url)  # stands in for a push in progress
    try:
        await holder.execute("SELECT pg_advisory_lock(hashtextextended($1, 0))", push.PUSH_LOCK)
        task = asyncio.create_task(run("--apply"))
        await eventually(lambda: db_conn.fetchval(WAITING_FOR_LOCK), what="apply waiting")
        assert not task.done() and batches(shop) == []
        await holder.execute("SELECT pg_advisory_unlock(hashtextextended($1, 0))", push.PUSH_LOCK)
        code, _, _ = await task
        assert code == 0 and len(batches(shop)) == 1

        # and the connector's push waits for a reconcile holding the same lock
        await hub_price(db_conn, "LOCK-1", "13.00")
        hub, _ = await start_hub(connector())
        await holder.execute("SELECT pg_advisory_lock(hashtextextended($1, 0))", push.PUSH_LOCK)
        env = await publish(hub, PushProducts(), key=push.PUSH_KEY)
        await eventually(lambda: db_conn.fetchval(WAITING_FOR_LOCK), what="the push waiting")
        assert len(batches(shop)) == 1
        await holder.execute("SELECT pg_advisory_unlock(hashtextextended($1, 0))", push.PUSH_LOCK)
        await eventually(lambda: handled(db_conn, env), what="the push after the lock")
        assert len(batches(shop)) == 2 and product(shop, "LOCK-1")["regular_price"] == "13.00"
    finally:
        await holder.close()


async def test_a_shop_failing_during_apply_stops_the_push_and_leaves_the_rest_due(
    sim: Sim, run: Run, db_conn: asyncpg.Connection
) -> None:
    shop, _ = sim
    seeded = {p["sku"]: p for p in (shop.add_product(**d) for d in demo_catalog(150))}
    for sku in seeded:
        await hub_price(db_conn, sku, "99.00")
    shop.faults.fail_after = 3  # two pages of the listing and the first batch go through
    shop.faults.fail_next = 10

    code, out, err = await run("--apply", "--json")

    assert code == 1
    report = json.loads(out)
    assert report["pushed"] == 100 and "500" in report["not_pushed"]
    assert [r.status for r in batches(shop)] == [200, 500, 500]  # the second one, repeated
    fixed = [d["fixed"] for d in report["differences"]["price_differs"]]
    assert fixed == [True] * 100 + [False] * 50
    assert "the push stopped" in err and "run this again" in err
    assert (
        await db_conn.fetchval(f"SELECT count(*) FROM woo_products WHERE {product_store.DUE}") == 50
    )  # what the connector will push


async def test_a_wrong_secret_is_a_configuration_error_saying_what_to_check(
    sim: Sim, run: Run, woo: WooCommerceSettings
) -> None:
    wrong = msgspec.structs.replace(woo, consumer_secret=Secret("cs_wrong_but_secret"))

    with pytest.raises(ConfigError) as caught:
        await run(woo=wrong)

    message = str(caught.value)
    assert "refused the REST API key" in message and "HTTP 401" in message
    assert "CYPHER_WOOCOMMERCE_CONSUMER_KEY" in message
    assert "cs_wrong_but_secret" not in message and SECRET not in message


async def test_a_read_only_key_compares_but_apply_is_refused_and_nothing_is_parked(
    sim: Sim, run: Run, woo: WooCommerceSettings, db_conn: asyncpg.Connection
) -> None:
    shop, _ = sim
    shop.keys["ck_read"] = ("cs_read", "read")
    shop.add_product(sku="RO-1", regular_price="10.00")
    await hub_price(db_conn, "RO-1", "12.00")
    read_only = msgspec.structs.replace(
        woo, consumer_key=Secret("ck_read"), consumer_secret=Secret("cs_read")
    )

    assert (await run(woo=read_only))[0] == 1
    with pytest.raises(ConfigError, match="Read/Write"):
        await run("--apply", woo=read_only)

    assert [r.status for r in batches(shop)] == [401]
    assert await db_conn.fetchval("SELECT refused IS NULL FROM woo_products WHERE sku = 'RO-1'")
    assert (await run("--apply"))[0] == 0  # with the right key, later
    assert product(shop, "RO-1")["regular_price"] == "12.00"


async def test_missing_keys_name_the_settings_before_anything_is_called(
    sim: Sim, run: Run, woo: WooCommerceSettings
) -> None:
    with pytest.raises(ConfigError, match="CYPHER_WOOCOMMERCE_CONSUMER_KEY"):
        await run(woo=msgspec.structs.replace(woo, consumer_secret=None))
    with pytest.raises(ConfigError, match="CYPHER_WOOCOMMERCE_BASE_URL"):
        await run(woo=msgspec.structs.replace(woo, base_url="http://ledux.example"))
    assert sim[0].requests == []


async def test_a_shop_that_is_down_exits_3_saying_what_to_do(
    sim: Sim, run: Run, woo: WooCommerceSettings
) -> None:
    shop, _ = sim
    shop.outage(60)

    code, out, err = await run()

    assert (code, out) == (3, "")
    assert "cannot read the shop's products" in err and "503" in err
    assert "CYPHER_WOOCOMMERCE_BASE_URL" in err and "nothing was changed" in err

    with socket.socket() as free:  # a port nobody listens on
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    nowhere = msgspec.structs.replace(woo, base_url=f"http://127.0.0.1:{port}")
    code, _, err = await run(woo=nowhere)
    assert code == 3 and f"127.0.0.1:{port}" in err


async def test_the_cli_entry_prints_json_and_returns_the_exit_code(
    sim: Sim,
    hub_settings: HubSettings,
    db_conn: asyncpg.Connection,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Any,
) -> None:
    shop, url = sim
    shop.add_product(sku="CLI-1", regular_price="10.00")
    await hub_price(db_conn, "CLI-1", "11.00")
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    monkeypatch.setenv("CYPHER_CONFIG", str(empty))
    monkeypatch.setenv("CYPHER_WOOCOMMERCE_BASE_URL", url)
    monkeypatch.setenv("CYPHER_WOOCOMMERCE_CONSUMER_KEY", KEY)
    monkeypatch.setenv("CYPHER_WOOCOMMERCE_CONSUMER_SECRET", SECRET)
    args = parser().parse_args(["woo", "reconcile", "--json"])

    # the command runs its own event loop, as from the shell; the simulator serves on this one
    code = await asyncio.to_thread(args.func, hub_settings, args)

    assert code == 1
    assert skus(json.loads(capsys.readouterr().out), "price_differs") == ["CLI-1"]
