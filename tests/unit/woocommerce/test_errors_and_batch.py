"""WooCommerce's error objects mapped to typed errors; batch items split and answers filed."""

from __future__ import annotations

from typing import Any

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from connectors.woocommerce import batch
from connectors.woocommerce.batch import BatchOutcome
from connectors.woocommerce.changes import ProductUpdate
from connectors.woocommerce.errors import (
    DuplicateSku,
    InvalidRequest,
    TooLarge,
    Unauthorized,
    UnknownResource,
    UnreadableAnswer,
    WooCommerceError,
    error_for,
    refusal,
)
from connectors.woocommerce.resources import Product
from hub.errors import PermanentError, TransientError
from hub.http import HttpResult


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (401, "woocommerce_rest_cannot_view", Unauthorized),
        (401, "woocommerce_rest_authentication_error", Unauthorized),
        (403, "woocommerce_rest_cannot_edit", Unauthorized),
        (404, "woocommerce_rest_product_invalid_id", UnknownResource),
        (400, "woocommerce_rest_shop_order_invalid_id", UnknownResource),  # PUT: 400
        (404, "woocommerce_rest_invalid_id", UnknownResource),  # customers
        (404, "rest_no_route", UnknownResource),
        (400, "product_invalid_sku", DuplicateSku),
        (400, "rest_invalid_param", InvalidRequest),
        (400, "rest_invalid_json", InvalidRequest),
        (413, "woocommerce_rest_request_entity_too_large", TooLarge),
    ],
)
def test_error_objects_map_to_permanent_typed_errors(
    status: int, code: str, kind: type[WooCommerceError]
) -> None:
    error = error_for(status, code, "m", {"status": status})

    assert type(error) is kind
    assert isinstance(error, PermanentError)
    assert (error.status, error.code) == (status, code)


def _result(status: int, body: bytes) -> HttpResult:
    return HttpResult(status, CIMultiDictProxy(CIMultiDict()), body)


def test_refusal_reads_the_wordpress_error_body() -> None:
    error = refusal(
        _result(
            400,
            b'{"code":"rest_invalid_param","message":"Invalid parameter(s): status",'
            b'"data":{"status":400,"params":{"status":"status is not one of pending."}}}',
        )
    )

    assert isinstance(error, InvalidRequest)
    assert error.data["params"] == {"status": "status is not one of pending."}
    assert "Invalid parameter(s): status" in str(error)


def test_refusal_of_a_page_that_is_not_json_keeps_its_text() -> None:
    error = refusal(_result(403, b"<html>Access denied by the firewall</html>"))

    assert isinstance(error, Unauthorized)
    assert error.code == "http_403" and "firewall" in error.message


def test_updates_that_set_nothing_are_not_sent_and_ids_are_checked() -> None:
    pending, skipped = batch.items(
        create=[],
        update=[ProductUpdate(id=1, stock_quantity=3), ProductUpdate(id=2)],
        delete=[9],
    )

    assert [(i.action, i.index, i.id) for i in pending] == [("update", 0, 1), ("delete", 0, 9)]
    assert skipped == [2]
    with pytest.raises(ValueError, match="no valid id"):
        batch.items(create=[], update=[{"regular_price": "1.00"}], delete=[])


def test_items_are_cut_into_requests_of_the_batch_limit() -> None:
    pending, _ = batch.items([], [ProductUpdate(id=n, stock_quantity=1) for n in range(1, 251)], [])

    chunks = batch.plan(pending, 100)

    assert [len(c) for c in chunks] == [100, 100, 50]
    assert set(batch.body_of(chunks[2])) == {"update"}


def _product(ident: int, sku: str) -> dict[str, Any]:
    return {"id": ident, "sku": sku, "regular_price": "10.00", "sale_price": ""}


def test_answer_entries_are_filed_under_their_items() -> None:
    pending, _ = batch.items(
        create=[{"name": "Sursa 12V", "sku": "LDX-9"}, {"name": "Dublura", "sku": "LDX-1"}],
        update=[ProductUpdate(id=1, stock_quantity=4), ProductUpdate(id=404, stock_quantity=1)],
        delete=[],
    )
    answer = {
        "create": [
            _product(501, "LDX-9"),
            {
                "id": 0,
                "error": {
                    "code": "product_invalid_sku",
                    "message": "Invalid or duplicated SKU.",
                    "data": {"status": 400, "resource_id": 1},
                },
            },
        ],
        "update": [
            _product(1, "LDX-1"),
            {
                "id": 404,
                "error": {
                    "code": "woocommerce_rest_product_invalid_id",
                    "message": "Invalid ID.",
                    "data": {"status": 400},
                },
            },
        ],
    }
    outcome: BatchOutcome[Product] = BatchOutcome()

    batch.read_answer(pending, answer, Product, outcome)

    assert outcome.created[0].id == 501 and list(outcome.updated) == [1]
    refused = {(f.action, f.index, f.id): f for f in outcome.failed}
    assert isinstance(refused["create", 1, 0].error, DuplicateSku)
    assert isinstance(refused["update", 1, 404].error, UnknownResource)
    assert all(f.permanent and not f.outcome_unknown for f in outcome.failed)


def test_items_missing_from_the_answer_are_unknown_not_lost() -> None:
    pending, _ = batch.items([], [ProductUpdate(id=n, stock_quantity=1) for n in (1, 2)], [])
    outcome: BatchOutcome[Product] = BatchOutcome()

    batch.read_answer(pending, {"update": [_product(1, "A")]}, Product, outcome)

    assert list(outcome.updated) == [1]
    [missing] = outcome.failed
    assert missing.id == 2 and isinstance(missing.error, UnreadableAnswer)
    assert isinstance(missing.error, TransientError) and missing.outcome_unknown
