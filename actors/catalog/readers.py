"""Reading an import body as it streams in: lines within size limits, CSV records (a quoted
cell may span lines) and NDJSON lines, each turned into a change or the errors of its row."""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import StreamReader

from actors.catalog.messages import ProductInput, RowError
from actors.catalog.rows import csv_row, json_row, map_header, sniff_delimiter, split_line
from hub.edge.api import ApiError, FieldError

CHUNK = 64 * 1024
Parsed = ProductInput | list[RowError]
Add = Callable[[int, Parsed], Awaitable[None]]


class TooLarge(Exception):
    """The body is larger than allowed."""


class LineTooLong(Exception):
    """A line is longer than allowed."""

    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


async def lines(
    stream: StreamReader, *, max_bytes: int, max_line: int
) -> AsyncIterator[tuple[int, bytes]]:
    """``(line number, line)`` of the body, line ends removed, within the size limits."""
    total = 0
    number = 0
    buffer = b""
    async for chunk in stream.iter_chunked(CHUNK):
        total += len(chunk)
        if total > max_bytes:
            raise TooLarge
        *complete, buffer = (buffer + chunk).split(b"\n")
        for line in complete:
            number += 1
            if len(line) > max_line:
                raise LineTooLong(number)
            yield number, line.removesuffix(b"\r")
        if len(buffer) > max_line:
            raise LineTooLong(number + 1)
    if buffer:
        yield number + 1, buffer.removesuffix(b"\r")


async def read_csv(body: AsyncIterator[tuple[int, bytes]], charset: str, add: Add) -> None:
    """Feed each CSV record to ``add``; 400 for a header that cannot be read."""
    columns: list[str] | None = None
    delimiter = ","
    pending: list[str] = []
    start, in_quotes, undecodable = 0, False, False
    async for number, raw in body:
        try:
            text = raw.decode(charset)
        except UnicodeDecodeError:
            text, undecodable = raw.decode(charset, errors="replace"), True
        if number == 1:
            text = text.removeprefix("\ufeff")
        if not pending:
            start = number
        pending.append(text)
        in_quotes ^= text.count('"') % 2 == 1
        if in_quotes:
            continue
        record = "\n".join(pending)
        pending = []
        if not record.strip():
            continue
        if columns is None:
            if undecodable:
                message = (
                    f"the header is not valid {charset} text; name the charset: "
                    "text/csv; charset=windows-1250"
                )
                raise ApiError(400, "invalid_encoding", message)
            delimiter = sniff_delimiter(record)
            columns = _header(record, delimiter)
        elif undecodable:
            message = f"is not valid {charset} text (say the charset: text/csv; charset=...)"
            await add(start, [RowError(row=start, field=None, message=message)])
        else:
            try:
                cells = split_line(record, delimiter)
            except csv.Error as exc:
                await add(start, [RowError(row=start, field=None, message=f"bad CSV: {exc}")])
                continue
            await add(start, csv_row(columns, cells, start))
        undecodable = False
    if pending:
        message = "a quoted cell opened on this row is never closed"
        await add(start, [RowError(row=start, field=None, message=message)])
    if columns is None:
        raise ApiError(400, "empty_import", "the file has no header line")


def _header(record: str, delimiter: str) -> list[str]:
    try:
        cells = split_line(record, delimiter)
    except csv.Error as exc:
        raise ApiError(400, "invalid_header", f"the header is not valid CSV: {exc}") from None
    columns, problems = map_header(cells)
    if problems:
        details = [FieldError(field=p.field, message=p.message) for p in problems]
        message = "the header is not valid: " + "; ".join(p.message for p in problems)
        raise ApiError(400, "invalid_header", message, details=details)
    return columns


async def read_ndjson(body: AsyncIterator[tuple[int, bytes]], add: Add) -> None:
    """Feed each non-empty NDJSON line to ``add``."""
    async for number, raw in body:
        line = raw.removeprefix(b"\xef\xbb\xbf") if number == 1 else raw
        if line.strip():
            await add(number, json_row(line, number))
