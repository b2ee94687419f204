"""Every template renders in Romanian and English with realistic data; a missing value fails."""

from __future__ import annotations

from typing import Any

import pytest

from actors.notifications.rendering import Renderer, RenderError, money
from actors.notifications.settings import NotificationsSettings

ORDER = {"order_id": "o-1", "number": "CMD-2027-00042", "customer_name": "Ștefan Țăranu"}
DATA: dict[str, dict[str, Any]] = {
    "order_confirmed": {**ORDER, "gross": "1234.56"},
    "order_shipped": {**ORDER, "tracking": "AWB 1234", "complete": False},
    "order_delivered": ORDER,
    "proforma_issued": {
        "order_id": "o-1",
        "order_number": "CMD-2027-00042",
        "customer_name": "Ștefan Țăranu",
        "proforma_number": "PF-0007",
        "gross": "1234.56",
        "due_date": "2027-05-20",
    },
    "invoice_issued": {
        "order_id": "o-1",
        "order_number": "CMD-2027-00042",
        "customer_name": "Ștefan Țăranu",
        "invoice_number": "LDX-0099",
        "gross": "1234.56",
        "issued_on": "2027-05-12",
    },
    "quotation_sent": {
        "quotation_id": "q-1",
        "number": "OF-2027-00001",
        "gross": "1234.56",
        "valid_until": "2027-05-24",
    },
    "quotation_expiring": {
        "quotation_id": "q-1",
        "number": "OF-2027-00001",
        "customer_name": "Ștefan Țăranu",
        "gross": "1234.56",
        "valid_until": "2027-05-24",
        "expires_at": "2027-05-24T21:00:00+00:00",
        "currency": "RON",
    },
    "low_stock_digest": {
        "items": [{"sku": "STRIP-1", "available": "3", "reorder_point": "10"}],
    },
}


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(NotificationsSettings().templates_dir)


@pytest.mark.parametrize("template", sorted(DATA))
def test_every_template_renders_in_romanian_with_diacritics_and_lei(
    renderer: Renderer, template: str
) -> None:
    out = renderer.render(template, "ro", DATA[template])
    text = out.subject + out.text + out.html
    assert any(c in text for c in "ăâîșț"), text
    assert "ş" not in text and "ţ" not in text  # cedilla forms are wrong in Romanian
    if "gross" in DATA[template]:
        assert "1.234,56 lei" in out.text and "1.234,56 lei" in out.html
    assert "{{" not in text and out.html.startswith("<!DOCTYPE html>")


@pytest.mark.parametrize("template", sorted(DATA))
def test_every_template_renders_in_english(renderer: Renderer, template: str) -> None:
    out = renderer.render(template, "en", DATA[template])
    assert out.subject and out.text.strip() and 'lang="en"' in out.html
    if "gross" in DATA[template]:
        assert "1,234.56 RON" in out.text


def test_whatsapp_parameters_are_rendered_in_order(renderer: Renderer) -> None:
    out = renderer.render("order_confirmed", "ro", DATA["order_confirmed"])
    assert out.whatsapp_template == "order_confirmed_v1"
    assert out.whatsapp_parameters == ("Ștefan Țăranu", "CMD-2027-00042", "1.234,56 lei")


def test_html_escapes_customer_values(renderer: Renderer) -> None:
    data = {**DATA["order_delivered"], "customer_name": "<script>x</script>"}
    out = renderer.render("order_delivered", "ro", data)
    assert "<script>" not in out.html and "&lt;script&gt;" in out.html


def test_a_missing_value_is_an_error_not_a_blank(renderer: Renderer) -> None:
    data = dict(DATA["order_confirmed"])
    del data["gross"]
    with pytest.raises(RenderError, match="gross"):
        renderer.render("order_confirmed", "ro", data)


def test_a_bad_amount_or_unknown_template_is_an_error(renderer: Renderer) -> None:
    with pytest.raises(RenderError, match="not an amount"):
        renderer.render("order_confirmed", "ro", {**DATA["order_confirmed"], "gross": "lots"})
    with pytest.raises(RenderError, match="no template"):
        renderer.render("../secrets", "ro", {})


def test_amounts_are_written_the_romanian_way() -> None:
    assert money("1234567.5") == "1.234.567,50 lei"
    assert money("0.5") == "0,50 lei"
    assert money("-12") == "-12,00 lei"


def test_every_template_folder_is_covered_here(renderer: Renderer) -> None:
    folders = {p.name for p in renderer.root.iterdir() if p.is_dir()}
    assert folders == set(DATA)
