"""A small TCP proxy that can cut the network: between the hub and RabbitMQ, or in front of
several hub edges (round robin, skipping an edge that refuses the connection).

``cut("reset")`` closes every open connection and refuses new ones (a peer gone, a firewall
sending RSTs); ``cut("stall")`` keeps connections open but forwards nothing in either direction
and leaves new ones hanging (a cable pulled: only heartbeats and timeouts notice).
``heal()`` lets traffic through again; stalled connections are then closed, as a TCP peer
whose retransmissions ran out would see them.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Sequence
from typing import Literal

log = logging.getLogger(__name__)

Mode = Literal["reset", "stall"]


class FaultProxy:
    """``127.0.0.1:<port>`` forwarding to ``upstreams`` (``(host, port)``, round robin)."""

    def __init__(self, upstreams: Sequence[tuple[str, int]], *, port: int = 0) -> None:
        self.upstreams = list(upstreams)
        self._port = port
        self._server: asyncio.Server | None = None
        self._next = itertools.count()
        self._pipes: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self.mode: Mode | None = None
        self._healed = asyncio.Event()
        self._healed.set()
        self.connections = 0  # accepted so far
        self.cuts = 0

    @property
    def port(self) -> int:
        assert self._server is not None, "start the proxy first"
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> FaultProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self._port)
        return self

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        self._healed.set()  # stalled connections are let go, then closed
        self._drop_all()
        await asyncio.gather(*self._pipes, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    def cut(self, mode: Mode = "reset") -> None:
        """Cut the link: ``reset`` closes everything now, ``stall`` freezes it."""
        self.mode, self.cuts = mode, self.cuts + 1
        self._healed.clear()
        if mode == "reset":
            self._drop_all()
        log.warning("proxy :%d cut (%s)", self.port, mode)

    def heal(self) -> None:
        """Let traffic through again (connections frozen by a stall are closed)."""
        was, self.mode = self.mode, None
        if was == "stall":
            self._drop_all()
        self._healed.set()
        log.warning("proxy :%d healed", self.port)

    def _drop_all(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        if self.mode == "reset":
            writer.transport.abort()
            return
        if self.mode == "stall":
            self._writers.add(writer)
            await self._healed.wait()
            writer.transport.abort()
            return
        upstream = await self._connect()
        if upstream is None:
            writer.transport.abort()
            return
        up_reader, up_writer = upstream
        self._writers.update((writer, up_writer))
        task = asyncio.current_task()
        assert task is not None
        self._pipes.add(task)
        try:
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        finally:
            self._pipes.discard(task)
            for w in (writer, up_writer):
                self._writers.discard(w)
                w.transport.abort()

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        """The next upstream that accepts the connection (None: all refuse)."""
        for _ in range(len(self.upstreams)):
            host, port = self.upstreams[next(self._next) % len(self.upstreams)]
            try:
                return await asyncio.open_connection(host, port)
            except OSError:
                continue
        return None

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                if self.mode == "stall":
                    await self._healed.wait()
                    break  # the frozen connection is dead by now
                if self.mode == "reset":
                    break
                writer.write(data)
                await writer.drain()
        with contextlib.suppress(OSError):
            writer.transport.abort()
