"""Import and export rows, pure: CSV headers and cells, NDJSON lines, Romanian number formats.

A CSV file has a header naming its columns (the export's names, or common Romanian ones:
"Cod", "Denumire", "Preț achiziție", ...); its delimiter is whichever of ``,``, ``;`` or tab
the header uses. A column left out keeps the product's value; an empty cell clears an optional
value (EAN, family, cost of a family, an attribute) and keeps a required one (name, category,
unit, status, kind). Numbers take a decimal point or a Romanian decimal comma (``12,50``);
a margin may be written as a percentage (``35%``).
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec

from actors.catalog.domain import Product
from actors.catalog.messages import AttributesInput, ProductInput, RowError
from actors.catalog.values import Problem, normalize_sku

ATTRIBUTES = tuple(AttributesInput.__struct_fields__)
COLUMNS = (
    "sku",
    "version",
    "kind",
    "parent_sku",
    "name",
    "ean",
    "category",
    "unit",
    "cost",
    "margin",
    "status",
    *ATTRIBUTES,
    "updated_at",
)
IGNORED = frozenset({"updated_at", "created_at"})  # written by the export, read-only
ALIASES = {
    "cod": "sku",
    "cod_produs": "sku",
    "versiune": "version",
    "tip": "kind",
    "familie": "parent_sku",
    "parinte": "parent_sku",
    "denumire": "name",
    "nume": "name",
    "cod_ean": "ean",
    "categorie": "category",
    "um": "unit",
    "unitate": "unit",
    "unitate_de_masura": "unit",
    "pret_achizitie": "cost",
    "cost_achizitie": "cost",
    "cost_ron": "cost",
    "adaos": "margin",
    "marja": "margin",
    "stare": "status",
    "putere": "power_w",
    "putere_w": "power_w",
    "putere_w_m": "power_w",
    "cct": "cct_k",
    "temperatura_culoare": "cct_k",
    "ip": "ip_rating",
    "grad_protectie": "ip_rating",
    "tensiune": "voltage_v",
    "tensiune_v": "voltage_v",
    "voltage": "voltage_v",
    "lumeni": "lumens",
    "flux_luminos": "lumens",
    "culoare": "colour",
    "color": "colour",
}
UNITS = {
    "piece": ("piece", "pcs", "pc", "buc", "bucata", "bucati"),
    "metre": ("metre", "meter", "m", "ml", "metru", "metri"),
}
STATUSES = {
    "draft": ("draft", "ciorna"),
    "active": ("active", "activ"),
    "discontinued": ("discontinued", "retras", "inactiv"),
}
KINDS = {"product": ("product", "produs"), "family": ("family", "familie")}
_NUMBER = re.compile(r"-?\d+(\.\d+)?")
_UNKNOWN = re.compile(r"unknown field `([^`]+)`")
_INT_SUFFIX = {"cct_k": "k", "voltage_v": "v", "lumens": "lm"}
_decode_any = msgspec.json.Decoder(float_hook=Decimal)  # 0.1 stays exactly 0.1
_encoder = msgspec.json.Encoder(decimal_format="string")


class RowProblem(Exception):
    """A cell that cannot be read."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


# --- values -------------------------------------------------------------------------------------


def plain(text: str) -> str:
    """Lower case, no diacritics, words joined by ``_`` ("Preț achiziție" → pret_achizitie)."""
    folded = unicodedata.normalize("NFKD", text.strip().lower())
    ascii_only = "".join(c for c in folded if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]+", "_", ascii_only).strip("_")


def parse_decimal(text: str) -> Decimal:
    """``12.50``, ``12,50`` (Romanian), ``1.234,50`` or ``1,234.50``; anything else is refused."""
    s = text.strip().replace(" ", "").replace("\u00a0", "")
    if "," in s and "." in s:
        if s.rfind(",") > s.rfind("."):
            s = s.replace(".", "").replace(",", ".")
        else:
            s = s.replace(",", "")
    elif s.count(",") == 1:
        s = s.replace(",", ".")
    if not _NUMBER.fullmatch(s):
        raise ValueError(f"{text!r} is not a number")
    try:
        return Decimal(s)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a number") from None


_SPELLINGS = {
    field: {spelling: value for value, spellings in choices.items() for spelling in spellings}
    for field, choices in (("unit", UNITS), ("status", STATUSES), ("kind", KINDS))
}


def _choice(field: str, text: str, choices: Mapping[str, tuple[str, ...]]) -> str:
    spellings = _SPELLINGS[field]
    value = spellings.get(text.strip().lower()) or spellings.get(plain(text))
    if value is None:
        raise RowProblem(field, f"{text!r} is not one of {', '.join(choices)}")
    return value


def _cell(field: str, text: str) -> Any:
    """The value of a non-empty cell of column ``field``."""
    try:
        if field in ("cost", "power_w"):
            return parse_decimal(text)
        if field == "margin":
            if text.rstrip().endswith("%"):
                return parse_decimal(text.rstrip()[:-1]) / 100
            return parse_decimal(text)
        if field in ("version", "cct_k", "voltage_v", "lumens", "cri"):
            digits = text.strip().lower().removesuffix(_INT_SUFFIX.get(field, "\0")).strip()
            if not (digits.isascii() and digits.isdigit() and len(digits) <= 9):
                raise ValueError(f"{text!r} is not a whole number")
            return int(digits)
    except ValueError as exc:
        raise RowProblem(field, str(exc)) from None
    if field == "unit":
        return _choice(field, text, UNITS)
    if field == "status":
        return _choice(field, text, STATUSES)
    if field == "kind":
        return _choice(field, text, KINDS)
    if field in ("sku", "parent_sku"):
        return normalize_sku(text)
    return text.strip()


# --- CSV ----------------------------------------------------------------------------------------


def sniff_delimiter(header: str) -> str:
    """The delimiter a header line uses: ``;`` (Romanian Excel), tab or ``,``."""
    counts = {d: header.count(d) for d in (";", "\t", ",")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def split_line(line: str, delimiter: str) -> list[str]:
    """The cells of one CSV record (which may span several lines inside quotes)."""
    return next(csv.reader([line], delimiter=delimiter, strict=True), [])


def quotes_open(text: str) -> bool:
    """True while a CSV record is inside a quoted cell (its line break is data, not an end)."""
    return text.count('"') % 2 == 1


def map_header(cells: Sequence[str]) -> tuple[list[str], list[Problem]]:
    """The canonical column of each header cell, and what is wrong with the header."""
    columns: list[str] = []
    problems: list[Problem] = []
    for cell in cells:
        name = plain(cell.lstrip("\ufeff"))
        name = ALIASES.get(name, name)
        if name not in COLUMNS and name not in IGNORED:
            problems.append(Problem(cell, f"unknown column {cell!r}; known: {', '.join(COLUMNS)}"))
        elif name in columns:
            problems.append(Problem(cell, f"column {name!r} appears twice"))
        columns.append(name)
    if "sku" not in columns:
        problems.append(Problem("sku", "the header has no sku column"))
    return columns, problems


def csv_row(
    columns: Sequence[str], cells: Sequence[str], number: int
) -> ProductInput | list[RowError]:
    """The change one CSV record asks for, or what is wrong with it."""
    if len(cells) != len(columns):
        message = f"has {len(cells)} cells, the header {len(columns)}"
        return [RowError(row=number, field=None, message=message)]
    values: dict[str, Any] = {}
    attributes: dict[str, Any] = {}
    errors: list[RowError] = []
    sku_cell = cells[columns.index("sku")].strip().upper()
    for field, text in zip(columns, cells, strict=True):
        if field in IGNORED:
            continue
        into = attributes if field in ATTRIBUTES else values
        if not text.strip():
            if field in ("parent_sku", "ean", "cost", "margin", *ATTRIBUTES):
                into[field] = None
            continue
        try:
            into[field] = _cell(field, text)
        except RowProblem as exc:
            errors.append(
                RowError(row=number, field=exc.field, message=exc.message, sku=sku_cell or None)
            )
    if "sku" not in values:
        errors.append(RowError(row=number, field="sku", message="is required"))
    if errors:
        return errors
    if attributes:
        values["attributes"] = AttributesInput(**attributes)
    return ProductInput(**values)


def csv_cells(p: Product, updated_at: str = "") -> list[str]:
    """A product as the export's CSV cells, in :data:`COLUMNS` order."""
    a = p.attributes

    def text(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, Decimal):
            return format(value, "f")
        return str(value)

    fixed = [
        p.sku,
        p.version,
        p.kind,
        p.parent_sku,
        p.name,
        p.ean,
        p.category,
        p.unit,
        p.cost,
        p.margin,
        p.status,
    ]
    return [text(v) for v in (*fixed, *(getattr(a, f) for f in ATTRIBUTES))] + [updated_at]


def csv_text(rows: Iterable[Sequence[str]]) -> str:
    """Rows as CSV text (``\\r\\n`` line ends, quoted only where needed)."""
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue()


# --- NDJSON -------------------------------------------------------------------------------------


def json_row(line: bytes, number: int) -> ProductInput | list[RowError]:
    """The change one NDJSON line asks for (an object like the export's), or what is wrong."""
    try:
        raw = _decode_any.decode(line)
    except msgspec.DecodeError as exc:
        return [RowError(row=number, field=None, message=f"not valid JSON: {exc}")]
    if not isinstance(raw, dict):
        message = "must be a JSON object (send NDJSON: one product object per line)"
        return [RowError(row=number, field=None, message=message)]
    sku = raw.get("sku") if isinstance(raw.get("sku"), str) else None
    for key in IGNORED:
        raw.pop(key, None)
    try:
        for key in ("cost", "margin"):
            if isinstance(raw.get(key), str):
                raw[key] = _cell(key, raw[key])
        attrs = raw.get("attributes")
        if isinstance(attrs, dict) and isinstance(attrs.get("power_w"), str):
            attrs["power_w"] = _cell("power_w", attrs["power_w"])
    except RowProblem as exc:
        return [RowError(row=number, field=exc.field, message=exc.message, sku=sku)]
    try:
        change = msgspec.convert(raw, ProductInput)
    except msgspec.ValidationError as exc:
        message, _, path = str(exc).partition(" - at `")
        path = path.rstrip("`").removeprefix("$").removeprefix(".")
        if (unknown := _UNKNOWN.search(message)) is not None:
            path = f"{path}.{unknown.group(1)}" if path else unknown.group(1)
        return [RowError(row=number, field=path or None, message=message, sku=sku)]
    return msgspec.structs.replace(change, sku=normalize_sku(change.sku))


def json_line(p: Product, updated_at: str | None = None, *, hide: Sequence[str] = ()) -> bytes:
    """A product as one export NDJSON line (newline included), without the fields ``hide``."""
    data = {k: v for k, v in msgspec.structs.asdict(p).items() if k not in hide}
    data["attributes"] = {
        k: v for k, v in msgspec.structs.asdict(p.attributes).items() if v is not None
    }
    if updated_at is not None:
        data["updated_at"] = updated_at
    return _encoder.encode(data) + b"\n"


def as_input(p: Product) -> ProductInput:
    """The change that creates ``p`` as it is (demo data, round trips)."""
    attrs = msgspec.structs.asdict(p.attributes)
    fields = {
        f: getattr(p, f)
        for f in ProductInput.__struct_fields__
        if f not in ("version", "attributes")
    }
    return ProductInput(**fields, attributes=AttributesInput(**attrs))
