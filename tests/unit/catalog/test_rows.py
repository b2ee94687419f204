"""Import rows: CSV headers and cells, Romanian numbers, NDJSON lines, and export round trips."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.catalog.domain import Product, merge
from actors.catalog.messages import Attributes, AttributesInput, ProductInput
from actors.catalog.rows import (
    COLUMNS,
    csv_cells,
    csv_row,
    csv_text,
    json_line,
    json_row,
    map_header,
    parse_decimal,
    sniff_delimiter,
    split_line,
)
from actors.catalog.values import CCT_RANGE, VOLTAGES, ean_check_digit


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("12,50", Decimal("12.50")),
        ("12.50", Decimal("12.50")),
        (" 1.234,50 ", Decimal("1234.50")),
        ("1,234.50", Decimal("1234.50")),
        ("1 234,5", Decimal("1234.5")),
        ("0", Decimal(0)),
    ],
)
def test_numbers_take_a_decimal_point_or_a_romanian_comma(text: str, value: Decimal) -> None:
    assert parse_decimal(text) == value


@pytest.mark.parametrize("text", ["12,5,0", "abc", "1e5", "NaN", "12.", ",5", "Infinity"])
def test_what_is_not_a_plain_number_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not a number"):
        parse_decimal(text)


@given(st.decimals(min_value=0, max_value=10**8, places=4, allow_nan=False))
def test_a_romanian_decimal_reads_back_exactly(value: Decimal) -> None:
    assert parse_decimal(format(value, "f").replace(".", ",")) == value


def test_romanian_headers_map_to_the_columns() -> None:
    header = "Cod;Denumire;Categorie;UM;Preț achiziție;Adaos;Stare;Temperatură culoare;IP"
    assert sniff_delimiter(header) == ";"
    columns, problems = map_header(split_line(header, ";"))
    assert problems == []
    assert columns == [
        "sku",
        "name",
        "category",
        "unit",
        "cost",
        "margin",
        "status",
        "cct_k",
        "ip_rating",
    ]


def test_a_bad_header_names_each_problem() -> None:
    _, problems = map_header(["name", "pret", "name"])
    assert [p.message for p in problems] == [
        f"unknown column 'pret'; known: {', '.join(COLUMNS)}",
        "column 'name' appears twice",
        "the header has no sku column",
    ]


def test_cells_read_as_people_write_them() -> None:
    columns = ["sku", "name", "unit", "cost", "margin", "status", "cct_k", "voltage_v", "ean"]
    cells = ["bl-1", " Bandă  LED ", "ml", "12,50", "35%", "activ", "4000K", "24 V", ""]
    change = csv_row(columns, cells, 7)
    assert change == ProductInput(
        sku="BL-1",
        name="Bandă  LED",
        unit="metre",
        cost=Decimal("12.50"),
        margin=Decimal("0.35"),
        status="active",
        ean=None,
        attributes=AttributesInput(cct_k=4000, voltage_v=24),
    )


def test_an_empty_required_cell_keeps_the_value_and_an_optional_one_clears_it() -> None:
    change = csv_row(["sku", "name", "parent_sku", "power_w"], ["A1", "", "", ""], 2)
    assert change == ProductInput(
        sku="A1", parent_sku=None, attributes=AttributesInput(power_w=None)
    )


def test_bad_cells_are_reported_with_row_field_and_sku() -> None:
    errors = csv_row(["sku", "cost", "unit", "cct_k"], ["A1", "doi lei", "kg", "cald"], 12)
    assert isinstance(errors, list)
    assert [(e.row, e.field, e.sku) for e in errors] == [
        (12, "cost", "A1"),
        (12, "unit", "A1"),
        (12, "cct_k", "A1"),
    ]
    assert errors[1].message == "'kg' is not one of piece, metre"
    [short] = csv_row(["sku", "cost"], ["A1"], 3)  # type: ignore[misc]
    assert short.message == "has 1 cells, the header 2"


def test_ndjson_lines_read_like_the_api_body() -> None:
    line = b'{"sku": "a1", "cost": "12,5", "margin": 0.1, "attributes": {"cct_k": 3000}}'
    assert json_row(line, 4) == ProductInput(
        sku="A1",
        cost=Decimal("12.5"),
        margin=Decimal("0.1"),
        attributes=AttributesInput(cct_k=3000),
    )


@pytest.mark.parametrize(
    ("line", "field", "message"),
    [
        (b"{nope", None, "not valid JSON"),
        (b'[{"sku": "A1"}]', None, "must be a JSON object"),
        (b'{"sku": "A1", "colour": "red"}', "colour", "unknown field `colour`"),
        (b'{"sku": "A1", "attributes": {"cct_k": "cald"}}', "attributes.cct_k", "got `str`"),
    ],
)
def test_bad_ndjson_lines_are_reported(line: bytes, field: str | None, message: str) -> None:
    [error] = json_row(line, 9)  # type: ignore[misc]
    assert error.row == 9 and error.field == field
    assert message in error.message


# --- round trips --------------------------------------------------------------------------------

NAME_CHARS = st.sampled_from(list("abcXYZ0123456789 ăâîșțĂÎȘȚ,;\"'/().-%"))


def _ean(body: str) -> str:
    return body + str(ean_check_digit(body))


names = (
    st.text(NAME_CHARS, min_size=1, max_size=60)
    .map(lambda s: " ".join(s.split()))
    .filter(lambda s: bool(s) and not s.startswith(("=", "+", "@")))
)
money = st.decimals(min_value=0, max_value=10**6, places=4, allow_nan=False)
attributes = st.builds(
    Attributes,
    power_w=st.none() | st.decimals(min_value=Decimal("0.01"), max_value=100, places=2),
    cct_k=st.none() | st.integers(*CCT_RANGE),
    ip_rating=st.none() | st.from_regex(r"IP[0-6][0-9]", fullmatch=True),
    voltage_v=st.none() | st.sampled_from(sorted(VOLTAGES)),
    lumens=st.none() | st.integers(1, 1_000_000),
    cri=st.none() | st.integers(1, 100),
    colour=st.none() | st.sampled_from(["RGB", "RGBW", "alb", "negru mat"]),
)
products = st.builds(
    Product,
    sku=st.from_regex(r"[A-Z0-9][A-Z0-9._-]{1,39}", fullmatch=True),
    version=st.integers(1, 10**6),
    kind=st.just("product"),
    parent_sku=st.none() | st.just("FAMILIE-1"),
    name=names,
    ean=st.none() | st.text("0123456789", min_size=12, max_size=12).map(_ean),
    category=st.sampled_from(["benzi-led", "surse-alimentare"]),
    unit=st.sampled_from(["piece", "metre"]),
    cost=money,
    margin=st.decimals(min_value=0, max_value=Decimal("9.9999"), places=4, allow_nan=False),
    status=st.sampled_from(["draft", "active", "discontinued"]),
    attributes=attributes,
)


def _same(read: ProductInput, original: Product) -> None:
    assert read.version == original.version
    rebuilt, problems = merge(None, read)
    assert problems == []
    assert rebuilt == msgspec.structs.replace(original, version=0)


@given(products)
def test_an_exported_csv_row_imports_back_as_the_same_product(p: Product) -> None:
    text = csv_text([COLUMNS, csv_cells(p, "2026-01-01T00:00:00+00:00")])
    header, line, rest = text.split("\r\n", 2)
    assert rest == ""
    columns, problems = map_header(split_line(header, sniff_delimiter(header)))
    assert problems == []
    read = csv_row(columns, split_line(line, ","), 2)
    assert isinstance(read, ProductInput), read
    _same(read, p)


@given(products)
def test_an_exported_json_line_imports_back_as_the_same_product(p: Product) -> None:
    line = json_line(p, "2026-01-01T00:00:00+00:00")
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    read = json_row(line.strip(), 2)
    assert isinstance(read, ProductInput), read
    _same(read, p)
