"""The inventory's public contract: the commands it takes and the events it publishes.

Quantities are ``Decimal`` (metres of LED strip; pieces are whole numbers), at most three
decimals, encoded as strings. Every reservation command is keyed ``reservation:<id>``, so the
commands of one reservation never run at the same time; ``StockChanged`` is keyed
``stock:<sku>`` and carries a growing ``version`` so a listener keeps the newest figure.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

import msgspec

from hub.messages import Command, Event


class StockLine(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A quantity of one SKU."""

    sku: str
    quantity: Decimal


class IssueLine(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A quantity of one SKU to ship, from one warehouse or (None) by warehouse priority."""

    sku: str
    quantity: Decimal
    warehouse: str | None = None


class Allocation(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A quantity of one SKU in one warehouse (held, released or issued)."""

    sku: str
    warehouse: str
    quantity: Decimal


class Shortage(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What a reservation asked for one SKU and what it could hold."""

    sku: str
    requested: Decimal
    reserved: Decimal


class LowStockItem(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A SKU below its reorder point."""

    sku: str
    available: Decimal
    reorder_point: Decimal


# --- commands ---------------------------------------------------------------------------------


class ReserveStock(Command, tag="inventory.ReserveStock"):
    """Hold stock for an order's or a quote's lines, by warehouse priority.

    Sending it again for the same reservation holds nothing twice: it only tops the hold up to
    the lines asked for (useful after a shortage, once stock has come in).
    """

    reservation_id: str  # an order id, or "quote:<id>"
    lines: tuple[StockLine, ...]
    expires_at: datetime | None = None  # quote holds: released automatically at this time
    # Another open reservation (a quote's hold) whose stock this one takes over first, in the
    # same warehouses, before reserving more; what it held beyond these lines is released.
    take_over: str | None = None


class ReleaseStock(Command, tag="inventory.ReleaseStock"):
    """Give back everything a reservation still holds (order cancelled, quote rejected)."""

    reservation_id: str
    reason: str


class IssueStock(Command, tag="inventory.IssueStock"):
    """Turn held stock into an issue for a shipment (``lines`` None: everything held)."""

    reservation_id: str
    shipment_id: str
    lines: tuple[IssueLine, ...] | None = None


class ReceiveStock(Command, tag="inventory.ReceiveStock"):
    """Goods came in outside a purchase receipt (a customer return) into one warehouse.

    ``receipt_id`` makes it idempotent: receiving the same id again changes nothing.
    """

    receipt_id: str  # "return:<id>"
    warehouse: str
    lines: tuple[StockLine, ...]
    reason: str


class ExpireReservation(Command, tag="inventory.ExpireReservation"):
    """Release a quote hold whose time ran out (sent by the inventory's own durable timer)."""

    reservation_id: str
    expires_at: datetime


class SendLowStockDigest(Command, tag="inventory.SendLowStockDigest"):
    """Publish the low-stock digest collected so far (sent by the inventory's own timer)."""


# --- events -----------------------------------------------------------------------------------


class StockReserved(Event, tag="inventory.StockReserved"):
    """A reservation now holds ``allocations`` (all it holds); ``complete`` if nothing is short.

    When ``complete`` is false a :class:`StockShortage` for the same reservation follows.
    """

    reservation_id: str
    allocations: tuple[Allocation, ...]
    complete: bool


class StockShortage(Event, tag="inventory.StockShortage"):
    """Part of a reservation could not be held: no stock available for it."""

    reservation_id: str
    shortages: tuple[Shortage, ...]


class StockReleased(Event, tag="inventory.StockReleased"):
    """A reservation gave its held stock back (cancelled, expired); it is closed."""

    reservation_id: str
    lines: tuple[Allocation, ...]
    reason: str


class StockIssued(Event, tag="inventory.StockIssued"):
    """Held stock left the warehouses with a shipment."""

    reservation_id: str
    shipment_id: str
    lines: tuple[Allocation, ...]
    fulfilled: bool  # everything the reservation asked for has now been issued


class StockReceived(Event, tag="inventory.StockReceived"):
    """A :class:`ReceiveStock` was booked: the goods are on hand in ``warehouse``."""

    receipt_id: str
    warehouse: str
    lines: tuple[StockLine, ...]


class StockChanged(Event, tag="inventory.StockChanged"):
    """A SKU's available stock (all warehouses) or its figure published to the shop changed."""

    sku: str
    available: Decimal  # on hand - reserved, summed over the warehouses
    published: Decimal  # available - safety buffer, never negative: what the shop may sell
    version: int  # grows with every change of this SKU: keep the highest


class LowStockDigest(Event, tag="inventory.LowStockDigest"):
    """SKUs that fell below their reorder point since the last digest (at most one per interval)."""

    items: tuple[LowStockItem, ...]


class ReservationRejected(Event, tag="inventory.ReservationRejected"):
    """A reservation command was refused; nothing changed."""

    reservation_id: str
    command: Literal["reserve", "release", "issue", "receive"]
    reason: str
    shipment_id: str | None = None  # the refused shipment, for "issue"


InventoryMessage = (
    ReserveStock
    | ReleaseStock
    | IssueStock
    | ReceiveStock
    | ExpireReservation
    | SendLowStockDigest
    | StockReserved
    | StockShortage
    | StockReleased
    | StockIssued
    | StockReceived
    | StockChanged
    | LowStockDigest
    | ReservationRejected
)
