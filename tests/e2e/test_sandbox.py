"""Sandbox mode from the command line: `cypher-hub serve` in embedded mode runs the partners'
simulators, and `cypher-hub demo` drives shop orders through the hub to SmartBill documents and
statuses back in the shop."""

from __future__ import annotations

import base64
import json
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors.sandbox.partners import PARTNERS
from connectors.sandbox.runtime import Sandbox
from hub.settings import load_hub
from tests.e2e.test_embedded import CLI, clean_env, free_port

pytestmark = pytest.mark.slow
WOO_AUTH = "Basic " + base64.b64encode(b"ck_sandbox:cs_sandbox").decode()


def get(url: str, auth: str | None = None) -> Any:
    request = urllib.request.Request(url, headers={"Authorization": auth} if auth else {})
    with urllib.request.urlopen(request, timeout=5) as resp:
        return json.loads(resp.read())


def wait_ready(proc: subprocess.Popen[bytes], base: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if get(base + "/health/ready")["status"] == "ready":
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"the hub was not ready within {seconds} s (exit {proc.poll()})")


@pytest.fixture
def sandbox_hub(tmp_path: Path) -> Iterator[tuple[str, dict[str, str], dict[str, int]]]:
    ports = {p.name: free_port() for p in PARTNERS}
    http = free_port()
    env = clean_env(
        tmp_path,
        CYPHER_HTTP_PORT=str(http),
        **{f"CYPHER_{p.port_setting.upper()}": str(ports[p.name]) for p in PARTNERS},
    )
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([*CLI, "serve"], cwd=tmp_path, env=env, stdout=out, stderr=out)
        try:
            wait_ready(proc, f"http://127.0.0.1:{http}")
            yield f"http://127.0.0.1:{http}", env, ports
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
    text = log.read_text()
    assert proc.returncode == 0, text
    assert "outbox flushed at shutdown" in text
    for title, name in (("WooCommerce", "woocommerce"), ("SmartBill", "smartbill")):
        assert f"sandbox: {title} simulator on http://127.0.0.1:{ports[name]}" in text, text


def test_demo_orders_reach_smartbill_and_their_status_comes_back_to_the_shop(
    sandbox_hub: tuple[str, dict[str, str], dict[str, int]], tmp_path: Path
) -> None:
    base, env, ports = sandbox_hub
    shown = get(base + "/sandbox")
    assert set(shown["simulated"]) == {"woocommerce", "smartbill", "sendgrid", "whatsapp"}
    shop = f"http://127.0.0.1:{ports['woocommerce']}/wp-json/wc/v3"
    assert shown["simulated"]["woocommerce"]["api"] == shop
    # The shop starts with the hub's list prices; the promotion the pricing seed starts reaches
    # it with the hub's first push, a few seconds after start. Until then a shop order of a
    # promoted product has other totals than the hub's (flagged, placed at the hub's prices).
    wait_for_sale_prices(shop)

    demo = subprocess.run(
        [*CLI, "demo", "--orders", "3", "--rate", "600", "--seed", "11", "--timeout", "90"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        timeout=180,
    )
    output = demo.stdout.decode()
    assert demo.returncode == 0, output + demo.stderr.decode()
    assert "3 orders placed, 3 went all the way through" in output

    # what the demo reported, checked at the source: the shop, SmartBill, the hub's pushes
    orders = {o["id"]: o for o in get(shop + "/orders?per_page=100", WOO_AUTH)}
    assert len(orders) == 3
    methods = {o["payment_method"]: o for o in orders.values()}
    assert set(methods) == {"stripe", "cod", "bacs"}
    assert methods["stripe"]["status"] == "completed"  # paid, shipped by the demo
    assert methods["cod"]["status"] == "completed"
    assert methods["bacs"]["status"] == "processing"  # confirmed; the transfer is awaited
    documents = get(base + "/sandbox/smartbill/documents")["documents"]
    for kind, gateway in (("invoice", "stripe"), ("invoice", "cod"), ("estimate", "bacs")):
        order = methods[gateway]
        [doc] = [d for d in documents if f":woo-{order['id']}" in d["observations"]]
        assert doc["kind"] == kind, doc
        assert doc["total"] == order["total"], (doc, order)  # the shop's gross, to the ban
    updates = get(base + "/sandbox/woocommerce/status-updates")["updates"]
    assert {u["order"] for u in updates} == set(orders)  # every status came from the hub
    emails = get(base + "/sandbox/sendgrid/emails")["emails"]
    assert any(e["subject"].startswith("Factura LDX") for e in emails)


def wait_for_sale_prices(shop: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for page in (1, 2, 3):
            url = f"{shop}/products?per_page=100&page={page}"
            if any(p["on_sale"] for p in get(url, WOO_AUTH)):
                return
        time.sleep(0.2)
    raise AssertionError(f"the hub pushed no promotion to the shop within {seconds} s")


def test_production_refuses_sandbox_mode_at_startup(tmp_path: Path) -> None:
    env = clean_env(tmp_path, CYPHER_ENV="production", CYPHER_SANDBOX="on")
    result = subprocess.run([*CLI, "serve"], cwd=tmp_path, env=env, capture_output=True, timeout=60)
    assert result.returncode == 2
    [line] = result.stderr.decode().strip().splitlines()
    assert "CYPHER_SANDBOX" in line and "production" in line


def test_demo_without_a_sandbox_says_how_to_start_one(tmp_path: Path) -> None:
    env = clean_env(tmp_path, CYPHER_HTTP_PORT=str(free_port()))
    result = subprocess.run(
        [*CLI, "demo", "--no-ship"], cwd=tmp_path, env=env, capture_output=True, timeout=60
    )
    assert result.returncode == 1
    assert "make run" in result.stderr.decode()


def test_a_taken_port_is_replaced_by_a_free_one() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        environ = {"CYPHER_SANDBOX_SMARTBILL_PORT": str(port)} | {
            f"CYPHER_{p.port_setting.upper()}": "0" for p in PARTNERS if p.name != "smartbill"
        }
        settings = load_hub(config_path="/dev/null", environ=environ)
        sandbox = Sandbox.prepare(settings, config_path="/dev/null", environ=environ)
        try:
            url = sandbox.url("smartbill")
            assert url.startswith("http://127.0.0.1:") and not url.endswith(f":{port}")
            assert sandbox.defaults["smartbill"]["base_url"] == url + "/SBORO/api"
        finally:
            sandbox.close()
