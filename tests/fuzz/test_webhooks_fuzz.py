"""Every webhook endpoint under hypothesis: bodies, signatures, headers, content types, methods.

The edge runs with the three real sources on real PostgreSQL (``conftest_webhooks``); each
example is sent byte for byte (``rawhttp``) and the ``webhook_deliveries`` rows are counted
before and after. Properties, from docs/WEBHOOKS.md:

- never a 5xx (the database is up, the sources are configured);
- a delivery without a valid signature is never stored, and is answered 401 (400 when the HTTP
  parser refuses its headers, 413 when too large; WooCommerce's unsigned ping exactly 200);
- a validly signed delivery is stored with its outbox message (200 accepted / duplicate), or
  refused with 400 ``invalid_payload`` (or 413) and nothing stored; what is stored is the body
  as sent, no signature header, and a message its consumers can decode.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import quote, quote_from_bytes

import asyncpg
import pytest
from aiohttp.test_utils import TestClient
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from actors.notifications.actor import NotificationsActor
from actors.notifications.settings import NotificationsSettings
from connectors.sendgrid import webhooks as sendgrid
from connectors.sendgrid.actor import build as build_sendgrid
from connectors.sendgrid.settings import SendGridSettings
from connectors.whatsapp import webhooks as whatsapp
from connectors.whatsapp.settings import WhatsAppSettings
from connectors.woocommerce import webhooks as woocommerce
from connectors.woocommerce.settings import WooCommerceSettings
from hub.db import Database
from hub.edge.keys import HUB
from hub.messages import decode
from hub.ratelimit import MemoryRateLimiter
from hub.settings import Secret
from tests.fuzz import rawhttp
from tests.fuzz.webhook_cases import (
    LIMIT,
    SENDGRID_KEY,
    SIGNATURE_NAMES,
    Case,
    Request,
    bodies,
    meta_cases,
    meta_payloads,
    sendgrid_cases,
    sendgrid_payloads,
    woo_cases,
)
from tests.support import eventually
from tests.webhook_support import (
    VERIFY_TOKEN,
    meta_notification,
    meta_signature,
    sendgrid_events,
    woo_order,
    woo_signature,
)
from tests.webhook_support import sendgrid_signature as sign_sendgrid

pytest_plugins = ("tests.integration.conftest_webhooks",)

# One edge serves every example of a test (starting one per example would cost seconds); each
# example checks what it changed, so the shared state is part of the property, not a leak.
FUZZ = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="session")
def sendgrid_key() -> ec.EllipticCurvePrivateKey:
    """The key the strategies sign with (overrides ``conftest_webhooks``'s)."""
    return SENDGRID_KEY


@dataclass
class Hooks:
    """The running edge, the database, and every body it was sent with a valid signature."""

    client: TestClient
    conn: asyncpg.Connection
    signed_bodies: set[bytes]

    async def send(self, request: Request) -> rawhttp.Answer:
        if request.signed:
            self.signed_bodies.add(request.body)
        server = self.client.server
        return await rawhttp.request(
            server.host,
            server.port,
            request.method,
            request.target,
            request.headers,
            request.body,
            chunked=request.chunked,
        )

    async def count(self, source: str) -> int:
        n: int = await self.conn.fetchval(
            "SELECT count(*) FROM webhook_deliveries WHERE source = $1", source
        )
        return n


StartEdge = Callable[..., Awaitable[TestClient]]


@pytest.fixture
async def hooks(start_edge: StartEdge, wh_conn: asyncpg.Connection) -> Hooks:
    """The edge with the three sources configured and a small body limit."""
    client = await start_edge(webhook_max_body=LIMIT)
    return Hooks(client, wh_conn, set())


async def check_delivery(hooks: Hooks, case: Case) -> None:
    """Send ``case`` and check every property that applies to it."""
    request = case.build()
    before = await hooks.count(case.source)
    answer = await hooks.send(request)
    stored = await hooks.count(case.source) - before

    event(f"{'signed' if request.signed else 'unsigned'} {request.method} -> {answer.status}")
    assert answer.status < 500, (answer.status, answer.body[:300])
    if request.right_signature:
        assert request.right_signature not in answer.body, "the answer gives the signature away"
    if request.method != "POST":
        assert 400 <= answer.status < 500, answer.status
        assert stored == 0
        return
    too_big = len(request.body) > LIMIT
    if not request.signed:
        assert stored == 0, "a delivery without a valid signature was stored"
        if request.ping and not too_big:
            assert answer.status == 200
            assert answer.json()["data"] == {"status": "ping"}
        elif request.clean:
            assert answer.status == (413 if too_big else 401), answer.body[:300]
            code = answer.json()["error"]["code"]
            assert code == "body_too_large" if too_big else code.startswith("invalid_"), code
        else:  # the parser may refuse a header before the edge sees it
            assert answer.status in (400, 401, 413), answer.body[:300]
    elif request.lenient and answer.status == 401:
        assert stored == 0
    else:
        assert request.clean, "strategies send validly signed deliveries with clean headers"
        if too_big:
            assert (answer.status, stored) == (413, 0)
        elif answer.status == 400:
            assert answer.json()["error"]["code"] == "invalid_payload"
            assert stored == 0
        else:
            assert answer.status == 200, answer.body[:300]
            outcome = answer.json()["data"]["status"]
            event(f"signed POST -> {outcome}")
            assert (outcome, stored) in (("accepted", 1), ("duplicate", 0))
            if outcome == "accepted":
                await check_stored(hooks, case.source, request.body)
    unsigned = await hooks.conn.fetchval(
        "SELECT count(*) FROM webhook_deliveries WHERE NOT (body = ANY($1::bytea[]))",
        list(hooks.signed_bodies),
    )
    assert unsigned == 0, "a stored delivery was never sent with a valid signature"


async def check_stored(hooks: Hooks, source: str, body: bytes) -> None:
    """The newest delivery is ``body`` as sent, without signatures, with a decodable message."""
    row = await hooks.conn.fetchrow(
        "SELECT * FROM webhook_deliveries WHERE source = $1 ORDER BY id DESC LIMIT 1", source
    )
    assert bytes(row["body"]) == body
    assert not SIGNATURE_NAMES & {name.lower() for name in row["headers"]}
    out = await hooks.conn.fetchrow(
        "SELECT type, body FROM hub_outbox WHERE message_id = $1", row["message_id"]
    )
    assert out is not None, "the delivery's outbox message is missing"
    message = decode(out["type"], bytes(out["body"]))
    assert bytes(message.payload) == body  # type: ignore[attr-defined]


# --- the three sources --------------------------------------------------------------------------


@settings(FUZZ, max_examples=150)
@given(case=woo_cases)
async def test_woocommerce_deliveries(hooks: Hooks, case: Case) -> None:
    await check_delivery(hooks, case)


@settings(FUZZ, max_examples=120)
@given(case=meta_cases)
async def test_whatsapp_deliveries(hooks: Hooks, case: Case) -> None:
    await check_delivery(hooks, case)


@settings(FUZZ, max_examples=120)
@given(case=sendgrid_cases)
async def test_sendgrid_deliveries(hooks: Hooks, case: Case) -> None:
    await check_delivery(hooks, case)


queries = st.one_of(
    st.text(max_size=30).map(lambda s: quote(s, safe="")),
    st.binary(max_size=30).map(quote_from_bytes),
)


@settings(FUZZ, max_examples=80)
@given(
    mode=st.one_of(st.just("subscribe"), st.text(max_size=12)),
    token=st.one_of(st.just(VERIFY_TOKEN), st.just(VERIFY_TOKEN + " "), st.text(max_size=30)),
    challenge=st.one_of(st.none(), st.text(max_size=40), st.binary(max_size=40)),
    extra=st.lists(st.tuples(queries, queries), max_size=3),
)
async def test_whatsapp_handshake_answers_only_the_right_token(
    hooks: Hooks, mode: str, token: str, challenge: str | bytes | None, extra: list[tuple[str, str]]
) -> None:
    params = [("hub.mode", quote(mode, safe="")), ("hub.verify_token", quote(token, safe=""))]
    if challenge is not None:
        value = challenge if isinstance(challenge, bytes) else challenge.encode()
        params.append(("hub.challenge", quote_from_bytes(value)))
    params += extra
    target = "/webhooks/whatsapp?" + "&".join(f"{k}={v}" for k, v in params)
    before = await hooks.count("whatsapp")

    answer = await hooks.send(
        Request("GET", target.encode(), (), b"", False, signed=False, ping=False, clean=True)
    )

    event(f"handshake -> {answer.status}")
    assert answer.status < 500, (answer.status, answer.body[:300])
    if answer.status != 200:
        assert VERIFY_TOKEN.encode() not in answer.body
    assert await hooks.count("whatsapp") == before
    right = mode == "subscribe" and token == VERIFY_TOKEN and challenge is not None
    plain = not extra and not isinstance(challenge, bytes)
    if plain:  # no other parameter may override or shadow the three
        assert answer.status == (200 if right else 403), (answer.status, answer.body[:200])
    if answer.status == 200 and plain:
        assert isinstance(challenge, str)
        assert answer.body == challenge.encode()


@pytest.fixture
async def unconfigured(start_edge: StartEdge, wh_conn: asyncpg.Connection) -> Hooks:
    """The edge with the three sources mounted but none given its secret."""
    client = await start_edge(
        webhooks=[
            lambda s: woocommerce.source(s, config=WooCommerceSettings()),
            lambda s: whatsapp.source(s, config=WhatsAppSettings()),
            lambda s: sendgrid.source(s, config=SendGridSettings()),
        ]
    )
    return Hooks(client, wh_conn, set())


@settings(FUZZ, max_examples=30)
@given(case=st.one_of(woo_cases, meta_cases, sendgrid_cases))
async def test_unconfigured_sources_refuse_everything_with_503(
    unconfigured: Hooks, case: Case
) -> None:
    """The one designed 5xx: a source without its secret never accepts (docs/WEBHOOKS.md)."""
    request = case.build()
    answer = await unconfigured.send(request)
    if request.method == "POST" and request.clean:
        assert answer.status == 503
        assert answer.json()["error"]["code"] == "webhook_not_configured"
        assert answer.headers["retry-after"] == "300"
    else:
        assert answer.status in (400, 403, 405, 503), answer.status
    assert await unconfigured.count(case.source) == 0


# --- what the fuzzing found, pinned with its minimal examples -----------------------------------


@settings(FUZZ, max_examples=25)
@example(stamp="2" + "0" * 308)
@given(
    stamp=st.builds(
        lambda sign, lead, zeros: sign + lead + "0" * zeros,
        st.sampled_from(["", "-"]),
        st.sampled_from("123456789"),
        st.integers(0, 4200),
    )
)
async def test_sendgrid_timestamp_of_any_length_is_refused_with_401(
    hooks: Hooks, stamp: str
) -> None:
    body = sendgrid_events("evt-1")
    headers = (
        (b"Content-Type", b"application/json"),
        (b"X-Twilio-Email-Event-Webhook-Timestamp", stamp.encode()),
        (b"X-Twilio-Email-Event-Webhook-Signature", b"MEUCIQ=="),
    )

    answer = await hooks.send(
        Request("POST", b"/webhooks/sendgrid", headers, body, False, False, False, True)
    )

    assert answer.status == 401, (answer.status, answer.body[:200])
    assert await hooks.count("sendgrid") == 0


def _signed(source: str, body: bytes, extra: tuple[rawhttp.Header, ...]) -> Request:
    """A validly signed delivery to ``source`` with ``extra`` headers."""
    if source == "woocommerce":
        headers = (
            (b"X-WC-Webhook-Topic", b"order.updated"),
            (b"X-WC-Webhook-Signature", woo_signature(body).encode()),
        )
    elif source == "whatsapp":
        headers = ((b"X-Hub-Signature-256", meta_signature(body).encode()),)
    else:
        stamp = str(int(time.time()))
        signature = sign_sendgrid(SENDGRID_KEY, stamp, body)
        headers = (
            (b"X-Twilio-Email-Event-Webhook-Timestamp", stamp.encode()),
            (b"X-Twilio-Email-Event-Webhook-Signature", signature.encode()),
        )
    names = {name.lower() for name, _ in extra}
    kept = tuple(h for h in headers if h[0].lower() not in names)
    return Request(
        "POST", f"/webhooks/{source}".encode(), kept + extra, body, False, True, False, False
    )


def _body(source: str, n: int) -> bytes:
    if source == "woocommerce":
        return woo_order(n, lines=1)
    if source == "whatsapp":
        return meta_notification(messages=[(f"wamid.{n}", "40740000000")])
    return sendgrid_events(f"evt-{n}")


_SOURCE_HEADERS = {
    "woocommerce": [
        b"X-WC-Webhook-Topic",
        b"X-WC-Webhook-Resource",
        b"X-WC-Webhook-Event",
        b"X-WC-Webhook-Delivery-ID",
        b"X-WC-Webhook-Source",
        b"User-Agent",
        b"Content-Type",
    ],
    "whatsapp": [b"User-Agent", b"Content-Type"],
    "sendgrid": [b"User-Agent", b"Content-Type"],
}
_counter = iter(range(10**9))


@settings(FUZZ, max_examples=25)
@example(target=("woocommerce", b"X-WC-Webhook-Topic"), value="order.cr\u00e9ated")
@example(target=("woocommerce", b"User-Agent"), value="\u00e9")
@given(
    target=st.sampled_from([(s, h) for s, names in _SOURCE_HEADERS.items() for h in names]),
    value=st.text(st.characters(min_codepoint=0x80, max_codepoint=0xFF), min_size=1, max_size=8),
)
async def test_signed_delivery_with_a_latin1_header_is_stored_or_refused_with_4xx(
    hooks: Hooks, target: tuple[str, bytes], value: str
) -> None:
    source, header = target
    body = _body(source, next(_counter))
    request = _signed(source, body, ((header, value.encode("latin-1")),))
    before = await hooks.count(source)

    answer = await hooks.send(request)

    assert answer.status in (200, 400), (answer.status, answer.body[:200])
    assert await hooks.count(source) - before == (1 if answer.status == 200 else 0)


async def test_one_unwritable_delivery_does_not_fail_the_good_ones_in_its_batch(
    hooks: Hooks,
) -> None:
    good = [_signed("woocommerce", woo_order(n, lines=1), ()) for n in range(61_000, 61_030)]
    bad = _signed("woocommerce", woo_order(61_999, lines=1), ((b"User-Agent", b"\xe9"),))

    answers = await asyncio.gather(*map(hooks.send, [*good[:15], bad, *good[15:]]))

    del answers[15]  # the bad one may be stored or refused; the others must not care
    assert [a.status for a in answers] == [200] * 30
    stored = await hooks.conn.fetchval(
        "SELECT count(*) FROM webhook_deliveries WHERE body = ANY($1::bytea[])",
        [r.body for r in good],
    )
    assert stored == 30


@settings(FUZZ, max_examples=15)
@example(contact="\x00")
@given(
    contact=st.text(min_size=1, max_size=12).filter(lambda s: "\x00" in s)
    | st.text(max_size=6).map(lambda s: s + "\x00")
)
async def test_whatsapp_contact_with_nul_is_stored_or_refused_with_400(
    hooks: Hooks, contact: str
) -> None:
    body = meta_notification(messages=[(f"wamid.nul.{next(_counter)}", contact)])
    before = await hooks.count("whatsapp")

    answer = await hooks.send(_signed("whatsapp", body, ()))

    assert answer.status in (200, 400), (answer.status, answer.body[:200])
    assert await hooks.count("whatsapp") - before == (1 if answer.status == 200 else 0)


# --- what is stored, its consumers take or dead-letter -----------------------------------------

CONSUMED = {"sendgrid": ("sendgrid", "notifications"), "whatsapp": ("notifications",)}


@dataclass
class Consumers:
    """The edge running the actors that consume SendGrid and WhatsApp deliveries."""

    hooks: Hooks
    expected: Counter[str] = field(default_factory=Counter)

    def outcomes(self, actor: str) -> float:
        """Messages ``actor`` is done with: handled, refused by a rule, or dead-lettered."""
        registry = self.hooks.client.app[HUB].metrics.registry
        return sum(
            sample.value
            for metric in registry.collect()
            if metric.name
            in ("hub_messages_handled", "hub_messages_rejected", "hub_messages_dead_lettered")
            for sample in metric.samples
            if sample.name.endswith("_total") and sample.labels.get("actor") == actor
        )

    def restarts(self) -> int:
        return sum(s.restarts for s in self.hooks.client.app[HUB].supervisor.status.values())


@pytest.fixture
async def consumers(
    start_edge: StartEdge, wh_conn: asyncpg.Connection, actor_db: Database
) -> Consumers:
    """The notifications actor and the SendGrid connector behind the edge (no partner calls:
    the events handler only reads and writes the hub's tables)."""
    mail = build_sendgrid(
        SendGridSettings(api_key=Secret("SG.unused"), base_url="http://127.0.0.1:9"),
        actor_db,
        limiter=MemoryRateLimiter(),
    )
    client = await start_edge(
        webhook_max_body=LIMIT, actors=(NotificationsActor(NotificationsSettings()), mail)
    )
    return Consumers(Hooks(client, wh_conn, set()))


@settings(FUZZ, max_examples=25)
@example(deliveries=[("sendgrid", b'[{"sg_event_id": "e-1", "event": 5, "delivery_id": []}]')])
@example(deliveries=[("whatsapp", b'{"entry": [{"changes": [{"value": {"contacts": 7}}]}]}')])
@given(
    deliveries=st.lists(
        st.one_of(
            st.tuples(st.just("sendgrid"), bodies(sendgrid_payloads)),
            st.tuples(st.just("whatsapp"), bodies(meta_payloads, nul=False)),
        ),
        min_size=1,
        max_size=3,
    )
)
async def test_stored_deliveries_are_handled_or_dead_lettered_by_their_consumers(
    consumers: Consumers, deliveries: list[tuple[str, bytes]]
) -> None:
    for source, body in deliveries:
        answer = await consumers.hooks.send(_signed(source, body, ()))
        event(f"{source} -> {answer.status}")
        assert answer.status in (200, 400, 413), (answer.status, answer.body[:200])
        if answer.status == 200 and answer.json()["data"]["status"] == "accepted":
            for actor in CONSUMED[source]:
                consumers.expected[actor] += 1

    for actor, n in consumers.expected.items():
        await eventually(
            lambda actor=actor, n=n: consumers.outcomes(actor) >= n,
            timeout=10,
            what=f"{actor} done with {n} deliveries",
        )
        assert consumers.outcomes(actor) == n, f"{actor} took a delivery twice"
    dead = await consumers.hooks.conn.fetch("SELECT reason, error FROM hub_dead_letters")
    for d in dead:
        event(f"dead-lettered ({d['reason']}): {d['error'][:40]}")
        assert d["error"].strip()
    assert consumers.restarts() == 0, "a consumer crashed"


@settings(FUZZ, max_examples=10)
@example(event=5)
@given(event=st.one_of(st.integers(), st.lists(st.text(max_size=3), max_size=2), st.booleans()))
async def test_a_stored_sendgrid_batch_the_connector_cannot_read_is_dead_lettered_at_once(
    consumers: Consumers, event: object
) -> None:
    body = json.dumps([{"sg_event_id": f"e-{next(_counter)}", "event": event}]).encode()
    answer = await consumers.hooks.send(_signed("sendgrid", body, ()))
    assert answer.json()["data"] == {"status": "accepted"}

    dead = await eventually(
        lambda: consumers.hooks.conn.fetchrow(
            "SELECT reason, attempts FROM hub_dead_letters WHERE actor = 'sendgrid' "
            "AND position(convert_to($1, 'UTF8') IN body) > 0",
            body.decode(),
        ),
        timeout=5,
        what="the batch's dead letter",
    )
    assert (dead["reason"], dead["attempts"]) == ("permanent", 1)
