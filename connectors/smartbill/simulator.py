"""A local stand-in for the SmartBill Cloud REST API (tests, sandbox, demo).

It serves the real paths under ``/SBORO/api`` and answers like SmartBill (docs/SMARTBILL.md):
preemptive Basic auth (``username:token``; 401 with Tomcat's HTML page), the company CIF in
``companyVatCode`` or ``?cif=``, the body rules of the spec with its ``errorText`` messages in a
``Fault`` (400), consecutive numbers per series, PDFs, payment status, VAT rates, stock. Its rate
limit is SmartBill's: more than ``rate.calls`` calls in ``rate.window`` seconds (30 in 10) and
every call is refused with 403 for ``rate.block`` seconds (600), ``X-RateLimit-*`` headers on
the way. Faults can be injected per path (:meth:`SmartBillSimulator.fail_next`, ``outage``,
``hold_next``, ``drop_next``, ``latency``), and every request is logged (:attr:`calls`) with the
simulator's clock (injectable), its status and its effect.

Sandbox: ``python -m connectors.smartbill.simulator --port 8028``, then
``CYPHER_SMARTBILL_BASE_URL=http://127.0.0.1:8028/SBORO/api``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

from aiohttp import web

from connectors.smartbill import sim_api
from connectors.smartbill.sim_books import Books, SimDocument
from connectors.smartbill.sim_rules import Refused

API = "/SBORO/api"
BUCHAREST = ZoneInfo("Europe/Bucharest")
BLOCKED = "Utilizatorul a fost blocat pentru ca s-a depasit limita maxima de apeluri permise."


@dataclass
class Call:
    """One request as the simulator saw it (``at``: the simulator's clock)."""

    at: float
    method: str
    path: str  # without /SBORO/api
    query: dict[str, str]
    status: int | None = None  # None: no answer reached the client (dropped, or still held)
    effect: str | None = None  # what changed: "issued invoice LDX0001", ...
    error_text: str | None = None


@dataclass
class Fault:
    """An injected failure for the next ``remaining`` requests to ``path`` (None: any path)."""

    kind: Literal["status", "hold", "drop"]
    remaining: int
    path: str | None = None
    status: int = 500


@dataclass
class RateLimit:
    """SmartBill's limit: fixed windows of ``window`` s from the first call, ``calls`` each."""

    calls: int = 30
    window: float = 10.0
    block: float = 600.0
    extend_block: bool = False  # does a call during the block restart it? (undocumented)
    blocked_until: float = 0.0
    start: float = -math.inf
    used: int = 0

    def admit(self, now: float) -> tuple[bool, dict[str, str]]:
        """Count one call; whether it may proceed, and the ``X-RateLimit-*`` headers."""
        if now < self.blocked_until:
            if self.extend_block:
                self.blocked_until = now + self.block
            return False, {}
        if now >= self.start + self.window:
            self.start, self.used = now, 0
        self.used += 1
        headers = {
            "X-RateLimit-Limit": str(self.calls),
            "X-RateLimit-Remaining": str(max(0, self.calls - self.used)),
            "X-RateLimit-Reset": str(math.ceil(self.start + self.window)),
        }
        if self.used > self.calls:
            self.blocked_until = now + self.block
            return False, headers
        return True, headers


@dataclass
class SmartBillSimulator:
    """One simulated SmartBill account; tests read ``calls`` and ``books`` and steer faults."""

    username: str = "api@ledux.ro"
    token: str = "sim-token"
    books: Books = field(default_factory=Books)
    rate: RateLimit = field(default_factory=RateLimit)
    clock: Callable[[], float] = time.time
    latency: dict[str, float] = field(default_factory=dict)  # path (or "*") -> seconds
    hold_seconds: float = 60.0
    calls: list[Call] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    outages: list[tuple[float, float, str | None, int]] = field(default_factory=list)
    _released: asyncio.Event | None = None

    # --- knobs ------------------------------------------------------------------------------

    def fail_next(self, n: int = 1, *, status: int = 500, path: str | None = None) -> None:
        """Answer ``status`` (no effect) to the next ``n`` requests to ``path``."""
        self.faults.append(Fault("status", n, path, status))

    def hold_next(self, n: int = 1, *, path: str | None = None) -> None:
        """Do the work of the next ``n`` requests, then hold the answer (a client timeout)."""
        self.faults.append(Fault("hold", n, path))

    def drop_next(self, n: int = 1, *, path: str | None = None) -> None:
        """Do the work of the next ``n`` requests, then close the connection unanswered."""
        self.faults.append(Fault("drop", n, path))

    def outage(self, seconds: float, *, path: str | None = None, status: int = 500) -> None:
        """Answer ``status`` to every request (to ``path``) for ``seconds`` of the clock."""
        now = self.clock()
        self.outages.append((now, now + seconds, path, status))

    def release(self) -> None:
        """Let every held answer go now (test teardown)."""
        if self._released is not None:
            self._released.set()

    # --- views ------------------------------------------------------------------------------

    def documents(
        self, kind: str | None = None, *, series: str | None = None, text: str | None = None
    ) -> list[SimDocument]:
        """Issued documents (drafts included), by kind, series, or ``text`` in their
        ``mentions``/``observations`` (where the hub writes the order number)."""
        return [
            d
            for d in self.books.documents
            if (kind is None or d.kind == kind)
            and (series is None or d.series == series)
            and (text is None or text in f"{d.body.get('mentions')} {d.body.get('observations')}")
        ]

    def requests(self, path: str | None = None, method: str | None = None) -> list[Call]:
        """The logged requests (to ``path``, with ``method``)."""
        return [
            c
            for c in self.calls
            if (path is None or c.path == path) and (method is None or c.method == method)
        ]

    def busiest(self, window: float | None = None) -> int:
        """The most requests received in any ``window`` seconds (sliding; default the limit's)."""
        span = self.rate.window if window is None else window
        times = sorted(c.at for c in self.calls)
        most, first = 0, 0
        for last, at in enumerate(times):
            while at - times[first] >= span:
                first += 1
            most = max(most, last - first + 1)
        return most

    def pay(self, series: str, number: str, amount: Decimal) -> None:
        """Record a payment of ``amount`` on an invoice (as staff would in SmartBill Cloud)."""
        self.books.get("invoice", series, number).paid += amount

    def invoice_estimate(
        self, series: str, number: str, *, invoice_series: str | None = None
    ) -> SimDocument:
        """As the accountant in SmartBill Cloud: make the invoice of a proforma (what
        ``POST /invoice`` with ``useEstimateDetails`` and ``estimate{}`` does)."""
        body = {
            "companyVatCode": self.books.cif,
            "seriesName": invoice_series or self.books.default_series["f"],
            "useEstimateDetails": True,
            "estimate": {"seriesName": series, "number": number},
        }
        return self.books.issue("invoice", body, self.today())

    def collect(
        self, series: str, number: str, amount: Decimal | None = None, *, kind: str = "Ordin plata"
    ) -> Decimal:
        """As the accountant: record a collection on an invoice (what ``POST /payment`` does;
        ``amount`` None: what it still owes). Returns the amount recorded."""
        doc = self.books.get("invoice", series, number)
        body: dict[str, Any] = {
            "companyVatCode": self.books.cif,
            "issueDate": self.today().isoformat(),
            "type": kind,
            "invoicesList": [{"seriesName": series, "number": number}],
        }
        if amount is None:
            body["useInvoiceDetails"] = True
        else:
            body.update(value=str(amount), client={"name": doc.client.get("name")})
        value, _, _ = self.books.collect(body)
        return value

    def today(self) -> date:
        """The simulator's date in Bucharest (SmartBill's default issue date)."""
        return datetime.fromtimestamp(self.clock(), BUCHAREST).date()

    # --- HTTP -------------------------------------------------------------------------------

    def app(self) -> web.Application:
        """The aiohttp app (paths under ``/SBORO/api``)."""
        app = web.Application()
        for method, path, handler in sim_api.ROUTES:
            app.router.add_route(method, API + path, self._route(handler))
        return app

    def _route(
        self, handler: sim_api.Handler
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def serve(request: web.Request) -> web.StreamResponse:
            return await self._serve(request, handler)

        return serve

    async def _serve(self, request: web.Request, handler: sim_api.Handler) -> web.StreamResponse:
        path = request.path.removeprefix(API)
        call = Call(self.clock(), request.method, path, dict(request.query))
        self.calls.append(call)
        delay = self.latency.get(path, self.latency.get("*", 0.0))
        if delay:
            await asyncio.sleep(delay)
        response, handled = await self._answer(request, handler, call)
        after = self._take(("hold", "drop"), path) if handled else None
        if after is not None and after.kind == "drop":
            if request.transport is not None:
                request.transport.abort()  # the client sees the connection close, no answer
            return response
        if after is not None:
            self._released = self._released or asyncio.Event()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._released.wait(), self.hold_seconds)
        call.status = response.status
        return response

    async def _answer(
        self, request: web.Request, handler: sim_api.Handler, call: Call
    ) -> tuple[web.Response, bool]:
        if not self._authorized(request.headers.get("Authorization", "")):
            return _tomcat(401, "Unauthorized"), False
        admitted, limit_headers = self.rate.admit(call.at)
        if not admitted:
            call.error_text = BLOCKED
            return _fault(403, BLOCKED, limit_headers), False
        failure = self._failure(call.path, call.at)
        if failure is not None:
            return _tomcat(failure, "Internal Server Error"), False
        try:
            body = await _body(request)
            answer = handler(self, request.query, body)
        except Refused as refused:
            call.error_text = refused.text
            if refused.status == 401:
                return _tomcat(401, "Unauthorized"), True
            return _fault(refused.status, refused.text, limit_headers), True
        call.effect, call.error_text = answer.effect, answer.error_text
        answer.response.headers.update(limit_headers)
        return answer.response, True

    def _authorized(self, header: str) -> bool:
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            pair = base64.b64decode(encoded, validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return False
        return pair == f"{self.username}:{self.token}"

    def _failure(self, path: str, now: float) -> int | None:
        fault = self._take(("status",), path)
        if fault is not None:
            return fault.status
        for start, end, where, status in self.outages:
            if start <= now < end and where in (None, path):
                return status
        return None

    def _take(self, kinds: tuple[str, ...], path: str) -> Fault | None:
        for fault in self.faults:
            if fault.kind in kinds and fault.path in (None, path) and fault.remaining > 0:
                fault.remaining -= 1
                return fault
        return None


async def _body(request: web.Request) -> dict[str, Any] | None:
    if request.method not in ("POST", "PUT") or not request.can_read_body:
        return None
    if request.content_type != "application/json":
        raise Refused("Unsupported Media Type: only application/json is simulated", 415)
    raw = await request.read()
    try:
        body = json.loads(raw, parse_float=Decimal)
    except ValueError:
        raise Refused("Continutul cererii nu este un JSON valid.") from None
    if not isinstance(body, dict):
        raise Refused("Continutul cererii nu este un JSON valid.")
    return body


def _fault(status: int, text: str, headers: dict[str, str]) -> web.Response:
    body = {"Fault": {"errorText": text, "message": "", "number": ""}}
    return web.json_response(body, status=status, headers=headers)


def _tomcat(status: int, title: str) -> web.Response:
    html = (
        f"<html><head><title>Apache Tomcat - Error report</title></head><body>"
        f"<h1>HTTP Status {status} - {title}</h1><hr/><p><b>type</b> Status report</p>"
        f"</body></html>"
    )
    return web.Response(status=status, text=html, content_type="text/html")


def main() -> None:
    """Serve the simulator on a loopback port (sandbox mode)."""
    parser = argparse.ArgumentParser(description="SmartBill Cloud REST API simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8028)
    parser.add_argument("--username", default="api@ledux.ro")
    parser.add_argument("--token", default="sim-token")
    parser.add_argument("--cif", default="RO18547290")
    args = parser.parse_args()
    sim = SmartBillSimulator(username=args.username, token=args.token, books=Books(cif=args.cif))
    print(f"SmartBill simulator on http://{args.host}:{args.port}{API} (company {args.cif})")
    web.run_app(sim.app(), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
