"""Export over HTTP: products from a server-side cursor into a chunked response, about 64 KiB
at a time, in the import's formats (an export imports back unchanged)."""

from __future__ import annotations

import csv
import io
import logging
from datetime import UTC, datetime

from aiohttp import web

from actors.catalog import store
from actors.catalog.rows import COLUMNS, csv_cells, json_line
from actors.catalog.views import ExportQuery
from hub.edge.api import Call

log = logging.getLogger(__name__)

CHUNK = 64 * 1024

HIDDEN_FROM_CUSTOMERS = ("cost", "margin")


async def run_export(call: Call[None, ExportQuery], *, staff: bool) -> web.StreamResponse:
    """Stream the products (B2B: active ones, without cost and margin) as CSV or NDJSON."""
    q = call.query
    statuses = [q.status] if q.status is not None else None
    if not staff:
        statuses = [s for s in statuses or ["active"] if s == "active"]
    is_csv = q.format == "csv"
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    resp = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8" if is_csv else "application/x-ndjson",
            "Content-Disposition": f'attachment; filename="catalog-{stamp}.'
            f'{"csv" if is_csv else "ndjson"}"',
            "X-Request-ID": call.request_id,
        }
    )
    resp.enable_chunked_encoding()
    await resp.prepare(call.request)
    hidden = () if staff else HIDDEN_FROM_CUSTOMERS
    keep = [i for i, c in enumerate(COLUMNS) if c not in hidden]
    text = io.StringIO()
    writer = csv.writer(text)
    buffer = bytearray()
    if is_csv:
        writer.writerow([COLUMNS[i] for i in keep])
    rows = 0
    try:
        async with (
            call.db.pool.acquire() as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            async for p in store.stream_products(conn, status=statuses, category=q.category):
                rows += 1
                updated = p.updated_at.isoformat()
                if is_csv:
                    cells = csv_cells(p, updated)
                    writer.writerow([cells[i] for i in keep])
                else:
                    buffer += json_line(p, updated, hide=hidden)
                if text.tell() >= CHUNK or len(buffer) >= CHUNK:
                    await _send(resp, text, buffer)
        await _send(resp, text, buffer)
        await resp.write_eof()
    except ConnectionResetError:
        log.info("export abandoned by the client after %d rows", rows)
    except Exception:
        # The status line is sent: no error envelope can follow. Cutting the connection before
        # the last chunk makes the client see a broken transfer, never a complete-looking file.
        log.exception("export failed after %d rows; connection cut", rows)
        if call.request.transport is not None:
            call.request.transport.close()
    return resp


async def _send(resp: web.StreamResponse, text: io.StringIO, buffer: bytearray) -> None:
    if text.tell():
        await resp.write(text.getvalue().encode())
        text.seek(0)
        text.truncate()
    if buffer:
        await resp.write(bytes(buffer))
        buffer.clear()
