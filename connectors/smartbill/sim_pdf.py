"""A small but valid one-page PDF of a simulated document (what ``GET /invoice/pdf`` returns)."""

from __future__ import annotations

import unicodedata

from connectors.smartbill.sim_books import SimDocument

_TITLE = {"invoice": "FACTURA", "estimate": "FACTURA PROFORMA"}


def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return plain.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def text_lines(doc: SimDocument, company: str) -> list[str]:
    """What the page says: title, series and number, parties, lines and total."""
    title = "FACTURA STORNO" if doc.reverses else _TITLE[doc.kind]
    lines = [
        f"{title} seria {doc.series} nr. {doc.number}",
        f"Data emiterii: {doc.issue_date:%d.%m.%Y}",
        f"Furnizor CIF: {company}",
        f"Client: {doc.client.get('name', '')} {doc.client.get('vatCode', '') or ''}".rstrip(),
    ]
    for line in doc.lines:
        quantity = line.get("quantity", "")
        lines.append(f"- {line.get('name', '')} {quantity} {line.get('measuringUnitName', '')}")
    lines.append(f"Total: {doc.total} {doc.body.get('currency') or 'RON'}")
    if doc.cancelled:
        lines.append("ANULATA")
    return lines


def render(doc: SimDocument, company: str) -> bytes:
    """The PDF bytes (Helvetica, one page, a correct cross-reference table)."""
    ops = ["BT", "/F1 11 Tf", "50 790 Td", "14 TL"]
    ops += [f"({_ascii(line)}) Tj T*" for line in text_lines(doc, company)]
    ops.append("ET")
    stream = "\n".join(ops).encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)
