"""The reconcile command's pieces without I/O: the progress line, the comparison, the summary."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal as D
from typing import Any

from connectors.woocommerce.product_store import ProductRow
from connectors.woocommerce.progress import Progress
from connectors.woocommerce.reconcile import compare, learnable
from connectors.woocommerce.reconcile_cmd import summary
from connectors.woocommerce.resources import Product

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def row(sku: str, product_id: int | None, **fields: Any) -> ProductRow:
    values: dict[str, Any] = {
        "regular_price": None,
        "sale_price": None,
        "price_at": None,
        "stock_quantity": None,
        "stock_version": None,
        "stock_pushed_version": None,
        "shop_regular_price": None,
        "shop_sale_price": None,
        "shop_stock_quantity": None,
        "shop_manage_stock": None,
        "price_due": False,
        "stock_due": False,
    }
    values.update(fields)
    return ProductRow(sku=sku, product_id=product_id, **values)


def test_on_a_terminal_one_line_is_redrawn_with_count_total_and_rate() -> None:
    stream, clock = io.StringIO(), Clock()
    bar = Progress(stream, "reading", None, tty=True, clock=clock)
    clock.now = 1.0
    bar.update(100, 400)
    clock.now = 1.05  # too soon to redraw
    bar.update(150)
    clock.now = 2.0
    bar.update(400)
    bar.done()

    text = stream.getvalue()
    assert "\n" not in text.rstrip("\n") and text.endswith("\n")
    frames = [f.removesuffix("\x1b[K\n").removesuffix("\x1b[K") for f in text.split("\r")[1:]]
    assert frames[0] == "reading: 100/400 [######..................]  25%  100/s"
    assert frames[1].startswith("reading: 400/400 [########################] 100%  200/s")
    assert len(frames) == 3  # 100, 400, and the final one


def test_in_a_log_a_plain_line_every_ten_percent() -> None:
    stream = io.StringIO()
    bar = Progress(stream, "pushing", 1000, tty=False, clock=Clock())
    for done in range(0, 1001, 50):
        bar.update(done)
    bar.done()

    counts = [line.split()[1] for line in stream.getvalue().splitlines()]
    assert counts == [f"{n}/1000" for n in range(100, 1001, 100)]
    assert "\r" not in stream.getvalue()


def test_without_a_total_a_line_per_step() -> None:
    stream = io.StringIO()
    bar = Progress(stream, "reading", None, tty=False, clock=Clock())
    bar.update(100)
    bar.update(200)
    bar.done()
    assert [line.split()[1] for line in stream.getvalue().splitlines()] == ["100", "200", "200"]


def test_a_price_the_hub_has_no_opinion_on_is_never_reported_or_cleared() -> None:
    products = [Product(id=1, sku="A", regular_price=D("10.00"), manage_stock=True)]
    rows = {
        "A": row(
            "A",
            1,
            stock_quantity=4,
            stock_version=3,
            shop_regular_price=D("10.00"),
            shop_stock_quantity=D(4),
            shop_manage_stock=True,
        )
    }
    report = compare(products, rows)
    assert report.remaining() == 0


def test_money_compares_as_money_and_a_sale_only_difference_is_a_price_difference() -> None:
    products = [Product(id=1, sku="A", regular_price=D("10.5"), sale_price=D("9"))]
    rows = {
        "A": row(
            "A",
            1,
            regular_price=D("10.50"),
            sale_price=D("8.00"),
            price_at=NOW,
            shop_regular_price=D("10.5"),
            shop_sale_price=D("9"),
        )
    }
    report = compare(products, rows)
    assert [d.sku for d in report.differences["price_differs"]] == ["A"]
    rows["A"] = row(
        "A",
        1,
        regular_price=D("10.50"),
        sale_price=D("9.00"),
        price_at=NOW,
        shop_regular_price=D("10.5"),
        shop_sale_price=D("9"),
    )
    assert compare(products, rows).remaining() == 0


def test_duplicates_and_variable_products_are_not_learnt_as_holders_of_their_sku() -> None:
    products = [
        Product(id=1, sku="D"),
        Product(id=2, sku="D"),
        Product(id=3, sku="V", type="variable"),
        Product(id=4, sku="S"),
        Product(id=5, sku=""),
    ]
    assert [p.id for p in learnable(products)] == [4]


def test_the_summary_lists_the_first_n_skus_of_a_category_and_counts_the_rest() -> None:
    products = [Product(id=n, sku=f"S{n:02d}", regular_price=D("1.00")) for n in range(25)]
    report = compare(products, {})
    text = summary(report, shop="https://ledux.ro", show=20)
    lines = text.splitlines()
    assert "in the shop, unknown to the hub: 25" in lines
    listed = [line.split()[0] for line in lines if line.startswith("  S") and "SKU" not in line]
    assert listed == [f"S{n:02d}" for n in range(20)]
    assert "  … and 5 more (--json lists all)" in lines
    assert lines[-1] == "25 differences remain"
