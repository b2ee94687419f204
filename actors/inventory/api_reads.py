"""The inventory's read routes: stock, movements, value, and availability (also for B2B)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from actors.inventory import domain, queries
from actors.inventory.settings import current
from actors.inventory.store import MovementRow
from actors.inventory.views import (
    Availability,
    AvailabilityQuery,
    MovementQuery,
    MovementView,
    SkuStockView,
    StockQuery,
    StockRowView,
    StockValue,
    WarehouseStock,
    WarehouseValue,
)
from hub.edge.api import ALL_ROLES, STAFF, Api, ApiError, Call, Page, decode_cursor, encode_cursor

reads = Api("inventory")
CENT = Decimal("0.01")
MAX_AVAILABILITY_SKUS = 100
n = domain.norm


def movement_view(r: MovementRow) -> MovementView:
    return MovementView(
        id=r.id,
        at=r.at,
        kind=r.kind,
        sku=r.sku,
        warehouse=r.warehouse,
        quantity=n(r.quantity),
        reason=r.reason,
        author=r.author,
        reference=r.reference,
    )


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


# --- reads ------------------------------------------------------------------------------------


@reads.get(
    "/api/v1/inventory/stock",
    name="inventory.stock.list",
    roles=STAFF,
    summary="List stock per SKU and warehouse",
    query=StockQuery,
    response=list[StockRowView],
)
async def list_stock(call: Call[None, StockQuery]) -> Page[StockRowView]:
    """By SKU, then warehouse priority; ``sku`` filters by prefix, ``below_reorder`` keeps the
    SKUs whose available stock (all warehouses) is below their reorder point."""
    q = call.query
    after = decode_cursor(q.cursor, str, int) if q.cursor else None
    async with call.db.pool.acquire() as conn:
        rows = await queries.list_stock(
            conn,
            sku_prefix=q.sku,
            warehouse=q.warehouse,
            below_reorder=q.below_reorder,
            default_reorder_point=current().default_reorder_point,
            after=(after[0], after[1]) if after else None,
            limit=q.limit + 1,
        )
    more = len(rows) > q.limit
    rows = rows[: q.limit]
    items = [
        StockRowView(
            sku=r.sku,
            warehouse=r.warehouse,
            on_hand=n(r.on_hand),
            reserved=n(r.reserved),
            available=n(r.on_hand - r.reserved),
        )
        for r in rows
    ]
    return Page(items, encode_cursor(rows[-1].sku, rows[-1].priority) if more else None)


@reads.get(
    "/api/v1/inventory/stock/{sku}",
    name="inventory.stock.get",
    roles=STAFF,
    summary="Show a SKU's stock per warehouse",
    response=SkuStockView,
    entity="sku",
)
async def get_stock(call: Call[None, None]) -> SkuStockView:
    """On hand, reserved and available per warehouse and in total; what the shop sees."""
    settings = current()
    async with call.db.pool.acquire() as conn:
        state, rows = await queries.sku_stock(conn, call.param("sku"))
        names = await queries.warehouse_names(conn)
    on_hand = sum((r.on_hand for r in rows), domain.ZERO)
    reserved = sum((r.reserved for r in rows), domain.ZERO)
    buffer = (
        state.safety_buffer if state.safety_buffer is not None else settings.default_safety_buffer
    )
    point = (
        state.reorder_point if state.reorder_point is not None else settings.default_reorder_point
    )
    return SkuStockView(
        sku=state.sku,
        unit=state.unit,
        on_hand=n(on_hand),
        reserved=n(reserved),
        available=n(on_hand - reserved),
        published=n(domain.published(on_hand - reserved, buffer)),
        safety_buffer=n(buffer),
        reorder_point=n(point) if point is not None else None,
        below_reorder=domain.is_low(on_hand - reserved, point),
        warehouses=[
            WarehouseStock(
                warehouse=r.warehouse,
                name=names[r.warehouse].name,
                on_hand=n(r.on_hand),
                reserved=n(r.reserved),
                available=n(r.on_hand - r.reserved),
            )
            for r in rows
        ],
    )


@reads.get(
    "/api/v1/inventory/movements",
    name="inventory.movements.list",
    roles=STAFF,
    summary="List stock movements",
    query=MovementQuery,
    response=list[MovementView],
)
async def list_movements(call: Call[None, MovementQuery]) -> Page[MovementView]:
    """Newest first; filter by SKU, kind, warehouse, reference and ``since`` (RFC 3339)."""
    q = call.query
    before = decode_cursor(q.cursor, int)[0] if q.cursor else None
    async with call.db.pool.acquire() as conn:
        rows = await queries.list_movements(
            conn,
            sku=q.sku,
            kind=q.kind,
            warehouse=q.warehouse,
            reference=q.reference,
            since=q.since,
            before_id=before,
            limit=q.limit + 1,
        )
    more = len(rows) > q.limit
    rows = rows[: q.limit]
    return Page([movement_view(r) for r in rows], encode_cursor(rows[-1].id) if more else None)


@reads.get(
    "/api/v1/inventory/value",
    name="inventory.value",
    roles=STAFF,
    summary="Stock value per warehouse and in total",
    response=StockValue,
)
async def stock_value(call: Call[None, None]) -> StockValue:
    """On hand times the catalog's cost (RON, net of VAT), rounded to the ban."""
    async with call.db.pool.acquire() as conn:
        rows, missing = await queries.stock_value(conn)
    return StockValue(
        currency="RON",
        total=_money(sum((r.value for r in rows), domain.ZERO)),
        warehouses=[
            WarehouseValue(
                warehouse=r.code,
                name=r.name,
                value=_money(r.value),
                skus_without_cost=r.without_cost,
            )
            for r in rows
        ],
        skus_without_cost=missing,
    )


@reads.get(
    "/api/v1/inventory/availability",
    name="inventory.availability",
    roles=ALL_ROLES,
    summary="What the shop may sell of some SKUs",
    query=AvailabilityQuery,
    response=list[Availability],
)
async def availability(call: Call[None, AvailabilityQuery]) -> list[Availability]:
    """Available stock minus the safety buffer, never negative; no warehouses, no costs.
    ``sku`` is one SKU or several, comma-separated (at most 100); unknown SKUs show 0."""
    skus = list(dict.fromkeys(s.strip() for s in call.query.sku.split(",") if s.strip()))
    if not skus or len(skus) > MAX_AVAILABILITY_SKUS:
        raise ApiError(400, "validation_error", f"give 1 to {MAX_AVAILABILITY_SKUS} SKUs")
    default = current().default_safety_buffer
    async with call.db.pool.acquire() as conn:
        found = await queries.availability(conn, skus)
    out = []
    for sku in skus:
        row = found[sku]
        buffer = row.safety_buffer if row.safety_buffer is not None else default
        published = n(domain.published(row.available, buffer))
        out.append(Availability(sku=sku, available=published, in_stock=published > 0))
    return out
