"""PDF rendering off the event loop: WeasyPrint in a pool of worker processes.

Rendering a document takes tens to hundreds of milliseconds of CPU, so it never runs on the
event loop: :class:`PdfRenderer` sends the HTML to a worker process and awaits the bytes.

- **Recycled workers**: a pool of ``workers`` processes renders at most ``workers * max_tasks``
  documents and is then retired (its documents in progress finish) for a fresh one, so a leak
  in the layout engine cannot grow forever. The pool is replaced whole rather than with
  ``max_tasks_per_child``: on Python 3.11 that option can stop replacing exited workers and
  stall every later render (CPython gh-115634).
- **Time limit**: a render that takes longer than ``timeout`` seconds raises
  :class:`RenderTimeout`; the pool is torn down (its stuck worker killed) and rebuilt for the
  next render.
- **No remote resources**: the URL fetcher refuses everything but ``data:`` URLs (and files
  under ``assets``, when given), so a template fed with a customer's text cannot make the hub
  fetch an internal URL (no SSRF) or read a local file.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class RenderTimeout(Exception):
    """A document took longer than the renderer's time limit."""


class RenderError(Exception):
    """The document could not be rendered (its HTML or CSS is broken)."""


class PdfRenderer:
    """Renders HTML to PDF in worker processes; one per hub process, opened and closed with it."""

    def __init__(
        self,
        *,
        workers: int = 2,
        max_tasks: int = 50,
        timeout: float = 30.0,
        assets: Path | None = None,
    ) -> None:
        self._workers = workers
        self._max_tasks = max_tasks
        self.timeout = timeout
        self._assets = str(assets.resolve()) if assets is not None else None
        self._pool: ProcessPoolExecutor | None = None
        self._rendered = 0  # documents sent to the current pool
        self._retired: list[ProcessPoolExecutor] = []

    def _ensure_pool(self) -> ProcessPoolExecutor:
        if self._pool is not None and self._rendered >= self._workers * self._max_tasks:
            self._retire(self._pool)
        if self._pool is None:
            # spawn: a fresh interpreter, not a copy of the hub's event loop and sockets
            self._pool = ProcessPoolExecutor(
                max_workers=self._workers, mp_context=multiprocessing.get_context("spawn")
            )
            self._rendered = 0
        self._rendered += 1
        return self._pool

    def _retire(self, pool: ProcessPoolExecutor) -> None:
        """Stop sending documents to ``pool``; its workers exit once their documents are done."""
        self._pool = None
        self._retired = [p for p in self._retired if getattr(p, "_processes", None)]
        self._retired.append(pool)
        pool.shutdown(wait=False)

    async def render(self, html: str, *, base_url: str | None = None) -> bytes:
        """The PDF of ``html``; :class:`RenderTimeout` past the limit, :class:`RenderError`
        for a document WeasyPrint refuses."""
        pool = self._ensure_pool()
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(pool, _render, html, base_url, self._assets)
        try:
            async with asyncio.timeout(self.timeout):  # not wait_for: see hub.outbox._idle
                pdf, refused = await future
        except TimeoutError:
            self._discard(pool)
            raise RenderTimeout(f"the document took longer than {self.timeout:g} s") from None
        except BrokenProcessPool:
            self._discard(pool)
            raise RenderError("the PDF worker died; the next document gets a new one") from None
        for url in refused:
            log.warning("pdf: refused to fetch %s (only data: URLs and bundled assets)", url[:200])
        return pdf

    def _discard(self, pool: ProcessPoolExecutor) -> None:
        """Kill the pool's workers (one may be stuck) and start afresh on the next render."""
        if self._pool is pool:
            self._pool = None
        processes = list(getattr(pool, "_processes", {}).values())
        for process in processes:
            process.kill()
        pool.shutdown(wait=False, cancel_futures=True)

    async def close(self) -> None:
        """Stop the workers (waiting for the documents in progress)."""
        pools = [*self._retired, *([self._pool] if self._pool is not None else [])]
        self._pool, self._retired = None, []
        loop = asyncio.get_running_loop()
        for pool in pools:
            await loop.run_in_executor(None, pool.shutdown)


def _render(html: str, base_url: str | None, assets: str | None) -> tuple[bytes, list[str]]:
    """In the worker: HTML → PDF bytes, and the URLs the fetcher refused."""
    from weasyprint import HTML  # imported in the worker only
    from weasyprint.urls import URLFetcher

    refused: list[str] = []

    class Fetcher(URLFetcher):  # type: ignore[misc]
        """``data:`` URLs and bundled assets only: nothing from the network or the disk."""

        def fetch(self, url: str, headers: Any = None) -> Any:
            if url.startswith("data:") or _is_asset(url, assets):
                return super().fetch(url, headers)
            refused.append(url)
            raise ValueError(f"fetching {url} is not allowed")

    try:
        pdf: bytes = HTML(string=html, base_url=base_url, url_fetcher=Fetcher()).write_pdf()
    except Exception as exc:
        # crosses the process boundary as a plain error the hub can show
        raise RenderError(f"{type(exc).__name__}: {exc}") from None
    return pdf, refused


def _is_asset(url: str, assets: str | None) -> bool:
    if assets is None or not url.startswith("file://"):
        return False
    path = os.path.realpath(url.removeprefix("file://").split("?")[0])
    return path.startswith(assets + os.sep)
