"""Request bodies and the mapping of Graph errors to failure reasons."""

from __future__ import annotations

import msgspec
import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from connectors.whatsapp.client import build_body, graph_error, reason_for
from connectors.whatsapp.messages import SendWhatsApp
from hub.http import HttpResult


def test_template_body_is_exactly_the_documented_shape() -> None:
    msg = SendWhatsApp(
        delivery_id="d1", to="40744123456", template="order_update", parameters=("A-1", "livrat")
    )
    assert msgspec.json.decode(msgspec.json.encode(build_body(msg))) == {
        "to": "40744123456",
        "type": "template",
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "template": {
            "name": "order_update",
            "language": {"code": "ro", "policy": "deterministic"},
            "components": [
                {
                    "parameters": [
                        {"text": "A-1", "type": "text"},
                        {"text": "livrat", "type": "text"},
                    ],
                    "type": "body",
                }
            ],
        },
    }


def test_text_reply_has_preview_off_and_the_context() -> None:
    msg = SendWhatsApp(delivery_id="d2", to="40744123456", text="Bună!", reply_to="wamid.X")
    body = msgspec.to_builtins(build_body(msg))
    assert body["text"] == {"body": "Bună!", "preview_url": False}
    assert body["context"] == {"message_id": "wamid.X"}
    assert "template" not in body


def test_text_without_reply_has_no_context() -> None:
    body = msgspec.to_builtins(build_body(SendWhatsApp(delivery_id="d", to="4074", text="x")))
    assert "context" not in body


def test_neither_template_nor_text_is_refused() -> None:
    with pytest.raises(ValueError, match="neither"):
        build_body(SendWhatsApp(delivery_id="d3", to="40744123456"))


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (130429, "throughput"),
        (131056, "pair_rate_limit"),
        (131047, "re_engagement"),
        (100, "invalid_recipient"),
        (131026, "invalid_recipient"),
        (133010, "invalid_recipient"),
        (132000, "template"),
        (132001, "template"),
        (0, "auth"),
        (10, "auth"),
        (190, "auth"),
        (131000, "rejected"),
        (None, "rejected"),
    ],
)
def test_codes_map_to_reasons(code: int | None, reason: str) -> None:
    assert reason_for(code) == reason


def _result(status: int, body: bytes) -> HttpResult:
    return HttpResult(status, CIMultiDictProxy(CIMultiDict()), body)


def test_graph_error_body_gives_code_reason_and_details() -> None:
    body = b'{"error":{"message":"Re-engagement message","type":"OAuthException","code":131047,'
    body += b'"error_data":{"messaging_product":"whatsapp","details":"24 hours passed"}}}'
    error = graph_error(_result(400, body))
    assert (error.code, error.reason, error.permanent) == (131047, "re_engagement", True)
    assert error.detail == "Re-engagement message (24 hours passed)"


def test_limits_are_not_permanent() -> None:
    body = b'{"error":{"message":"pair","type":"OAuthException","code":131056}}'
    assert graph_error(_result(400, body)).permanent is False


def test_a_body_that_is_not_a_graph_error_is_rejected_with_its_text() -> None:
    error = graph_error(_result(403, b"<html>Forbidden</html>"))
    assert (error.code, error.reason, error.detail) == (None, "rejected", "<html>Forbidden</html>")
