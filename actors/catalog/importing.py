"""Import over HTTP, streamed: the request body is read line by line (never whole), the rows are
cut into batches and each batch is applied in its own transaction, all of it or none of it,
yielding to the event loop between batches."""

from __future__ import annotations

import asyncio
import codecs
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg

from actors.catalog import changes, store
from actors.catalog.domain import Decision, Row
from actors.catalog.messages import RowError
from actors.catalog.readers import (
    LineTooLong,
    Parsed,
    TooLarge,
    lines,
    read_csv,
    read_ndjson,
)
from actors.catalog.settings import CatalogSettings
from actors.catalog.views import BatchReport, ImportQuery, ImportReport
from hub import audit, outbox
from hub.edge.api import ApiError, Call, FieldError
from hub.ids import uuid7
from hub.messages import Envelope, encode

CSV_TYPES = frozenset({"text/csv", "application/csv", "text/plain", "application/vnd.ms-excel"})
JSON_TYPES = frozenset({"application/x-ndjson", "application/jsonl", "application/json"})
YIELD_EVERY = 100  # rows parsed between two turns of the event loop


@dataclass
class _Importer:
    """Collects parsed rows into batches and applies each, all or nothing."""

    call: Call[None, ImportQuery]
    format: str
    batch_size: int
    max_errors: int
    import_id: str = field(default_factory=lambda: str(uuid7()))
    rows: list[Row] = field(default_factory=list)
    parse_errors: list[RowError] = field(default_factory=list)
    first_row: int = 0
    last_row: int = 0
    count: int = 0
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    batches: list[BatchReport] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    errors_total: int = 0

    async def add(self, number: int, parsed: Parsed) -> None:
        if self.count == 0:
            self.first_row = number
            self.started = datetime.now(UTC)
        self.last_row = number
        self.count += 1
        if isinstance(parsed, list):
            self.parse_errors.extend(parsed)
        else:
            self.rows.append(Row(number, parsed))
        if self.count >= self.batch_size:
            await self.flush()
        elif self.count % YIELD_EVERY == 0:
            await asyncio.sleep(0)  # parsing is CPU work: let the other requests in

    async def flush(self) -> None:
        if self.count == 0:
            return
        batch_id = f"{self.import_id}:{len(self.batches) + 1}"
        async with self.call.db.transaction() as conn:
            decision = await changes.apply(conn, self.rows, write=not self.parse_errors)
            errors = sorted([*self.parse_errors, *decision.errors], key=lambda e: e.row)
            created, updated, unchanged = (0, 0, 0) if errors else changes.counts(decision)
            if not errors:
                await self._publish(conn, decision, batch_id)
            report = BatchReport(
                batch_id=batch_id,
                first_row=self.first_row,
                last_row=self.last_row,
                rows=self.count,
                status="rejected" if errors else "applied",
                created=created,
                updated=updated,
                unchanged=unchanged,
                errors=len(errors),
            )
            await store.record_batch(conn, self._record(report, errors))
        self.batches.append(report)
        self.errors_total += len(errors)
        self.errors.extend(errors[: max(0, self.max_errors - len(self.errors))])
        self.rows, self.parse_errors, self.count = [], [], 0
        await asyncio.sleep(0)

    async def _publish(self, conn: asyncpg.Connection, decision: Decision, batch_id: str) -> None:
        call = self.call
        for change in decision.changes:
            before, after = changes.audit_pair(change)
            await audit.record(
                conn,
                actor=call.actor,
                actor_name=call.principal.name if call.principal else None,
                action=call.route.name,
                entity_type="product",
                entity_id=change.after.sku,
                before=before,
                after=after,
                method=call.request.method,
                path=call.request.path,
                status=200,
                request_id=call.request_id,
                client_ip=call.client_ip,
            )
        event = changes.event(decision, batch_id=batch_id)
        if event is not None:
            envelope = Envelope.new(event, key=f"catalog-import:{batch_id}", actor=call.actor)
            await outbox.write(conn, [outbox.Outgoing(envelope, encode(event))])

    def _record(self, report: BatchReport, errors: list[RowError]) -> store.ImportBatch:
        principal = self.call.principal
        return store.ImportBatch(
            id=report.batch_id,
            import_id=self.import_id,
            seq=len(self.batches) + 1,
            actor=self.call.actor,
            actor_name=principal.name if principal else None,
            format=self.format,
            first_row=report.first_row,
            last_row=report.last_row,
            rows=report.rows,
            created=report.created,
            updated=report.updated,
            unchanged=report.unchanged,
            status=report.status,
            errors=errors,
            started_at=self.started,
            finished_at=datetime.now(UTC),
        )

    def report(self) -> ImportReport:
        applied = [b for b in self.batches if b.status == "applied"]
        return ImportReport(
            import_id=self.import_id,
            format=self.format,
            rows=sum(b.rows for b in self.batches),
            created=sum(b.created for b in applied),
            updated=sum(b.updated for b in applied),
            unchanged=sum(b.unchanged for b in applied),
            rejected_rows=sum(b.rows for b in self.batches if b.status == "rejected"),
            applied_batches=len(applied),
            rejected_batches=len(self.batches) - len(applied),
            batches=self.batches,
            errors=self.errors,
            errors_total=self.errors_total,
        )

    def done_so_far(self) -> str:
        applied = [b for b in self.batches if b.status == "applied"]
        if not applied:
            return "nothing was applied"
        return (
            f"{len(applied)} batch(es) up to row {applied[-1].last_row} were applied before "
            f"(import {self.import_id}: GET /api/v1/catalog/imports?import_id={self.import_id})"
        )


async def run_import(call: Call[None, ImportQuery], settings: CatalogSettings) -> ImportReport:
    """Read, check and apply an import; the answer reports every batch and the row errors."""
    request = call.request
    q = call.query
    accepted = CSV_TYPES if q.format == "csv" else JSON_TYPES
    if request.content_type not in accepted:
        wanted = "text/csv" if q.format == "csv" else "application/x-ndjson"
        raise ApiError(415, "unsupported_media_type", f"send format={q.format} as {wanted}")
    limit = settings.import_max_bytes
    if request.content_length is not None and request.content_length > limit:
        raise ApiError(413, "body_too_large", f"the import is larger than {limit} bytes")
    batch_size = q.batch_size or settings.import_batch_size
    if batch_size > settings.import_max_batch_size:
        message = f"batch_size must be at most {settings.import_max_batch_size}"
        raise ApiError(
            400,
            "validation_error",
            message,
            details=[FieldError(field="batch_size", message=message)],
        )
    charset = request.charset or "utf-8"
    try:
        codecs.lookup(charset)
    except LookupError:
        raise ApiError(415, "unsupported_media_type", f"unknown charset {charset!r}") from None
    into = _Importer(call, q.format, batch_size, settings.import_max_errors)
    call.audit(entity_id=into.import_id)
    body = lines(request.content, max_bytes=limit, max_line=settings.import_max_line_bytes)
    try:
        if q.format == "csv":
            await read_csv(body, charset, into.add)
        else:
            await read_ndjson(body, into.add)
        await into.flush()
    except TooLarge:
        message = f"the import is larger than {limit} bytes; {into.done_so_far()}"
        raise ApiError(413, "body_too_large", message) from None
    except LineTooLong as exc:
        message = (
            f"line {exc.line} is longer than {settings.import_max_line_bytes} bytes; "
            f"{into.done_so_far()}"
        )
        raise ApiError(400, "line_too_long", message) from None
    report = into.report()
    call.audit(after=_summary(report))
    return report


def _summary(r: ImportReport) -> dict[str, Any]:
    return {
        "format": r.format,
        "rows": r.rows,
        "created": r.created,
        "updated": r.updated,
        "unchanged": r.unchanged,
        "applied_batches": r.applied_batches,
        "rejected_batches": r.rejected_batches,
        "errors": r.errors_total,
    }
