"""The Mail Send body the client builds, the errors it maps, the rules the simulator keeps."""

from __future__ import annotations

import base64
import time

import msgspec
from multidict import CIMultiDict, CIMultiDictProxy

from connectors.sendgrid.client import (
    BadRequest,
    Forbidden,
    TooLarge,
    Unauthorized,
    build_body,
    refusal,
)
from connectors.sendgrid.mail_rules import validate
from connectors.sendgrid.messages import Attachment, SendEmail
from connectors.sendgrid.simulator import SendGridSimulator
from connectors.sendgrid.webhooks import load_public_key, verifier
from hub.http import HttpResult

PDF = b"%PDF-1.7 factura"


def email(**kw: object) -> SendEmail:
    fields: dict[str, object] = {
        "delivery_id": "d-1",
        "to_email": "ioana@lumina.ro",
        "to_name": "Ioana Popescu",
        "subject": "Factura LDX-42",
        "text": "Buna ziua",
        "html": "<p>Buna ziua</p>",
        "attachments": (
            Attachment(filename="LDX-42.pdf", content_type="application/pdf", content=PDF),
        ),
        "categories": ("invoice_issued", "invoice_issued"),
        "custom_args": {"order_id": "O-7"},
    }
    fields.update(kw)
    return SendEmail(**fields)  # type: ignore[arg-type]


def wire(msg: SendEmail) -> dict[str, object]:
    body = build_body(msg, from_email="comenzi@ledux.ro", from_name="Ledux.ro")
    decoded: dict[str, object] = msgspec.json.decode(msgspec.json.encode(body))
    return decoded


def test_body_carries_recipient_sender_content_attachment_and_delivery_id() -> None:
    body = wire(email())
    assert body == {
        "personalizations": [
            {
                "to": [{"email": "ioana@lumina.ro", "name": "Ioana Popescu"}],
                "custom_args": {"order_id": "O-7", "delivery_id": "d-1"},
            }
        ],
        "from": {"email": "comenzi@ledux.ro", "name": "Ledux.ro"},
        "subject": "Factura LDX-42",
        "content": [
            {"type": "text/plain", "value": "Buna ziua"},
            {"type": "text/html", "value": "<p>Buna ziua</p>"},
        ],
        "attachments": [
            {
                "content": base64.b64encode(PDF).decode(),
                "filename": "LDX-42.pdf",
                "type": "application/pdf",
                "disposition": "attachment",
            }
        ],
        "categories": ["invoice_issued"],
    }
    assert validate(body, now=time.time()) is None


def test_delivery_id_wins_over_a_custom_arg_of_the_same_name() -> None:
    body = wire(email(custom_args={"delivery_id": "forged"}))
    assert body["personalizations"][0]["custom_args"] == {"delivery_id": "d-1"}  # type: ignore[index]


def test_empty_html_is_left_out_and_no_name_means_no_name_field() -> None:
    body = wire(email(html="", to_name=None, attachments=()))
    assert body["content"] == [{"type": "text/plain", "value": "Buna ziua"}]
    assert body["personalizations"][0]["to"] == [{"email": "ioana@lumina.ro"}]  # type: ignore[index]
    assert "attachments" not in body


def answer(status: int, body: bytes) -> HttpResult:
    return HttpResult(status, CIMultiDictProxy(CIMultiDict()), body)


def test_refusals_map_to_typed_errors_with_sendgrids_text() -> None:
    bad = refusal(answer(400, b'{"errors":[{"field":"from.email","message":"invalid"}]}'))
    assert isinstance(bad, BadRequest) and bad.status == 400
    assert bad.text == "from.email: invalid"
    key = refusal(answer(401, b'{"errors":[{"field":null,"message":"authorization required"}]}'))
    assert isinstance(key, Unauthorized) and key.text == "authorization required"
    assert isinstance(refusal(answer(403, b'{"errors":[]}')), Forbidden)
    large = refusal(answer(413, b"<html>too large</html>"))
    assert isinstance(large, TooLarge) and "too large" in large.text


def test_rules_name_the_field_sendgrid_names() -> None:
    now = time.time()
    ok = wire(email())
    cases = {
        "personalizations": {**ok, "personalizations": []},
        "from.email": {**ok, "from": {"email": "vânzări@ledux.ro"}},
        "content": {**ok, "content": list(reversed(ok["content"]))},  # type: ignore[call-overload]
        "attachments.0.content": {**ok, "attachments": [{"filename": "a.pdf", "content": "%%"}]},
        "personalizations.0.custom_args": {
            **ok,
            "personalizations": [{"to": [{"email": "a@b.ro"}], "custom_args": {"x": "y" * 10_000}}],
        },
        "send_at": {**ok, "send_at": int(now) + 73 * 3600},
    }
    for field, body in cases.items():
        problem = validate(body, now=now)
        assert problem is not None and problem.field == field, (field, problem)
    many = {**ok, "personalizations": [{"to": [{"email": f"c{i}@b.ro"} for i in range(1001)]}]}
    problem = validate(many, now=now)
    assert problem is not None and "1000" in problem.message


def test_signed_event_batches_pass_the_webhook_verification() -> None:
    sim = SendGridSimulator()
    accepted = sim._accept(wire(email()))
    events = sim.events_for(accepted, "processed", "delivered", "bounce")
    headers, body = sim.sign(events)
    verify = verifier(load_public_key(sim.public_key), 300)
    verify(headers, body)  # raises if the signature does not match
    decoded = msgspec.json.decode(body)
    assert [e["event"] for e in decoded] == ["processed", "delivered", "bounce"]
    assert {e["delivery_id"] for e in decoded} == {"d-1"}
    assert all(e["sg_message_id"].startswith(accepted.message_id + ".") for e in decoded)
    assert len({e["sg_event_id"] for e in decoded}) == 3
    tampered = body.replace(b"delivered", b"delivereX")
    try:
        verify(headers, tampered)
    except Exception as exc:
        assert "does not match" in str(exc)
    else:
        raise AssertionError("a tampered batch was accepted")
