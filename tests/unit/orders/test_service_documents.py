"""The pure parts of the orders service: document lines priced pro rata, which invoice a return
reverses, and what makes a PlaceOrder unacceptable."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

from msgspec.structs import replace

from actors.invoicing.messages import DocumentLine
from actors.orders.document_store import Document
from actors.orders.documents import allocate_credit, part
from actors.orders.messages import Address, Customer, PlaceOrder
from actors.orders.validation import placement_problems
from actors.pricing.messages import CartLine, PricedLine

AT = datetime(2026, 3, 2, tzinfo=UTC)


def line(sku: str, quantity: str, unit_net: str) -> DocumentLine:
    q, u = D(quantity), D(unit_net)
    net = (u * q).quantize(D("0.01"))
    vat = (net * D("0.21")).quantize(D("0.01"))
    return DocumentLine(
        sku=sku,
        name=sku,
        unit="piece",
        quantity=q,
        unit_net=u,
        vat_rate=D("0.21"),
        line_net=net,
        line_vat=vat,
        line_gross=net + vat,
    )


def doc(
    request_id: str, *lines: DocumentLine, kind: str = "invoice", invoice: str | None = None
) -> Document:
    return Document(
        request_id=request_id,
        order_id="o-1",
        kind=kind,  # type: ignore[arg-type]
        status="issued",
        shipment_id=request_id.rsplit(":", 1)[-1] if kind == "invoice" else None,
        return_id=None,
        invoice_request_id=invoice,
        lines=list(lines),
        series="FL",
        number="1",
        gross=None,
        error=None,
        requested_at=AT,
        issued_at=AT,
    )


def test_a_whole_line_keeps_its_amounts_exactly() -> None:
    whole = replace(line("STRIP", "8", "13.50"), line_vat=D("22.67"))  # as the order had it
    assert part(whole, D(8)) is whole


def test_a_part_of_a_line_is_priced_like_a_line_half_up_per_line() -> None:
    three = part(line("STRIP", "8", "13.50"), D(3))
    assert (three.line_net, three.line_vat, three.line_gross) == (D("40.50"), D("8.51"), D("49.01"))
    assert (three.unit_net, three.vat_rate, three.quantity) == (D("13.50"), D("0.21"), D(3))


def test_a_return_is_credited_against_the_invoices_in_order() -> None:
    first = doc("invoice:o-1:s1", line("STRIP", "4", "13.50"), line("DRIVER", "1", "70.00"))
    second = doc("invoice:o-1:s2", line("STRIP", "4", "13.50"), line("DRIVER", "2", "70.00"))
    strip = line("STRIP", "3", "13.50")
    earlier = doc("credit_note:o-1:r0:s1", strip, kind="credit_note", invoice=first.request_id)
    plan = allocate_credit([first, second], [earlier], {"STRIP": D(3), "DRIVER": D(2)})
    assert [(inv.request_id, [(x.sku, x.quantity) for x in xs]) for inv, xs in plan] == [
        ("invoice:o-1:s1", [("STRIP", D(1)), ("DRIVER", D(1))]),
        ("invoice:o-1:s2", [("STRIP", D(2)), ("DRIVER", D(1))]),
    ]


def test_nothing_invoiced_means_nothing_to_credit() -> None:
    assert allocate_credit([], [], {"STRIP": D(2)}) == []


ADDRESS = Address(name="Ana", street="Str. Mare 1", city="Cluj-Napoca", county="Cluj")


def order(*lines: tuple[str, str], **kw: object) -> PlaceOrder:
    return PlaceOrder(
        order_id="o-1",
        source="api",
        customer=Customer(kind="consumer", name="Ana"),
        billing=ADDRESS,
        payment_method="card",
        lines=tuple(CartLine(sku=s, quantity=D(q)) for s, q in lines),
        **kw,  # type: ignore[arg-type]
    )


def test_a_good_order_has_no_problems() -> None:
    assert placement_problems(order(("STRIP", "2.5"), ("DRIVER", "1"))) == []


def test_quantities_need_a_positive_value_with_three_decimals_at_most() -> None:
    problems = placement_problems(order(("A", "0.0005"), ("B", "-1"), ("C", "NaN")))
    assert [p.split(" must")[0] for p in problems] == [f"quantity of {x}" for x in "ABC"]


def test_an_order_needs_lines() -> None:
    assert placement_problems(order()) == ["an order needs at least one line"]


def test_a_foreign_address_is_not_checked_against_romanian_counties() -> None:
    abroad = replace(ADDRESS, county="Bayern", country="DE")
    assert placement_problems(order(("A", "1"), shipping=abroad)) == []
    assert (
        "shipping county 'Bayern'"
        in placement_problems(order(("A", "1"), shipping=replace(abroad, country="RO")))[0]
    )


def test_priced_lines_must_be_the_ordered_lines() -> None:
    priced = PricedLine(
        sku="A",
        quantity=D(2),
        unit="piece",
        unit_net=D(1),
        line_net=D(2),
        vat_rate=D("0.21"),
        line_vat=D("0.42"),
        line_gross=D("2.42"),
        breakdown=(),
    )
    assert placement_problems(order(("A", "2"), priced=(priced,))) == []
    assert placement_problems(order(("A", "3"), priced=(priced,))) == [
        "the priced lines do not match the ordered lines (SKUs and quantities)"
    ]
