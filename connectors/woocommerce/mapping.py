"""A shop order as the hub's ``orders.PlaceOrder``, and its totals against the hub's pricing.

Pure: no I/O, no clock. :func:`place_order` reads the order as the webhook (or the poll)
delivered it and returns the ``PlaceOrder`` with the shop's line totals, or the reasons it
cannot be placed (``problems``; ``skus`` names the lines at fault). Rules, decided where the
docs are silent (docs/WOOCOMMERCE.md):

- the order id is ``woo-<shop order id>`` (the orders context dedupes on it), the external
  reference the shop's order *number* (a sequential-numbers plugin may change it);
- a billing company with a CUI in one of ``cui_meta_keys`` is a company, anything else a
  consumer; a registered shop customer is hub customer ``woo-customer-<id>`` (or the id its
  ``customer_id_meta_key`` names), whose tier the pricing engine applies; a guest has none;
- the payment method comes from the gateway id; ``paid`` only for a card gateway with
  ``date_paid`` set (WooCommerce also stamps ``date_paid`` on a cash-on-delivery order moved to
  ``processing``, when nothing was paid yet);
- lines with one SKU are added up (WooCommerce can list a product twice), a line without a
  SKU is a problem; money is compared net of VAT, per line and in total, shipping and fees out;
- the shipping charge (``shipping_total``, net of VAT) goes with the order (``shipping_fee``):
  the hub adds its VAT at the lines' rate and invoices it as a "Transport" service line. Fee
  lines are not carried (none are used by the shop).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import msgspec

from actors.orders.messages import Address, Customer, PaymentMethod, PlaceOrder
from actors.pricing.messages import CartLine, CartPriced
from connectors.woocommerce.counties import county
from connectors.woocommerce.messages import LineMismatch
from connectors.woocommerce.resources import Address as ShopAddress
from connectors.woocommerce.resources import MetaData, Order
from connectors.woocommerce.settings import WooCommerceSettings

TOLERANCE = Decimal("0.01")
NOTE_MAX = 2000


class ShopLine(msgspec.Struct, frozen=True, kw_only=True):
    """One SKU of a shop order: quantity, and its line totals net of VAT and VAT (RON)."""

    sku: str
    quantity: Decimal
    net: Decimal
    vat: Decimal


class Mapped(msgspec.Struct, frozen=True, kw_only=True):
    """What :func:`place_order` made of a shop order."""

    order: PlaceOrder | None  # None when ``problems``
    lines: tuple[ShopLine, ...]
    problems: tuple[str, ...] = ()
    skus: tuple[str, ...] = ()  # lines at fault


class Mismatch(msgspec.Struct, frozen=True, kw_only=True):
    """The shop's totals against the hub's, when they differ by more than 0.01 RON."""

    shop_net: Decimal
    shop_gross: Decimal
    hub_net: Decimal
    hub_gross: Decimal
    lines: tuple[LineMismatch, ...]

    def describe(self) -> str:
        """One line for a person: both totals and the SKUs that differ."""
        text = (
            f"shop totals differ from the hub's pricing: shop net {self.shop_net} / gross "
            f"{self.shop_gross} RON, hub net {self.hub_net} / gross {self.hub_gross} RON"
        )
        if self.lines:
            text += "; lines: " + ", ".join(
                f"{x.sku} (shop {x.shop_net}, hub {x.hub_net})" for x in self.lines
            )
        return text


def order_id(shop_order_id: int) -> str:
    """The hub's order id of a shop order (its idempotency key in the orders context)."""
    return f"woo-{shop_order_id}"


def hub_customer_id(shop_customer_id: int) -> str:
    """The hub's customer id of a registered shop customer, unless its meta names another."""
    return f"woo-customer-{shop_customer_id}"


def payment_method(gateway: str, settings: WooCommerceSettings) -> PaymentMethod | None:
    """The hub's payment method of a WooCommerce gateway id; None when it is not configured."""
    if gateway in settings.card_gateways:
        return "card"
    if gateway in settings.cod_gateways:
        return "cash_on_delivery"
    if gateway in settings.transfer_gateways:
        return "bank_transfer"
    return None


def meta(entries: Iterable[MetaData], keys: Iterable[str]) -> str | None:
    """The first non-blank value among ``keys`` (in that order of preference)."""
    values = {m.key: m.value for m in entries}
    for key in keys:
        value = values.get(key)
        if isinstance(value, (str, int)) and str(value).strip():
            return str(value).strip()
    return None


def person(address: ShopAddress) -> str:
    """First and last name."""
    return " ".join(p for p in (address.first_name.strip(), address.last_name.strip()) if p)


def address(shop: ShopAddress, *, name: str, phone: str | None) -> Address:
    """A hub address (not yet checked: :func:`place_order` validates the whole message)."""
    street = ", ".join(p for p in (shop.address_1.strip(), shop.address_2.strip()) if p)
    country = (shop.country or "RO").strip().upper()
    return Address(
        name=name,
        street=street,
        city=shop.city.strip(),
        county=county(shop.state, country, shop.city),
        postcode=shop.postcode.strip() or None,
        country=country,
        phone=phone,
    )


def customer(order: Order, settings: WooCommerceSettings, customer_id: str | None) -> Customer:
    """A company when the billing company comes with a CUI, else a consumer."""
    billing = order.billing
    cui = meta(order.meta_data, settings.cui_meta_keys)
    email = (billing.email or "").strip() or None
    phone = (billing.phone or "").strip() or None
    company = billing.company.strip()
    if company and cui:
        return Customer(
            kind="company",
            name=company,
            email=email,
            phone=phone,
            customer_id=customer_id,
            cui=cui,
            reg_com=meta(order.meta_data, settings.reg_com_meta_keys),
        )
    name = person(billing) or company or (email or "")
    return Customer(kind="consumer", name=name, email=email, phone=phone, customer_id=customer_id)


def shop_lines(order: Order) -> tuple[tuple[ShopLine, ...], list[str], list[str]]:
    """The order's lines by SKU (added up), and the problems with the lines and their SKUs."""
    by_sku: dict[str, ShopLine] = {}
    problems: list[str] = []
    at_fault: list[str] = []
    for item in order.line_items:
        sku = (item.sku or "").strip()
        if not sku:
            problems.append(f"line {item.name or item.id!r} has no SKU")
            at_fault.append(item.name or str(item.id))
            continue
        quantity = Decimal(str(item.quantity))
        known = by_sku.get(sku)
        if known is not None:
            quantity += known.quantity
        by_sku[sku] = ShopLine(
            sku=sku,
            quantity=quantity,
            net=item.total + (known.net if known else Decimal(0)),
            vat=item.total_tax + (known.vat if known else Decimal(0)),
        )
    if not order.line_items:
        problems.append("the order has no lines")
    return tuple(by_sku.values()), problems, at_fault


def place_order(
    order: Order, settings: WooCommerceSettings, *, customer_id: str | None = None
) -> Mapped:
    """The ``PlaceOrder`` of a shop order, or why there cannot be one."""
    lines, problems, at_fault = shop_lines(order)
    method = payment_method(order.payment_method, settings)
    if method is None:
        problems.append(
            f"payment method {order.payment_method or '(none)'!r} is not one the hub knows "
            "(setting card_gateways, cod_gateways or transfer_gateways)"
        )
    if order.currency and order.currency != "RON":
        problems.append(f"currency {order.currency}: the hub sells in RON")
    if problems:
        return Mapped(order=None, lines=lines, problems=tuple(problems), skus=tuple(at_fault))
    assert method is not None
    buyer = customer(order, settings, customer_id)
    billing = address(order.billing, name=buyer.name, phone=buyer.phone)
    shipping = None
    if order.shipping.address_1.strip():
        to = person(order.shipping) or order.shipping.company.strip() or buyer.name
        phone = (order.shipping.phone or "").strip() or buyer.phone
        shipping = address(order.shipping, name=to, phone=phone)
    note = order.customer_note.strip()[:NOTE_MAX] or None
    draft = PlaceOrder(
        order_id=order_id(order.id),
        source="woocommerce",
        customer=buyer,
        billing=billing,
        shipping=shipping,
        payment_method=method,
        lines=tuple(CartLine(sku=x.sku, quantity=x.quantity) for x in lines),
        external_ref=(order.number or str(order.id))[:64],
        paid=method == "card" and order.date_paid_gmt is not None,
        note=note,
        # WooCommerce's shipping_total is net of VAT (shipping_tax apart), as the hub wants it
        shipping_fee=order.shipping_total if order.shipping_total > 0 else None,
    )
    try:
        checked = checked_order(draft)
    except msgspec.ValidationError as exc:
        return Mapped(order=None, lines=lines, problems=(f"cannot be placed: {exc}",))
    return Mapped(order=checked, lines=lines)


_place_decoder = msgspec.json.Decoder(PlaceOrder)


def checked_order(draft: PlaceOrder) -> PlaceOrder:
    """``draft`` as the orders actor will decode it: field limits enforced (a struct built in
    code skips them, and the orders actor would dead-letter what does not decode)."""
    return _place_decoder.decode(msgspec.json.encode(draft))


def with_note(order: PlaceOrder, line: str) -> PlaceOrder:
    """``order`` with ``line`` added to its note (kept within the note's limit)."""
    note = f"{order.note}\n{line}" if order.note else line
    return msgspec.structs.replace(order, note=note[:NOTE_MAX])


def compare(lines: Iterable[ShopLine], priced: CartPriced) -> Mismatch | None:
    """The shop's line totals against the hub's; None when every figure agrees within 0.01."""
    shop = {x.sku: x for x in lines}
    hub = {x.sku: x for x in priced.lines}
    shop_net = sum((x.net for x in shop.values()), Decimal(0))
    shop_gross = shop_net + sum((x.vat for x in shop.values()), Decimal(0))
    differing: list[LineMismatch] = []
    for sku in dict.fromkeys([*shop, *hub]):
        mine, theirs = shop.get(sku), hub.get(sku)
        shop_line = mine.net if mine else None
        hub_line = theirs.line_net if theirs else None
        if shop_line is None or hub_line is None or abs(shop_line - hub_line) > TOLERANCE:
            differing.append(LineMismatch(sku=sku, shop_net=shop_line, hub_net=hub_line))
    totals = priced.totals
    off = abs(shop_net - totals.net) > TOLERANCE or abs(shop_gross - totals.gross) > TOLERANCE
    if not off and not differing:
        return None
    return Mismatch(
        shop_net=shop_net,
        shop_gross=shop_gross,
        hub_net=totals.net,
        hub_gross=totals.gross,
        lines=tuple(differing),
    )


def shop_customer(meta_data: Iterable[MetaData], role: str, settings: WooCommerceSettings) -> Any:
    """(hub customer id or None, tier or None) of a shop customer, from its meta and role."""
    entries = list(meta_data)
    named = meta(entries, (settings.customer_id_meta_key,))
    tier: int | None = None
    raw = meta(entries, (settings.tier_meta_key,))
    if raw is None and settings.tier_role_prefix and role.startswith(settings.tier_role_prefix):
        raw = role.removeprefix(settings.tier_role_prefix)
    if raw is not None and raw.isdigit() and 0 <= int(raw) <= 3:
        tier = int(raw)
    return named, tier
