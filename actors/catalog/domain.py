"""The catalog's rules, pure (no I/O, no clock): what a valid product is, what a change changed,
and whether a batch of changes may be applied (all of it, or none).

A product is a sellable SKU (``kind="product"``) or a family (``kind="family"``): a family has
no price, no EAN, no parent; its variants are products whose ``parent_sku`` names it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from decimal import Decimal
from typing import Literal

import msgspec
from msgspec import UNSET

from actors.catalog.messages import (
    Attributes,
    AttributesInput,
    Kind,
    ProductInput,
    ProductSnapshot,
    RowError,
    Status,
    Unit,
)
from actors.catalog.values import (
    MAX_COST,
    MAX_MARGIN,
    NAME_MAX,
    PLACES,
    Problem,
    amount_problem,
    attribute_problems,
    category_code_problem,
    clean_text,
    ean_problem,
    normalize_sku,
    sku_problem,
    text_problem,
)

# The fields a change may touch, in the order ``changed`` lists them.
FIELDS = (
    "kind",
    "parent_sku",
    "name",
    "ean",
    "category",
    "unit",
    "cost",
    "margin",
    "status",
    "attributes",
)
SNAPSHOT_FIELDS = tuple(f for f in FIELDS if f != "kind")

Mode = Literal["create", "update", "upsert"]


class Product(msgspec.Struct, frozen=True, kw_only=True):
    """A product (or family) as the catalog keeps it; ``version`` 0 means not stored yet."""

    sku: str
    version: int = 0
    kind: Kind = "product"
    parent_sku: str | None = None
    name: str
    ean: str | None = None
    category: str
    unit: Unit = "piece"
    cost: Decimal | None = None
    margin: Decimal | None = None
    status: Status = "draft"
    attributes: Attributes = Attributes()


class Change(msgspec.Struct, frozen=True, kw_only=True):
    """A product before (None: new) and after a change, and the fields it touched."""

    before: Product | None
    after: Product
    changed: tuple[str, ...]


class Decision(msgspec.Struct, frozen=True, kw_only=True):
    """What a batch does: nothing when ``errors``; else ``changes`` (``unchanged`` rows were
    already as asked)."""

    errors: tuple[RowError, ...] = ()
    changes: tuple[Change, ...] = ()
    unchanged: int = 0


class Row(msgspec.Struct, frozen=True):
    """One requested change and its row number (for the error report)."""

    number: int
    change: ProductInput


# --- a whole product ----------------------------------------------------------------------------


def product_problems(p: Product) -> list[Problem]:
    """What is wrong with ``p`` on its own (references to others are checked by :func:`decide`)."""
    out: list[Problem] = []
    if (why := sku_problem(p.sku)) is not None:
        out.append(Problem("sku", why))
    if (why := text_problem(p.name, max_length=NAME_MAX)) is not None:
        out.append(Problem("name", why))
    if p.ean is not None and (why := ean_problem(p.ean)) is not None:
        out.append(Problem("ean", why))
    if (why := category_code_problem(p.category)) is not None:
        out.append(Problem("category", why))
    if p.kind == "family":
        for name in ("cost", "margin", "ean", "parent_sku"):
            if getattr(p, name) is not None:
                out.append(Problem(name, "a family has none (its variants do)"))
    else:
        for name, below, inclusive in (("cost", MAX_COST, True), ("margin", MAX_MARGIN, False)):
            value: Decimal | None = getattr(p, name)
            if value is None:
                out.append(Problem(name, "is required"))
            elif (why := amount_problem(value, below=below, inclusive=inclusive)) is not None:
                out.append(Problem(name, why))
        if p.parent_sku == p.sku:
            out.append(Problem("parent_sku", "a product cannot be its own family"))
    out.extend(attribute_problems(p.attributes, p.unit))
    return out


def _normal_attributes(a: Attributes) -> Attributes:
    return msgspec.structs.replace(
        a,
        ip_rating=a.ip_rating.strip().upper() if a.ip_rating is not None else None,
        colour=clean_text(a.colour) or None if a.colour is not None else None,
    )


def _merge_attributes(current: Attributes, given: AttributesInput) -> Attributes:
    values = {
        f: getattr(given, f)
        for f in AttributesInput.__struct_fields__
        if getattr(given, f) is not UNSET
    }
    return _normal_attributes(msgspec.structs.replace(current, **values))


def _quantized(value: Decimal | None) -> Decimal | None:
    if value is None or not value.is_finite() or abs(value) > MAX_COST:
        return value
    return value.quantize(PLACES) if value == value.quantize(PLACES) else value


def merge(current: Product | None, change: ProductInput) -> tuple[Product | None, list[Problem]]:
    """``current`` with ``change`` applied (a new product when None), and what is wrong with it."""
    given = {
        f: getattr(change, f)
        for f in ProductInput.__struct_fields__
        if f not in ("sku", "version", "attributes") and getattr(change, f) is not UNSET
    }
    problems: list[Problem] = []
    if current is None:
        problems += [Problem(f, "is required") for f in ("name", "category") if f not in given]
        if problems:
            return None, problems
        base = Product(sku=normalize_sku(change.sku), name="", category="")
    else:
        base = current
        if "kind" in given and given["kind"] != current.kind:
            problems.append(Problem("kind", f"cannot change (it is a {current.kind})"))
            del given["kind"]  # judge the rest as the kind it is
    if isinstance(given.get("name"), str):
        given["name"] = clean_text(given["name"])
    if isinstance(given.get("ean"), str):
        given["ean"] = given["ean"].replace(" ", "") or None
    if isinstance(given.get("parent_sku"), str):
        given["parent_sku"] = normalize_sku(given["parent_sku"]) or None
    for name in ("cost", "margin"):
        if name in given:
            given[name] = _quantized(given[name])
    merged = msgspec.structs.replace(base, **given)
    if change.attributes is not UNSET:
        merged = msgspec.structs.replace(
            merged, attributes=_merge_attributes(merged.attributes, change.attributes)
        )
    problems += product_problems(merged)
    return merged, problems


def diff(old: Product, new: Product) -> tuple[str, ...]:
    """The fields whose value differs (``12.5`` and ``12.50`` are the same cost)."""
    return tuple(f for f in FIELDS if getattr(old, f) != getattr(new, f))


def snapshot(p: Product, changed: tuple[str, ...]) -> ProductSnapshot:
    """The public snapshot of a (sellable) product."""
    if p.kind != "product" or p.cost is None or p.margin is None:
        raise ValueError(f"{p.sku} is a family: families have no snapshot")
    return ProductSnapshot(
        sku=p.sku,
        version=p.version,
        name=p.name,
        ean=p.ean,
        category=p.category,
        unit=p.unit,
        cost=p.cost,
        margin=p.margin,
        status=p.status,
        attributes=p.attributes,
        changed=tuple(f for f in changed if f in SNAPSHOT_FIELDS),
        parent_sku=p.parent_sku,
    )


def snapshots(changes: Sequence[Change]) -> tuple[ProductSnapshot, ...]:
    """The snapshots to publish for ``changes`` (families have none)."""
    return tuple(snapshot(c.after, c.changed) for c in changes if c.after.kind == "product")


# --- a batch ------------------------------------------------------------------------------------


def decide(
    rows: Sequence[Row],
    *,
    current: Mapping[str, Product],
    categories: Collection[str],
    ean_owners: Mapping[str, str],
    mode: Mode = "upsert",
) -> Decision:
    """Apply ``rows`` to ``current`` (which holds every stored product the rows name, and the
    families they point to); all of them, or none when any row is wrong.

    ``ean_owners`` maps the stored products' EANs among those the rows use to their SKUs.
    """
    errors: list[RowError] = []
    finals: dict[str, tuple[Row, Product | None, Product]] = {}
    first_row: dict[str, int] = {}

    def fail(
        row: Row, sku: str | None, field: str | None, message: str, code: str = "invalid"
    ) -> None:
        errors.append(RowError(row=row.number, field=field, message=message, sku=sku, code=code))

    for row in rows:
        sku = normalize_sku(row.change.sku)
        if (why := sku_problem(sku)) is not None:
            fail(row, sku or None, "sku", why)
            continue
        if sku in first_row:
            message = f"appears twice in this batch (first on row {first_row[sku]})"
            fail(row, sku, "sku", message, "duplicate")
            continue
        first_row[sku] = row.number
        before = current.get(sku)
        if before is None and mode == "update":
            fail(row, sku, "sku", f"no product {sku}", "not_found")
            continue
        if before is not None and mode == "create":
            fail(row, sku, "sku", f"product {sku} already exists", "exists")
            continue
        version = row.change.version
        if before is not None and version is not UNSET and version != before.version:
            message = f"{sku} is at version {before.version}, not {version}"
            fail(row, sku, "version", message, "version_conflict")
            continue
        after, problems = merge(before, row.change)
        for p in problems:
            fail(row, sku, p.field, p.message)
        if after is None or problems:
            continue
        if after.category not in categories:
            fail(row, sku, "category", f"no category {after.category!r}")
            continue
        finals[sku] = (row, before, after)

    claims: dict[str, list[str]] = defaultdict(list)
    for sku, (row, before, after) in finals.items():
        if after.ean is not None:
            claims[after.ean].append(sku)
        if after.parent_sku is None or (before and before.parent_sku == after.parent_sku):
            continue
        parent = finals[after.parent_sku][2] if after.parent_sku in finals else None
        parent = parent or current.get(after.parent_sku)
        if parent is None:
            fail(row, sku, "parent_sku", f"no family {after.parent_sku}")
        elif parent.kind != "family":
            fail(row, sku, "parent_sku", f"{after.parent_sku} is a product, not a family")
    for ean, skus in claims.items():
        owner = ean_owners.get(ean)
        holders = [*skus, owner] if owner is not None and owner not in finals else skus
        if len(holders) > 1:
            for sku in skus:
                others = ", ".join(s for s in holders if s != sku)
                fail(finals[sku][0], sku, "ean", f"EAN {ean} is already used by {others}")
    if errors:
        return Decision(errors=tuple(sorted(errors, key=lambda e: e.row)))

    changes: list[Change] = []
    for _, before, after in finals.values():
        if before is None:
            changes.append(Change(before=None, after=_versioned(after, 1), changed=FIELDS))
        elif changed := diff(before, after):
            changes.append(
                Change(before=before, after=_versioned(after, before.version + 1), changed=changed)
            )
    return Decision(changes=tuple(changes), unchanged=len(finals) - len(changes))


def _versioned(p: Product, version: int) -> Product:
    return msgspec.structs.replace(p, version=version)
