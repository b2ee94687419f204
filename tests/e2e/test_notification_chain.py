"""The whole notification chain on RabbitMQ, PostgreSQL and Redis, with nothing stood in for:
business events → the notifications actor → the real SendGrid and WhatsApp connector actors →
their simulators on loopback (the real APIs' paths, auth, fields and errors); the providers'
signed webhooks back through the edge; and a provider outage that opens the breakers without
losing or doubling a message.

What issue 7 adds on top: the invoicing context sends the ``invoice_issued`` request below
(with the PDF it fetched from SmartBill) when SmartBill has issued the invoice."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal as D
from functools import partial
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestServer

from actors.notifications.actor import NotificationsActor
from actors.notifications.messages import Attachment, NotifyCustomer
from actors.notifications.rendering import Renderer
from actors.orders.messages import Customer, OrderPlaced, OrderStateChanged, ShipmentSent
from actors.pricing.messages import CartTotals
from connectors.sendgrid import webhooks as sendgrid_webhooks
from connectors.sendgrid.actor import build as sendgrid_connector
from connectors.sendgrid.settings import SendGridSettings
from connectors.sendgrid.simulator import SendGridSimulator, create_app
from connectors.whatsapp import webhooks as whatsapp_webhooks
from connectors.whatsapp.actor import build as whatsapp_connector
from connectors.whatsapp.settings import WhatsAppSettings
from connectors.whatsapp.simulator import WhatsAppSimulator
from hub.breaker import Breaker
from hub.db import Database
from hub.edge.keys import HUB
from hub.messages import Envelope, Message, encode
from hub.ratelimit import MemoryRateLimiter
from hub.settings import Secret
from tests.e2e.api_support import Edge
from tests.integration.notifications.support import SETTINGS, TABLES, save_customer
from tests.support import eventually
from tests.unit.notifications.test_rendering import DATA as TEMPLATE_DATA

API_KEY = "SG.chain-key"
TOKEN = "EAAG-chain-token"
PHONE_NUMBER_ID = "1000000001"
# the approved templates of our WhatsApp Business account and their parameter counts
TEMPLATES = {
    "order_confirmed_v1": 3,
    "order_shipped_v1": 3,
    "order_delivered_v1": 2,
    "quotation_expiring_v1": 3,
}
PDF = b"%PDF-1.7\n% LDX factura 00042 \xe2\x80\x94 test\n" + bytes(range(256)) * 4
NOW = datetime(2027, 5, 10, 8, 0, tzinfo=UTC)


@dataclass
class Chain:
    edge: Edge
    sendgrid: SendGridSimulator
    whatsapp: WhatsAppSimulator
    sendgrid_breaker: Breaker
    whatsapp_breaker: Breaker

    @property
    def conn(self) -> asyncpg.Connection:
        return self.edge.conn

    async def publish(self, message: Message, key: str | None = None) -> Envelope:
        env = Envelope.new(message, key=key)
        await self.edge.client.app[HUB].bus.publish(env, encode(message))
        return env

    async def sendgrid_webhook(self, events: list[dict[str, Any]], tamper: bool = False) -> int:
        headers, body = self.sendgrid.sign(events)
        if tamper:
            body = body.replace(b'"delivered"', b'"bounce"')
        resp = await self.edge.client.post("/webhooks/sendgrid", data=body, headers=headers)
        return resp.status

    async def meta_webhook(self, body: bytes, signature: str | None = None) -> int:
        headers = {
            "Content-Type": "application/json",
            "X-Hub-Signature-256": signature or self.whatsapp.sign(body),
        }
        resp = await self.edge.client.post("/webhooks/whatsapp", data=body, headers=headers)
        return resp.status

    async def handled(self, env: Envelope) -> None:
        """Wait until the notifications actor has handled (committed) this message."""

        async def done() -> bool:
            found: bool | None = await self.conn.fetchval(
                "SELECT true FROM hub_inbox WHERE actor = 'notifications' AND message_id = $1",
                env.message_id,
            )
            return bool(found)

        await eventually(done, what=f"notifications handled {env.type}")

    async def deliveries(self, key: str) -> list[dict[str, Any]]:
        rows = await self.conn.fetch(
            "SELECT d.delivery_id, d.channel, d.status, d.provider_id, d.address "
            "FROM notification_deliveries d JOIN notification_notifications n "
            "ON n.id = d.notification_id WHERE n.notification_key = $1 ORDER BY d.delivery_id",
            key,
        )
        return [dict(r) for r in rows]

    async def statuses(self, key: str) -> dict[str, str]:
        return {d["channel"]: d["status"] for d in await self.deliveries(key)}

    async def settled(self, key: str, channels: int) -> dict[str, str] | None:
        """The deliveries' statuses once every one has left "requested"."""
        found = await self.statuses(key)
        if len(found) != channels or "requested" in found.values():
            return None
        return found

    def emails_to(self, address: str) -> list[Any]:
        return [a for a in self.sendgrid.accepted if address in a.to]

    def whatsapps_to(self, number: str) -> list[dict[str, Any]]:
        return [m for m in self.whatsapp.accepted if m["to"] == number]


@pytest.fixture
async def chain(
    start_api: Callable[..., Awaitable[Edge]], actor_db: Database, db_conn: asyncpg.Connection
) -> AsyncIterator[Chain]:
    await db_conn.execute(
        f"TRUNCATE {TABLES}, sendgrid_deliveries, whatsapp_deliveries, webhook_deliveries CASCADE"
    )
    sendgrid = SendGridSimulator(api_keys={API_KEY})
    whatsapp = WhatsAppSimulator(
        token=TOKEN, phone_number_id=PHONE_NUMBER_ID, templates=dict(TEMPLATES)
    )
    db = actor_db
    async with (
        TestServer(create_app(sendgrid), host="127.0.0.1") as sg_server,
        TestServer(whatsapp.app(), host="127.0.0.1") as wa_server,
    ):
        sg_breaker = Breaker("sendgrid", fail_max=3, reset_timeout=0.5)
        wa_breaker = Breaker("whatsapp", fail_max=3, reset_timeout=0.5)
        sg_actor = sendgrid_connector(
            SendGridSettings(
                api_key=Secret(API_KEY),
                base_url=str(sg_server.make_url("")).rstrip("/"),
                timeout=2.0,
                per_second=100.0,
                burst=10,
                retry_backoff=0.1,
                retry_max_backoff=0.5,
                reconcile_after=30.0,
            ),
            db,
            limiter=MemoryRateLimiter(),
            breaker=sg_breaker,
        )
        wa_actor = whatsapp_connector(
            WhatsAppSettings(
                access_token=Secret(TOKEN),
                phone_number_id=PHONE_NUMBER_ID,
                base_url=str(wa_server.make_url("")).rstrip("/"),
                timeout=2.0,
                per_second=100.0,
                burst=10,
                retry_backoff=0.1,
                retry_max_backoff=0.5,
            ),
            db,
            limiter=MemoryRateLimiter(),
            breaker=wa_breaker,
        )
        sources = [
            lambda s: sendgrid_webhooks.source(
                s, config=SendGridSettings(webhook_public_key=sendgrid.public_key)
            ),
            lambda s: whatsapp_webhooks.source(
                s,
                config=WhatsAppSettings(
                    app_secret=Secret(whatsapp.app_secret), verify_token=Secret("chain-verify")
                ),
            ),
        ]
        edge = await start_api(
            webhooks=sources, actors=(NotificationsActor(SETTINGS), sg_actor, wa_actor)
        )
        try:
            yield Chain(edge, sendgrid, whatsapp, sg_breaker, wa_breaker)
        finally:
            sendgrid.release()
            whatsapp.release()
            await edge.client.close()  # the hub stops before the connectors' pool closes


def placed(order_id: str, customer_id: str, email: str) -> OrderPlaced:
    return OrderPlaced(
        order_id=order_id,
        number=f"CMD-2027-{order_id[-5:]}",
        source="api",
        external_ref=None,
        customer=Customer(
            kind="consumer",
            name="Ana Ionescu",
            email=email,
            phone="0744 123 456",
            customer_id=customer_id,
        ),
        payment_method="card",
        lines=(),
        totals=CartTotals(net=D("1037.45"), vat=D("217.86"), gross=D("1255.31")),
        placed_at=NOW,
    )


def confirmed(order: OrderPlaced) -> OrderStateChanged:
    return OrderStateChanged(
        order_id=order.order_id,
        number=order.number,
        external_ref=None,
        from_state="pending",
        to_state="confirmed",
        woo_status="processing",
        at=NOW,
        by="system",
        reason="",
    )


def invoice_request(order: OrderPlaced, customer_id: str) -> NotifyCustomer:
    """What the invoicing context asks once SmartBill has issued the invoice (issue 7)."""
    return NotifyCustomer(
        notification_key=f"invoice:{order.order_id}:LDX-00042",
        template="invoice_issued",
        data={
            "order_id": order.order_id,
            "order_number": order.number,
            "invoice_number": "LDX 00042",
            "issued_on": "2027-05-10",
            "customer_name": "Ana Ionescu",
            "gross": "1255.31",
            "currency": "RON",
        },
        customer_id=customer_id,
        attachments=(
            Attachment(filename="LDX-00042.pdf", content_type="application/pdf", content=PDF),
        ),
    )


async def test_an_order_confirmed_then_invoiced_reaches_the_customer_once_by_email_and_whatsapp(
    chain: Chain,
) -> None:
    await save_customer(chain.conn, "C-100", email="ana@lumina.ro", phone="40744123456")
    order = placed("o-00042", "C-100", "ana@lumina.ro")
    await chain.publish(order, key=order.order_id)
    # the event comes twice (a redelivery upstream), the invoice request too
    for _ in range(2):
        await chain.publish(confirmed(order), key=order.order_id)
    requests = [await chain.publish(invoice_request(order, "C-100")) for _ in range(2)]
    confirmation, invoice = "order:o-00042:confirmed", "invoice:o-00042:LDX-00042"

    assert await eventually(lambda: chain.settled(confirmation, 3), what="confirmation sent") == {
        "email": "accepted",
        "whatsapp": "accepted",
        "in_app": "delivered",
    }
    assert await eventually(lambda: chain.settled(invoice, 2), what="invoice sent") == {
        "email": "accepted",
        "in_app": "delivered",
    }
    for env in requests:
        await chain.handled(env)

    # exactly one email per business event, in the SendGrid simulator, the invoice's with its PDF
    emails = chain.emails_to("ana@lumina.ro")
    assert sorted(e.categories[0] for e in emails) == ["invoice_issued", "order_confirmed"]
    [mail] = [e for e in emails if e.categories == ["invoice_issued"]]
    assert mail.subject == "Factura LDX 00042 pentru comanda CMD-2027-00042"
    assert mail.attachments == [("LDX-00042.pdf", "application/pdf", PDF)]
    assert "Găsiți atașată factura fiscală LDX 00042" in mail.content["text/plain"]
    assert "1.255,31 lei" in mail.content["text/plain"]
    assert mail.from_email == "comenzi@ledux.ro"
    [invoice_delivery] = [d for d in await chain.deliveries(invoice) if d["channel"] == "email"]
    assert mail.custom_args["delivery_id"] == invoice_delivery["delivery_id"]
    assert invoice_delivery["provider_id"] == mail.message_id
    # the API saw the attachment as SendGrid wants it: Base64 in the JSON body
    [raw] = mail.body["attachments"]
    assert base64.b64decode(raw["content"]) == PDF and raw["disposition"] == "attachment"

    # one WhatsApp template message (the customer opted in; outside the 24-hour window)
    [wa] = chain.whatsapps_to("40744123456")
    template = wa["body"]["template"]
    assert wa["body"]["type"] == "template" and template["name"] == "order_confirmed_v1"
    params = [p["text"] for p in template["components"][0]["parameters"]]
    assert params == ["Ana Ionescu", "CMD-2027-00042", "1.255,31 lei"]
    assert len(chain.sendgrid.accepted) == 2 and len(chain.whatsapp.accepted) == 1
    assert [d["channel"] for d in await chain.deliveries(confirmation)] == [
        "email",
        "in_app",
        "whatsapp",
    ]


async def test_signed_provider_events_through_the_edge_move_statuses_and_a_bounce_stops_email(
    chain: Chain,
) -> None:
    await save_customer(chain.conn, "C-200", email="ion@lumina.ro", phone="40755000111")
    order = placed("o-00077", "C-200", "ion@lumina.ro")
    await chain.publish(order, key=order.order_id)
    await chain.publish(confirmed(order), key=order.order_id)
    key = "order:o-00077:confirmed"
    await eventually(lambda: chain.settled(key, 3), what="confirmation sent")
    [mail] = chain.emails_to("ion@lumina.ro")
    [wa] = chain.whatsapps_to("40755000111")

    # SendGrid: a tampered batch is refused and changes nothing; the signed one, sent twice
    # (SendGrid retries), moves the email to delivered once
    events = chain.sendgrid.events_for(mail, "processed", "delivered")
    assert await chain.sendgrid_webhook(events, tamper=True) == 401
    assert await chain.sendgrid_webhook(events) == 200
    assert await chain.sendgrid_webhook(events) == 200
    await eventually(lambda: _status_is(chain, key, "email", "delivered"), what="email delivered")
    history = await chain.conn.fetchval(
        "SELECT history FROM notification_deliveries WHERE delivery_id = $1",
        mail.custom_args["delivery_id"],
    )
    assert [h["status"] for h in history].count("delivered") == 1

    # Meta: a status notification with a bad signature is refused; signed ones move it to read
    delivered = chain.whatsapp.status_body(wa["id"], "delivered")
    assert await chain.meta_webhook(delivered, signature="sha256=" + "0" * 64) == 401
    assert await chain.meta_webhook(delivered) == 200
    assert await chain.meta_webhook(chain.whatsapp.status_body(wa["id"], "read")) == 200
    await eventually(lambda: _status_is(chain, key, "whatsapp", "read"), what="whatsapp read")

    # the address bounces: the next event reaches the customer by WhatsApp only
    assert await chain.sendgrid_webhook(chain.sendgrid.events_for(mail, "bounce")) == 200
    await eventually(
        lambda: chain.conn.fetchval(
            "SELECT reason FROM notification_suppressions WHERE address = 'ion@lumina.ro'"
        ),
        what="address suppressed",
    )
    await chain.publish(
        ShipmentSent(
            order_id=order.order_id,
            shipment_id="s-1",
            lines=(),
            complete=True,
            tracking="FAN123456789",
        ),
        key=order.order_id,
    )
    shipped = await eventually(lambda: chain.settled("shipment:s-1:shipped", 2), what="shipped")
    assert shipped == {"whatsapp": "accepted", "in_app": "delivered"}
    assert len(chain.emails_to("ion@lumina.ro")) == 1  # the confirmation only
    names = [m["body"]["template"]["name"] for m in chain.whatsapps_to("40755000111")]
    assert names == ["order_confirmed_v1", "order_shipped_v1"]


async def _status_is(chain: Chain, key: str, channel: str, status: str) -> bool:
    return (await chain.statuses(key)).get(channel) == status


async def test_a_provider_outage_opens_the_breakers_and_after_it_everything_goes_exactly_once(
    chain: Chain,
) -> None:
    customers = [(f"C-3{n:02d}", f"client{n}@lumina.ro", f"4074400{n:04d}") for n in range(6)]
    for customer_id, email, phone in customers:
        await save_customer(chain.conn, customer_id, email=email, phone=phone)
    chain.sendgrid.outage(3.0)  # every Mail Send answers 500 for 3 s
    chain.whatsapp.fail_status = 503  # Graph answers 503 until told otherwise
    seen = {"sendgrid": set(), "whatsapp": set()}
    keys = []
    for customer_id, email, _phone in customers:
        order = placed(f"o-{customer_id}", customer_id, email)
        await chain.publish(order, key=order.order_id)
        await chain.publish(confirmed(order), key=order.order_id)
        keys.append(f"order:{order.order_id}:confirmed")

    async def both_open() -> bool:
        seen["sendgrid"].add(chain.sendgrid_breaker.state)
        seen["whatsapp"].add(chain.whatsapp_breaker.state)
        return "open" in seen["sendgrid"] and "open" in seen["whatsapp"]

    await eventually(both_open, interval=0.005, what="both breakers open during the outage")
    # nothing went through while the partners were down
    assert chain.sendgrid.accepted == [] and chain.whatsapp.accepted == []
    failures = sum(1 for r in chain.sendgrid.requests if r.status == 500)
    assert failures >= 3
    chain.whatsapp.fail_status = None  # Meta recovers; SendGrid's outage ends by itself

    for key in keys:
        statuses = await eventually(lambda k=key: chain.settled(k, 3), timeout=30, what=key)
        assert statuses == {"email": "accepted", "whatsapp": "accepted", "in_app": "delivered"}
    # each delivery reached each partner exactly once, none was lost
    for customer_id, email, phone in customers:
        assert len(chain.emails_to(email)) == 1, customer_id
        assert len(chain.whatsapps_to(phone)) == 1, customer_id
    sent = [a.custom_args["delivery_id"] for a in chain.sendgrid.accepted]
    assert len(sent) == len(set(sent)) == len(customers)
    assert chain.sendgrid_breaker.state == "closed" and chain.whatsapp_breaker.state == "closed"


@pytest.mark.parametrize("language", ["ro", "en"])
async def test_every_template_reaches_the_simulators_on_each_of_its_channels(
    chain: Chain, language: str
) -> None:
    await save_customer(
        chain.conn, "C-400", email="dana@lumina.ro", phone="40766000400", language=language
    )
    renderer = Renderer(SETTINGS.templates_dir)
    keys: dict[str, tuple[str, ...]] = {}
    for template, data in sorted(TEMPLATE_DATA.items()):
        key = f"every:{language}:{template}"
        await chain.publish(
            NotifyCustomer(
                notification_key=key,
                template=template,
                data=data,
                customer_id="C-400",
                language=language,  # type: ignore[arg-type]
            )
        )
        keys[template] = renderer.spec(template).channels

    for template, channels in keys.items():
        key = f"every:{language}:{template}"
        found = await eventually(partial(chain.settled, key, len(channels)), timeout=30, what=key)
        expected = {c: "delivered" if c == "in_app" else "accepted" for c in channels}
        assert found == expected, template
    # one email per template, each with its own subject in the customer's language
    emails = chain.emails_to("dana@lumina.ro")
    assert sorted(e.categories[0] for e in emails) == sorted(
        t for t, c in keys.items() if "email" in c
    )
    for mail in emails:
        spec = renderer.spec(mail.categories[0])
        assert mail.subject and "{{" not in mail.subject + mail.content["text/plain"]
        assert "text/html" in mail.content and spec is not None
    # one WhatsApp template message per template that has one, with its parameters
    sent = {m["body"]["template"]["name"]: m for m in chain.whatsapps_to("40766000400")}
    assert sorted(sent) == sorted(
        spec.whatsapp.name
        for t in keys
        if "whatsapp" in keys[t] and (spec := renderer.spec(t)).whatsapp is not None
    )
    for message in sent.values():
        template_body = message["body"]["template"]
        assert template_body["language"]["code"] == language
        params = template_body["components"][0]["parameters"]
        assert len(params) == TEMPLATES[template_body["name"]]
