"""Read-only ``/sandbox`` routes on the hub's edge (sandbox mode only): what runs where, and
what the simulators hold that their real partners have no API to list — the documents made in
SmartBill, the emails given to SendGrid, the order statuses the hub set in the shop. They read
the simulator objects of this process; the demo (``cypher-hub demo``) polls them."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from connectors.sandbox.runtime import Sandbox

_ORDER_PATH = re.compile(r"^/orders/(\d+)$")


def add(app: web.Application, sandbox: Sandbox) -> None:
    """``GET /sandbox`` and the simulators' views under it."""

    async def index(request: web.Request) -> web.Response:
        return web.json_response(sandbox.describe())

    async def documents(request: web.Request) -> web.Response:
        if sandbox.smartbill is None:
            raise web.HTTPNotFound(text="SmartBill is not simulated here")
        text = request.query.get("text") or None
        found = [
            {
                "kind": doc.kind,
                "series": doc.series,
                "number": doc.number,
                "issue_date": doc.issue_date.isoformat(),
                "total": str(doc.total),
                "client": str(doc.client.get("name", "")),
                "mentions": str(doc.body.get("mentions") or ""),
                "observations": str(doc.body.get("observations") or ""),
            }
            for doc in sandbox.smartbill.documents(text=text)
        ]
        return web.json_response({"documents": found})

    async def emails(request: web.Request) -> web.Response:
        if sandbox.sendgrid is None:
            raise web.HTTPNotFound(text="SendGrid is not simulated here")
        found = [
            {"to": mail.to, "subject": mail.subject, "categories": mail.categories}
            for mail in sandbox.sendgrid.accepted
        ]
        return web.json_response({"emails": found})

    async def status_updates(request: web.Request) -> web.Response:
        if sandbox.woocommerce is None:
            raise web.HTTPNotFound(text="WooCommerce is not simulated here")
        found: list[dict[str, Any]] = []
        for call in sandbox.woocommerce.calls("PUT", "/orders/"):
            match = _ORDER_PATH.match(call.path)
            body = call.body if isinstance(call.body, dict) else {}
            if match and call.status == 200 and body.get("status"):
                found.append({"order": int(match.group(1)), "status": body["status"]})
        return web.json_response({"updates": found})

    app.router.add_get("/sandbox", index)
    app.router.add_get("/sandbox/smartbill/documents", documents)
    app.router.add_get("/sandbox/sendgrid/emails", emails)
    app.router.add_get("/sandbox/woocommerce/status-updates", status_updates)
