"""Embedded mode from the command line: nothing configured, nothing installed but the project."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from hub.migrate import discover
from hub.settings import PROJECT_ROOT

pytestmark = pytest.mark.slow
CLI = [sys.executable, "-m", "hub.cli"]


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CYPHER_")}
    env.update(CYPHER_DATA_DIR=str(tmp_path / ".cypher"), **extra)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def get_json(url: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_serve_comes_up_ready_in_embedded_mode_and_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    env = clean_env(tmp_path, CYPHER_HTTP_PORT=str(port))
    proc = subprocess.Popen(
        [*CLI, "serve"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 60
        status, body = 0, {}
        while time.monotonic() < deadline:
            try:
                status, body = get_json(f"http://127.0.0.1:{port}/health/ready")
            except OSError:
                status = 0
            if status == 200 or proc.poll() is not None:
                break
            time.sleep(0.1)
        assert status == 200, body
        checks = body["checks"]
        assert isinstance(checks, dict)
        assert checks["database"]["mode"].startswith("embedded")
        assert checks["bus"]["mode"].startswith("memory")
        assert checks["cache"]["mode"].startswith("memory")
        demo_answers(tmp_path, env, f"http://127.0.0.1:{port}")
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    log = out.decode()
    assert proc.returncode == 0, log
    assert "database: embedded" in log
    assert "bus: memory" in log
    assert "cache: memory" in log
    assert (tmp_path / ".cypher" / "pg" / "PG_VERSION").exists()


def call(base: str, path: str, token: str, body: object = None) -> dict[str, Any]:
    request = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as resp:
        answer: dict[str, Any] = json.loads(resp.read())
        return answer


def demo_answers(tmp_path: Path, env: dict[str, str], base: str) -> None:
    """The API answers with the seeded demo at once: products, stock, a priced cart."""
    password = "demo password 2026"
    created = subprocess.run(
        [*CLI, "users", "create", "--email", "ops@ledux.ro", "--role", "ops", "--password-stdin"],
        cwd=tmp_path,
        env=env,
        input=password.encode(),
        capture_output=True,
        timeout=120,
    )
    assert created.returncode == 0, created.stderr.decode()
    login = urllib.request.Request(
        base + "/api/v1/auth/login",
        data=json.dumps({"email": "ops@ledux.ro", "password": password}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(login, timeout=10) as resp:
        token = json.loads(resp.read())["data"]["access_token"]

    products = call(base, "/api/v1/catalog/products?limit=200&status=active", token)
    assert products["metadata"]["next_cursor"], "the demo has more than 200 products"
    strips = [p for p in products["data"] if p["unit"] == "metre" and p["kind"] == "product"]
    assert strips
    stock = call(base, "/api/v1/inventory/stock?limit=200", token)
    assert {row["warehouse"] for row in stock["data"]} == {"HQ", "W2", "W3"}
    sku = strips[0]["sku"]

    def quoted() -> dict[str, Any] | None:  # the price inputs arrive through the bus
        try:
            return call(
                base, "/api/v1/prices/quote", token, {"lines": [{"sku": sku, "quantity": "5"}]}
            )
        except urllib.error.HTTPError:
            return None

    deadline = time.monotonic() + 30
    quote = quoted()
    while quote is None and time.monotonic() < deadline:
        time.sleep(0.2)
        quote = quoted()
    assert quote is not None, f"no price for {sku}"
    line = quote["data"]["lines"][0]
    assert Decimal(line["line_gross"]) == Decimal(line["line_net"]) + Decimal(line["line_vat"])
    assert line["vat_rate"] == "0.21"


def test_a_bad_setting_stops_startup_with_one_line_naming_it(tmp_path: Path) -> None:
    env = clean_env(tmp_path, CYPHER_HTTP_PORT="eighty")
    result = subprocess.run([*CLI, "serve"], cwd=tmp_path, env=env, capture_output=True, timeout=60)
    assert result.returncode == 2
    lines = result.stderr.decode().strip().splitlines()
    assert len(lines) == 1, lines
    assert "CYPHER_HTTP_PORT" in lines[0]


def test_production_refuses_to_start_without_service_urls(tmp_path: Path) -> None:
    env = clean_env(tmp_path, CYPHER_ENV="production")
    result = subprocess.run([*CLI, "serve"], cwd=tmp_path, env=env, capture_output=True, timeout=60)
    assert result.returncode == 2
    assert "CYPHER_DATABASE_URL" in result.stderr.decode()


def test_migrate_and_dlq_work_on_the_embedded_database(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    migrated = subprocess.run(
        [*CLI, "migrate"], cwd=tmp_path, env=env, capture_output=True, timeout=120
    )
    assert migrated.returncode == 0, migrated.stderr.decode()
    latest = discover(PROJECT_ROOT / "migrations")[-1]
    assert f"database is at migration {latest.filename[:-4]}" in migrated.stdout.decode()
    listed = subprocess.run(
        [*CLI, "dlq", "list"], cwd=tmp_path, env=env, capture_output=True, timeout=120
    )
    assert listed.returncode == 0, listed.stderr.decode()
    assert listed.stdout.decode().strip() == "no dead letters"
