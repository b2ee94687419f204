"""API7 — server side request forgery, and template injection (SSTI).

Where a caller's text meets something that could fetch a URL: the quotation PDF (WeasyPrint
fetches what HTML and CSS name) and the access token (a JWT header may name a key URL); no
request decides any other outbound URL (see ``tests/security/__init__.py``). Templates are the
shop's files: a customer's text is data, rendered as text, never compiled as a template."""

from __future__ import annotations

import base64
import io
import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import jwt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from pypdf import PdfReader

from actors.notifications.rendering import Renderer
from hub.auth import Role
from tests.e2e.api_support import Edge
from tests.integration.notifications.support import SETTINGS
from tests.security.support import ALPHA, create_quote, quote_body

SSTI = "{{ 7 * 7 }} {{ ''.__class__.__mro__ }} {% for x in range(3) %}loop{% endfor %}"


class Listener:
    """An HTTP server on loopback that records every request it gets (none is expected)."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        self.url = ""


@pytest.fixture
async def listener() -> AsyncIterator[Listener]:
    state = Listener()

    async def record(request: web.Request) -> web.Response:
        state.hits.append(f"{request.method} {request.path_qs}")
        return web.Response(body=b"GIF89a", content_type="image/gif")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", record)
    async with TestServer(app, host="127.0.0.1") as server:
        state.url = str(server.make_url("")).rstrip("/")
        yield state


async def test_a_quote_pdf_fetches_nothing_its_customer_wrote_and_runs_no_template_code(
    portal: Edge, listener: Listener, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="hub.pdf")
    alpha = await portal.as_role(Role.b2b_customer, customer=ALPHA)
    fetch = listener.url
    body = quote_body(notes=f"{SSTI} <img src='{fetch}/notes.gif'>")
    body["customer"] |= {
        "name": f'Lumina <img src="{fetch}/name.gif"><link rel=stylesheet href="{fetch}/a.css">',
        "contact": f"</style><style>@import url({fetch}/b.css);</style>"
        f'<iframe src="http://169.254.169.254/latest/meta-data/"></iframe>',
    }
    quote = await create_quote(portal, alpha, body)
    resp = await portal.client.get(
        f"/api/v1/quotations/{quote['id']}/pdf", headers={"Authorization": f"Bearer {alpha}"}
    )
    assert resp.status == 200 and resp.content_type == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(await resp.read())).pages)
    assert listener.hits == []
    # the markup was printed as text: it never reached the fetcher (which would refuse it)
    assert "refused to fetch" not in caplog.text
    assert "name.gif" in " ".join(text.split())
    assert "{{ 7 * 7 }}" in text and "looploop" not in text


async def test_a_token_naming_a_key_url_is_refused_without_fetching_it(
    edge: Edge, listener: Listener
) -> None:
    """``jku``/``x5u``/``kid`` in a JWT header name where to find the key: an attacker's URL
    there must be neither fetched nor trusted."""
    user_id, _ = await edge.user(Role.sales, email="ana@ledux.ro")
    now = int(datetime.now(UTC).timestamp())
    claims = {
        "sub": str(user_id),
        "kind": "user",
        "name": "ana@ledux.ro",
        "roles": ["admin"],
        "cid": None,
        "iat": now,
        "exp": now + 600,
        "iss": "cypher-hub",
        "jti": "x",
    }
    attacker = "an attacker's own key of at least 32 bytes"
    headers = {
        "jku": f"{listener.url}/jwks.json",
        "x5u": f"{listener.url}/cert.pem",
        "kid": f"{listener.url}/kid",
    }
    forged = jwt.encode(claims, attacker, algorithm="HS256", headers=headers)
    embedded = jwt.encode(
        claims,
        attacker,
        algorithm="HS256",
        headers={"jwk": {"kty": "oct", "k": base64.urlsafe_b64encode(attacker.encode()).decode()}},
    )
    for token in (forged, embedded):
        status, body, _ = await edge.call("GET", "/api/v1/users", token=token)
        assert (status, body["error"]["code"]) == (401, "token_invalid")
    assert listener.hits == []


def test_notifications_render_a_customers_text_as_text() -> None:
    renderer = Renderer(SETTINGS.templates_dir)
    name = f"{SSTI} <script>alert(1)</script>"
    out = renderer.render(
        "order_delivered", "ro", {"order_id": "o-1", "number": "CMD-1", "customer_name": name}
    )
    assert SSTI in out.text and "49" not in out.text and "looploop" not in out.text
    assert "<script>" not in out.html and "&lt;script&gt;" in out.html
    assert out.whatsapp_parameters[0] == name  # sent as a parameter, never as template text
    assert json.dumps(out.whatsapp_parameters).count("{{") == 2
