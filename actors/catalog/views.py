"""What the catalog's API takes and answers (msgspec types; the OpenAPI document is built from
them). A B2B customer's view of a product has no cost and no margin."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, UnsetType

from actors.catalog.categories import Category
from actors.catalog.messages import (
    Attributes,
    AttributesInput,
    Kind,
    ProductInput,
    RowError,
    Status,
    Unit,
)
from actors.catalog.store import CategoryRow, ImportBatch, StoredProduct
from hub.edge.api import ApiModel, PageQuery, Sorting

Sku = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]

ProductSort = Literal["sku", "-sku", "name", "-name"]
PRODUCT_SORT = Sorting(ProductSort, tiebreak="sku", sku="sku", name="name")  # both indexed


class ProductView(ApiModel):
    """A product or family; ``cost`` and ``margin`` are shown to staff only."""

    sku: str
    version: int
    kind: Kind
    parent_sku: str | None
    name: str
    ean: str | None
    category: str
    unit: Unit
    status: Status
    attributes: Attributes
    created_at: datetime
    updated_at: datetime
    cost: Decimal | UnsetType | None = UNSET
    margin: Decimal | UnsetType | None = UNSET


def product_view(p: StoredProduct, *, staff: bool) -> ProductView:
    """``p`` as the caller may see it."""
    return ProductView(
        sku=p.sku,
        version=p.version,
        kind=p.kind,
        parent_sku=p.parent_sku,
        name=p.name,
        ean=p.ean,
        category=p.category,
        unit=p.unit,
        status=p.status,
        attributes=p.attributes,
        created_at=p.created_at,
        updated_at=p.updated_at,
        cost=p.cost if staff else UNSET,
        margin=p.margin if staff else UNSET,
    )


class ProductQuery(PageQuery):
    """Filters of the product list; ``q`` is a prefix of the SKU or of the name."""

    category: Code | None = None
    status: Status | None = None
    q: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] | None = None
    sort: ProductSort = "sku"


class NewProduct(ApiModel, kw_only=True):
    """A product (or, with ``kind: "family"``, a family: no cost, margin or EAN) to create."""

    sku: Sku
    kind: Kind = "product"
    parent_sku: Sku | None = None
    name: Name
    ean: Annotated[str, msgspec.Meta(max_length=20)] | None = None
    category: Code
    unit: Unit = "piece"
    cost: Decimal | None = None
    margin: Decimal | None = None
    status: Status = "draft"
    attributes: Attributes = Attributes()

    def as_input(self) -> ProductInput:
        """The change that creates it."""
        fields = msgspec.structs.asdict(self)
        fields["attributes"] = AttributesInput(**msgspec.structs.asdict(self.attributes))
        return ProductInput(**fields)


class ProductPatch(ApiModel):
    """The fields to change (left out: kept; ``null``: cleared) and the ``version`` they apply
    to; attributes are merged one by one."""

    version: Annotated[int, msgspec.Meta(ge=1)]
    parent_sku: Sku | UnsetType | None = UNSET
    name: Name | UnsetType = UNSET
    ean: Annotated[str, msgspec.Meta(max_length=20)] | UnsetType | None = UNSET
    category: Code | UnsetType = UNSET
    unit: Unit | UnsetType = UNSET
    cost: Decimal | UnsetType | None = UNSET
    margin: Decimal | UnsetType | None = UNSET
    status: Status | UnsetType = UNSET
    attributes: AttributesInput | UnsetType = UNSET

    def as_input(self, sku: str) -> ProductInput:
        """The change it asks for."""
        return ProductInput(sku=sku, **msgspec.structs.asdict(self))


class CategoryView(ApiModel):
    """A category, with its products counted: its own, and with all its subcategories'."""

    code: str
    name: str
    parent: str | None
    products: int
    products_with_subcategories: int


def category_view(c: CategoryRow, total: int) -> CategoryView:
    """``c`` with its subtree total."""
    return CategoryView(
        code=c.code,
        name=c.name,
        parent=c.parent,
        products=c.products,
        products_with_subcategories=total,
    )


class NewCategory(ApiModel):
    """A category to create, under ``parent`` (a top category when null)."""

    code: Code
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    parent: Code | None = None

    def as_category(self) -> Category:
        """The domain's category."""
        return Category(
            code=self.code.strip(), name=" ".join(self.name.split()), parent=self.parent
        )


class TransferQuery(ApiModel):
    """``format``: ``csv`` or ``json`` (NDJSON: one product object per line)."""

    format: Literal["csv", "json"] = "csv"


class ImportQuery(TransferQuery):
    """How to read an import: its format, and rows per all-or-nothing batch."""

    batch_size: Annotated[int, msgspec.Meta(ge=1, le=10_000)] | None = None


class ExportQuery(TransferQuery):
    """What to export: every product and family unless filtered."""

    status: Status | None = None
    category: Code | None = None


class BatchReport(ApiModel):
    """One batch of an import: applied (all its rows) or rejected (none of them)."""

    batch_id: str
    first_row: int
    last_row: int
    rows: int
    status: Literal["applied", "rejected"]
    created: int
    updated: int
    unchanged: int
    errors: int


class ImportReport(ApiModel):
    """What an import did; ``errors`` lists the first ``import_max_errors`` row errors."""

    import_id: str
    format: str
    rows: int
    created: int
    updated: int
    unchanged: int
    rejected_rows: int
    applied_batches: int
    rejected_batches: int
    batches: list[BatchReport]
    errors: list[RowError]
    errors_total: int


class BatchQuery(PageQuery):
    """Filter the recorded import batches by import."""

    import_id: Annotated[str, msgspec.Meta(max_length=64)] | None = None


BatchView = ImportBatch
