"""The simulators running inside ``cypher-hub serve`` (sandbox mode).

:meth:`Sandbox.prepare` decides which partners are simulated (``partners.py``), binds their
loopback ports at once (a port in use is replaced by a free one, with a warning) and builds the
simulators; :attr:`Sandbox.defaults` are the settings that point the connectors at them (given
to :func:`hub.settings.section_defaults` before the factories load their settings).
:meth:`Sandbox.install` adds to the hub's app a ``cleanup_ctx`` *first* in line, so the
simulators are up before any connector starts and stop after the whole hub has stopped, and
the read-only ``/sandbox`` routes (``routes.py``) that the demo uses.
"""

from __future__ import annotations

import errno
import logging
import socket
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

from aiohttp import web

from connectors.sandbox import partners, routes
from connectors.sandbox.partners import Partner
from connectors.sandbox.shop import seed_shop, whatsapp_templates
from connectors.sendgrid.simulator import SendGridSimulator
from connectors.sendgrid.simulator import create_app as sendgrid_app
from connectors.smartbill.sim_books import Books
from connectors.smartbill.simulator import SmartBillSimulator
from connectors.whatsapp.simulator import WhatsAppSimulator
from connectors.woocommerce.simulator import WooCommerceSimulator
from connectors.woocommerce.simulator import create_app as woocommerce_app
from hub.errors import ConfigError
from hub.settings import HubSettings, env_name

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/woocommerce"
WEBHOOK_TOPICS = tuple(
    f"{kind}.{event}"
    for kind in ("order", "product", "customer")
    for event in ("created", "updated", "deleted")
)


class Sandbox:
    """The simulated partners of one hub process, their ports and their state."""

    def __init__(
        self,
        settings: HubSettings,
        simulated: list[Partner],
        configured: dict[str, list[str]],
    ) -> None:
        self.settings = settings
        self.simulated = simulated
        self.configured = configured
        self.sockets: dict[str, socket.socket] = {}
        self.woocommerce: WooCommerceSimulator | None = None
        self.smartbill: SmartBillSimulator | None = None
        self.sendgrid: SendGridSimulator | None = None
        self.whatsapp: WhatsAppSimulator | None = None
        self.products = 0  # in the simulated shop
        self._runners: list[web.AppRunner] = []

    @classmethod
    def prepare(
        cls,
        settings: HubSettings,
        *,
        config_path: str | Path | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Sandbox:
        """Decide, bind the ports and build and fill the simulators (nothing serves yet; this
        runs before the event loop does, so the seeding blocks nothing)."""
        simulated, configured = partners.simulated(
            settings, config_path=config_path, environ=environ
        )
        sandbox = cls(settings, simulated, configured)
        try:
            for partner in simulated:
                port = getattr(settings, partner.port_setting)
                sandbox.sockets[partner.name] = _bind(partner, port)
        except BaseException:
            sandbox.close()
            raise
        names = {p.name for p in simulated}
        if "woocommerce" in names:
            sandbox.woocommerce = WooCommerceSimulator(
                keys={partners.WOO_KEY: (partners.WOO_SECRET, "read_write")}
            )
            sandbox.products = seed_shop(sandbox.woocommerce)
            hooks = partners.edge_url(settings) + WEBHOOK_PATH
            for topic in WEBHOOK_TOPICS:
                sandbox.woocommerce.add_webhook(topic, hooks, partners.WOO_WEBHOOK_SECRET)
        if "smartbill" in names:
            sandbox.smartbill = SmartBillSimulator(
                username=partners.SMARTBILL_USER,
                token=partners.SMARTBILL_TOKEN,
                books=Books(cif=partners.SMARTBILL_CIF),
            )
        if "sendgrid" in names:
            sandbox.sendgrid = SendGridSimulator(api_keys={partners.SENDGRID_KEY})
        if "whatsapp" in names:
            sandbox.whatsapp = WhatsAppSimulator(
                token=partners.WHATSAPP_TOKEN,
                phone_number_id=partners.WHATSAPP_PHONE_ID,
                app_secret=partners.WHATSAPP_APP_SECRET,
                templates=whatsapp_templates(),
            )
        return sandbox

    @property
    def active(self) -> bool:
        """True when at least one partner is simulated."""
        return bool(self.simulated)

    def url(self, name: str) -> str:
        """``http://127.0.0.1:<port>`` of a simulated partner."""
        port = self.sockets[name].getsockname()[1]
        return f"http://{partners.LOOPBACK}:{port}"

    @property
    def defaults(self) -> dict[str, dict[str, Any]]:
        """Each simulated partner's settings pointing at its simulator."""
        key = self.sendgrid.public_key if self.sendgrid is not None else ""
        return {
            p.name: partners.section_values(p.name, self.url(p.name), sendgrid_public_key=key)
            for p in self.simulated
        }

    def describe(self) -> dict[str, Any]:
        """What runs where (the ``GET /sandbox`` answer; sandbox credentials only)."""
        found: dict[str, Any] = {}
        if self.woocommerce is not None:
            url = self.url("woocommerce")
            found["woocommerce"] = {
                "url": url,
                "api": url + "/wp-json/wc/v3",
                "consumer_key": partners.WOO_KEY,
                "consumer_secret": partners.WOO_SECRET,
                "webhooks": partners.edge_url(self.settings) + WEBHOOK_PATH,
            }
        if self.smartbill is not None:
            found["smartbill"] = {
                "url": self.url("smartbill"),
                "api": self.url("smartbill") + "/SBORO/api",
                "series": [partners.INVOICE_SERIES, partners.PROFORMA_SERIES],
            }
        if self.sendgrid is not None:
            found["sendgrid"] = {"url": self.url("sendgrid")}
        if self.whatsapp is not None:
            found["whatsapp"] = {"url": self.url("whatsapp")}
        return {
            "simulated": found,
            "configured": {name: sorted(fields) for name, fields in self.configured.items()},
        }

    def install(self, app: web.Application) -> None:
        """Run the simulators for the app's lifetime (first up, last down) and add the routes."""
        app[SANDBOX] = self
        app.cleanup_ctx.insert(0, self._serve)
        if self.active:
            routes.add(app, self)

    async def _serve(self, app: web.Application) -> AsyncIterator[None]:
        if not self.settings.sandbox_wanted:
            log.info(
                'sandbox: off (sandbox = %r; "auto" runs it in development on the embedded '
                "database)",
                self.settings.sandbox,
            )
            yield
            return
        for name, partner in self.configured.items():
            title = partners.BY_NAME[name].title
            log.info(
                "sandbox: %s is configured (%s set): the real partner is used",
                title,
                ", ".join(env_name(f, name) for f in partner),
            )
        try:
            await self._start()
            yield
        finally:
            await self._stop()

    async def _start(self) -> None:
        if self.woocommerce is not None:
            await self._run("woocommerce", woocommerce_app(self.woocommerce))
            log.info(
                "sandbox: WooCommerce simulator on %s (shop API /wp-json/wc/v3, key %s; "
                "%d products of the demo catalog; webhooks to %s)",
                self.url("woocommerce"),
                partners.WOO_KEY,
                self.products,
                partners.edge_url(self.settings) + WEBHOOK_PATH,
            )
        if self.smartbill is not None:
            await self._run("smartbill", self.smartbill.app())
            log.info(
                "sandbox: SmartBill simulator on %s (API /SBORO/api, company %s, series %s and %s)",
                self.url("smartbill"),
                partners.SMARTBILL_CIF,
                partners.INVOICE_SERIES,
                partners.PROFORMA_SERIES,
            )
        if self.sendgrid is not None:
            await self._run("sendgrid", sendgrid_app(self.sendgrid))
            log.info(
                "sandbox: SendGrid simulator on %s (emails are kept there, none is sent)",
                self.url("sendgrid"),
            )
        if self.whatsapp is not None:
            await self._run("whatsapp", self.whatsapp.app())
            log.info(
                "sandbox: WhatsApp simulator on %s (templates %s; nothing is sent)",
                self.url("whatsapp"),
                ", ".join(sorted(self.whatsapp.templates)) or "none",
            )
        if not self.simulated and self.settings.sandbox_wanted:
            log.info("sandbox: every partner is configured; no simulator runs")

    async def _run(self, name: str, sim_app: web.Application) -> None:
        runner = web.AppRunner(sim_app, access_log=None, handle_signals=False)
        await runner.setup()
        self._runners.append(runner)
        await web.SockSite(runner, self.sockets[name]).start()

    async def _stop(self) -> None:
        for sim in (self.smartbill, self.sendgrid, self.whatsapp):
            if sim is not None:
                sim.release()  # answers held by a fault, so the servers can stop
        while self._runners:
            await self._runners.pop().cleanup()
        self.close()

    def close(self) -> None:
        """Close the sockets (a hub that never started; idempotent)."""
        for sock in self.sockets.values():
            sock.close()


SANDBOX = web.AppKey("sandbox", Sandbox)


def _bind(partner: Partner, port: int) -> socket.socket:
    """A listening loopback socket on ``port``, or on a free one if it is taken."""
    try:
        return _listen(port)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise ConfigError(
                f"invalid setting {env_name(partner.port_setting)} ({partner.port_setting}): "
                f"cannot listen on {partners.LOOPBACK}:{port} ({exc.strerror})"
            ) from None
    sock = _listen(0)
    log.warning(
        "sandbox: port %d of the %s simulator is in use; it takes port %d instead "
        "(set %s to choose)",
        port,
        partner.title,
        sock.getsockname()[1],
        env_name(partner.port_setting),
    )
    return sock


def _listen(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((partners.LOOPBACK, port))
        sock.listen(128)  # taken now: a second hub sees the port in use
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock
