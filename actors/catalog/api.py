"""The catalog's routes under ``/api/v1/catalog``: products, categories, import and export.

Reads admit every staff role, ``service`` and ``b2b_customer``; a B2B customer sees active
products only, without cost or margin. Products are written by admin and sales, imported by
admin. Every change publishes ``ProductsChanged`` in the transaction that makes it.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from actors.catalog import changes, exporting, importing, store
from actors.catalog.categories import category_problems, subtree_totals
from actors.catalog.domain import Decision, Row
from actors.catalog.settings import current as current_settings
from actors.catalog.values import normalize_sku
from actors.catalog.views import (
    PRODUCT_SORT,
    BatchQuery,
    BatchView,
    CategoryView,
    ExportQuery,
    ImportQuery,
    ImportReport,
    NewCategory,
    NewProduct,
    ProductPatch,
    ProductQuery,
    ProductView,
    category_view,
    product_view,
)
from hub.auth import Role
from hub.edge.api import (
    STAFF,
    Api,
    ApiError,
    Call,
    FieldError,
    Page,
    decode_cursor,
    encode_cursor,
)

api = Api("catalog")

READERS = {*STAFF, Role.service, Role.b2b_customer}
WRITERS = {Role.admin, Role.sales}
IMPORTERS = {Role.admin}


def _staff(call: Call[Any, Any]) -> bool:
    return call.customer_scope is None


async def visible_product(call: Call[Any, Any]) -> str | None:
    """The owner check of a product route: a B2B customer "owns" the active products (the
    catalog is shared); a draft or discontinued one is not found."""
    async with call.db.pool.acquire() as conn:
        status = await store.status_of(conn, normalize_sku(call.param("sku")))
    principal = call.principal
    return principal.customer_id if status == "active" and principal is not None else None


def _refuse(decision: Decision) -> None:
    """Raise the HTTP error of a refused single-product change."""
    errors = decision.errors
    conflict = next((e for e in errors if e.code in ("version_conflict", "exists")), None)
    if conflict is not None:
        raise ApiError(409, conflict.code, conflict.message)
    details = [FieldError(field=e.field or "product", message=e.message) for e in errors]
    summary = "; ".join(f"{d.field}: {d.message}" for d in details)
    raise ApiError(422, "invalid_product", f"the product is not valid: {summary}", details=details)


# --- products -----------------------------------------------------------------------------------


@api.get(
    "/api/v1/catalog/products",
    name="catalog.products.list",
    roles=READERS,
    summary="List products",
    query=ProductQuery,
    response=list[ProductView],
)
async def list_products(call: Call[None, ProductQuery]) -> Page[ProductView]:
    """Filter by category, status and a SKU or name prefix (`q`); sort by sku or name. A B2B
    customer sees active products only, without cost and margin."""
    q = call.query
    statuses = [q.status] if q.status is not None else None
    if not _staff(call):
        statuses = [s for s in statuses or ["active"] if s == "active"]
        if not statuses:
            return Page([], None)
    after = decode_cursor(q.cursor, str, str) if q.cursor else None
    async with call.db.pool.acquire() as conn:
        rows = await store.list_products(
            conn,
            order_by=PRODUCT_SORT.order_by(q.sort),
            after=PRODUCT_SORT.after(q.sort, 5, 6) if after else None,
            after_args=after or (),
            category=q.category,
            status=statuses,
            prefix=q.q,
            limit=q.limit + 1,
        )
    more = len(rows) > q.limit
    rows = rows[: q.limit]
    key = "name" if q.sort.endswith("name") else "sku"
    cursor = encode_cursor(getattr(rows[-1], key), rows[-1].sku) if more else None
    return Page([product_view(r, staff=_staff(call)) for r in rows], cursor)


@api.get(
    "/api/v1/catalog/products/{sku}",
    name="catalog.products.get",
    roles=READERS,
    owner=visible_product,
    summary="Show a product",
    response=ProductView,
    entity="product",
)
async def get_product(call: Call[None, None]) -> ProductView:
    """One product or family (B2B: an active one, without cost and margin)."""
    async with call.db.pool.acquire() as conn:
        product = await store.get(conn, normalize_sku(call.param("sku")))
    return product_view(product, staff=_staff(call))


@api.post(
    "/api/v1/catalog/products",
    name="catalog.products.create",
    roles=WRITERS,
    summary="Create a product or family",
    body=NewProduct,
    response=ProductView,
    status=201,
    entity="product",
)
async def create_product(call: Call[NewProduct, None]) -> ProductView:
    """A new SKU at version 1; 409 `exists` when the SKU is taken, 422 `invalid_product` with a
    detail per field when a rule is broken."""
    sku = normalize_sku(call.body.sku)
    async with call.transaction() as conn:
        call.audit(entity_id=sku)
        decision = await changes.apply(conn, [Row(1, call.body.as_input())], mode="create")
        if decision.errors:
            _refuse(decision)
        [change] = decision.changes
        call.audit(after=changes.audit_pair(change)[1])
        if (event := changes.event(decision)) is not None:
            call.emit(event, key=f"sku:{sku}")
        product = await store.get(conn, sku)
    return product_view(product, staff=True)


@api.patch(
    "/api/v1/catalog/products/{sku}",
    name="catalog.products.update",
    roles=WRITERS,
    summary="Change a product",
    body=ProductPatch,
    response=ProductView,
    entity="product",
)
async def update_product(call: Call[ProductPatch, None]) -> ProductView:
    """Change the fields given, if the product is still at `version` (else 409
    `version_conflict`, naming the current version). A change that changes nothing keeps the
    version and publishes nothing."""
    sku = normalize_sku(call.param("sku"))
    async with call.transaction() as conn:
        call.audit(entity_id=sku)
        await store.get(conn, sku)  # 404 before anything else
        decision = await changes.apply(conn, [Row(1, call.body.as_input(sku))], mode="update")
        if decision.errors:
            _refuse(decision)
        for change in decision.changes:
            before, after = changes.audit_pair(change)
            call.audit(before=before, after=after)
        if (event := changes.event(decision)) is not None:
            call.emit(event, key=f"sku:{sku}")
        product = await store.get(conn, sku)
    return product_view(product, staff=True)


# --- categories ---------------------------------------------------------------------------------


@api.get(
    "/api/v1/catalog/categories",
    name="catalog.categories.list",
    roles=READERS,
    summary="List categories",
    response=list[CategoryView],
)
async def list_categories(call: Call[None, None]) -> list[CategoryView]:
    """The whole tree (each category names its parent), by code, with product counts (B2B:
    active products only)."""
    async with call.db.pool.acquire() as conn:
        rows = await store.list_categories(conn, status=None if _staff(call) else ["active"])
    totals = subtree_totals({r.code: r.parent for r in rows}, {r.code: r.products for r in rows})
    return [category_view(r, totals[r.code]) for r in rows]


@api.post(
    "/api/v1/catalog/categories",
    name="catalog.categories.create",
    roles=WRITERS,
    summary="Create a category",
    body=NewCategory,
    response=CategoryView,
    status=201,
    entity="category",
)
async def create_category(call: Call[NewCategory, None]) -> CategoryView:
    """A category under an existing parent (or a top one); its code is permanent."""
    category = call.body.as_category()
    async with call.transaction() as conn:
        call.audit(entity_id=category.code)
        await store.lock_categories(conn)
        problems = category_problems(category, await store.category_codes(conn))
        if problems:
            details = [FieldError(field=p.field, message=p.message) for p in problems]
            summary = "; ".join(f"{p.field}: {p.message}" for p in problems)
            raise ApiError(
                422, "invalid_category", f"the category is not valid: {summary}", details=details
            )
        await store.add_category(conn, category)
        call.audit(after={"code": category.code, "name": category.name, "parent": category.parent})
    return CategoryView(
        code=category.code,
        name=category.name,
        parent=category.parent,
        products=0,
        products_with_subcategories=0,
    )


# --- import and export --------------------------------------------------------------------------


@api.post(
    "/api/v1/catalog/import",
    name="catalog.products.bulk_import",
    roles=IMPORTERS,
    summary="Import products from CSV or NDJSON",
    query=ImportQuery,
    request_types=("text/csv", "application/x-ndjson"),
    response=ImportReport,
    entity="catalog_import",
)
async def import_products(call: Call[None, ImportQuery]) -> ImportReport:
    """Streamed: the body is read line by line (`text/csv`, or `application/x-ndjson` with one
    product object per line), up to `import_max_bytes`. Rows are cut into batches of
    `batch_size`; a batch with any bad row is not applied and its errors are reported; the
    other batches are. Re-importing the same rows changes nothing and publishes nothing."""
    return await importing.run_import(call, current_settings())


@api.get(
    "/api/v1/catalog/export",
    name="catalog.products.bulk_export",
    roles=READERS,
    summary="Export products as CSV or NDJSON",
    query=ExportQuery,
    raw=True,
    response_types=("text/csv", "application/x-ndjson"),
)
async def export_products(call: Call[None, ExportQuery]) -> web.StreamResponse:
    """Streamed in SKU order, in the import's format (an export imports back unchanged). B2B:
    active products only, without cost and margin."""
    return await exporting.run_export(call, staff=_staff(call))


@api.get(
    "/api/v1/catalog/imports",
    name="catalog.imports.list",
    roles=IMPORTERS,
    summary="List import batches",
    query=BatchQuery,
    response=list[BatchView],
)
async def list_batches(call: Call[None, BatchQuery]) -> Page[BatchView]:
    """Newest first, with each batch's row errors; filter by `import_id`."""
    q = call.query
    before = decode_cursor(q.cursor, str)[0] if q.cursor else None
    async with call.db.pool.acquire() as conn:
        rows = await store.list_batches(
            conn, import_id=q.import_id, before=before, limit=q.limit + 1
        )
    more = len(rows) > q.limit
    rows = rows[: q.limit]
    return Page(rows, encode_cursor(rows[-1].id) if more else None)
