"""A bare HTTP/1.1 client: the request goes out byte for byte as the test built it.

aiohttp's client encodes header values as UTF-8 and refuses some; a fuzzer needs to send what
a broken or hostile sender would (Latin-1 bytes, huge values, a chunked body), so the request
is written by hand on a socket and the answer read back until the server closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

Header = tuple[bytes, bytes]


@dataclass(frozen=True)
class Answer:
    """What came back: status, headers (lower-case names, Latin-1 text), raw body."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON (the edge's envelope)."""
        return json.loads(self.body)


async def request(
    host: str,
    port: int,
    method: str,
    target: bytes,
    headers: Sequence[Header],
    body: bytes,
    *,
    chunked: bool = False,
    timeout: float = 15.0,
) -> Answer:
    """Send one request (``Connection: close``) and read the whole answer."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        async with asyncio.timeout(timeout):
            head = [method.encode() + b" " + target + b" HTTP/1.1", b"Host: fuzz.local"]
            head += [name + b": " + value for name, value in headers]
            head.append(b"Connection: close")
            if chunked:
                head.append(b"Transfer-Encoding: chunked")
                payload = b"".join(
                    b"%x\r\n%s\r\n" % (len(body[i : i + 1024]), body[i : i + 1024])
                    for i in range(0, len(body), 1024)
                )
                payload += b"0\r\n\r\n"
            else:
                head.append(b"Content-Length: " + str(len(body)).encode())
                payload = body
            writer.write(b"\r\n".join(head) + b"\r\n\r\n" + payload)
            # the server may answer (413) and close before reading everything
            with contextlib.suppress(ConnectionError):
                await writer.drain()
            raw = await reader.read()
    finally:
        writer.close()
    return _parse(raw)


def _parse(raw: bytes) -> Answer:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    if not lines or not lines[0].startswith(b"HTTP/1."):
        raise AssertionError(f"not an HTTP answer: {raw[:200]!r}")
    status = int(lines[0].split()[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers[name.decode("latin-1").strip().lower()] = value.decode("latin-1").strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = _unchunk(body)
    return Answer(status, headers, body)


def _unchunk(data: bytes) -> bytes:
    out = bytearray()
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += data[:size]
        data = data[size + 2 :]
    return bytes(out)
