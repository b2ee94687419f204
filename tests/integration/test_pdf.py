"""PDF rendering in worker processes: Romanian text, no remote fetches, a time limit."""

from __future__ import annotations

import asyncio
import io
import logging
import os
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from pypdf import PdfReader

from hub.pdf import PdfRenderer, RenderTimeout

pytestmark = pytest.mark.slow

DOC = """<!doctype html><html lang="ro"><meta charset="utf-8">
<style>body {{ font-family: 'DejaVu Sans', sans-serif; }}</style>
<h1>Ofertă de preț OF-2026-00042</h1>
<p>Bandă LED 24V — {note}</p>
<p>Valabilă până la: 12.12.2026 · TVA 21% · Total: 1.234,56 lei</p>
</html>"""


@pytest.fixture
async def renderer() -> AsyncIterator[PdfRenderer]:
    r = PdfRenderer(workers=1, max_tasks=2, timeout=20)
    yield r
    await r.close()


def text_of(document: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(document)).pages)


async def test_romanian_text_comes_out_whole(renderer: PdfRenderer) -> None:
    document = await renderer.render(DOC.format(note="ăâîșț ĂÂÎȘȚ, mulțumim"))
    assert document.startswith(b"%PDF-")
    text = text_of(document)
    assert "Ofertă de preț OF-2026-00042" in text
    assert "ăâîșț ĂÂÎȘȚ, mulțumim" in text
    assert "TVA 21%" in text


async def test_rendering_happens_in_recycled_worker_processes(renderer: PdfRenderer) -> None:
    workers: list[set[int]] = []
    for _ in range(5):  # max_tasks=2: the third and fifth documents get a fresh worker
        assert (await renderer.render(DOC.format(note="x"))).startswith(b"%PDF-")
        pool = renderer._pool
        assert pool is not None
        workers.append(set(pool._processes))  # type: ignore[attr-defined]
    assert os.getpid() not in set().union(*workers)
    assert workers[0] == workers[1] != workers[2] == workers[3] != workers[4]
    assert len(set().union(*workers)) == 3


async def test_a_template_cannot_make_the_hub_fetch_urls_or_read_files(
    renderer: PdfRenderer, caplog: pytest.LogCaptureFixture
) -> None:
    hits: list[str] = []

    async def record(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.Response(body=b"GIF89a", content_type="image/gif")

    app = web.Application()
    app.router.add_get("/{tail:.*}", record)
    async with TestServer(app) as server:
        internal = str(server.make_url("/latest/meta-data/iam"))
        html = DOC.format(
            note=f'<img src="{internal}"><img src="file:///etc/passwd">'
            f'<link rel="stylesheet" href="{server.make_url("/x.css")}">'
        )
        with caplog.at_level(logging.WARNING, logger="hub.pdf"):
            document = await renderer.render(html)
    assert document.startswith(b"%PDF-")
    assert hits == []
    assert "refused to fetch" in caplog.text and "/etc/passwd" in caplog.text


async def test_a_document_over_the_time_limit_is_stopped_and_the_next_one_renders() -> None:
    renderer = PdfRenderer(workers=1, timeout=0.5)
    try:
        rows = "".join(f"<tr><td>{i}</td><td>Profil aluminiu</td></tr>" for i in range(60_000))
        with pytest.raises(RenderTimeout, match=r"longer than 0\.5 s"):
            await renderer.render(f"<table>{rows}</table>")
        renderer.timeout = 20
        assert (await renderer.render(DOC.format(note="după"))).startswith(b"%PDF-")
    finally:
        await renderer.close()


async def test_documents_in_flight_finish_while_pools_are_swapped() -> None:
    renderer = PdfRenderer(workers=1, max_tasks=1, timeout=60)
    try:
        notes = [f"document {i}" for i in range(5)]
        documents = await asyncio.gather(*(renderer.render(DOC.format(note=n)) for n in notes))
        assert [n in text_of(d) for n, d in zip(notes, documents, strict=True)] == [True] * 5
        assert len(renderer._retired) >= 1
    finally:
        await renderer.close()
    assert renderer._pool is None and renderer._retired == []
