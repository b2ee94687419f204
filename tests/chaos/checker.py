"""What went in against what came out, by id: every shop order must end with exactly one hub
order, its stock reservation (each line held in full), exactly one SmartBill document of the
kind the rules ask for (an invoice for a card payment, a proforma for a bank transfer) and
exactly one email to its customer; nothing the shop did not order may show up; every stock
figure must equal the sum of its movements. Empty lost / duplicated / unexpected is the pass.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from tests.chaos.floor import Floor

REQUEST = re.compile(r"\((?:invoice|proforma):(woo-\d+)[):]")


@dataclass
class Report:
    """The checker's verdict on one scenario."""

    scenario: str
    orders: int
    lost: dict[str, list[str]] = field(default_factory=dict)  # what -> ids missing it
    duplicated: dict[str, dict[str, int]] = field(default_factory=dict)  # what -> id -> count
    unexpected: dict[str, list[str]] = field(default_factory=dict)
    ledger: list[str] = field(default_factory=list)  # stock rows not equal to their movements
    dead_letters: list[str] = field(default_factory=list)
    notes: dict[str, object] = field(default_factory=dict)  # figures that are not verdicts

    @property
    def ok(self) -> bool:
        return not (
            any(self.lost.values())
            or any(self.duplicated.values())
            or any(self.unexpected.values())
            or self.ledger
            or self.dead_letters
        )

    def line(self) -> str:
        """One line for the closing table: orders in, lost, duplicated, unexpected."""
        lost = sum(len(v) for v in self.lost.values())
        dup = sum(len(v) for v in self.duplicated.values())
        unexpected = sum(len(v) for v in self.unexpected.values())
        notes = ", ".join(f"{k} {v}" for k, v in self.notes.items())
        return (
            f"{self.scenario:38} in {self.orders:4}  lost {lost}  duplicated {dup}  "
            f"unexpected {unexpected}  ledger {len(self.ledger)}  dead {len(self.dead_letters)}"
            + (f"  ({notes})" if notes else "")
        )

    def details(self, most: int = 10) -> str:
        """Every non-empty finding, with up to ``most`` ids each."""
        out = [self.line()]
        for title, found in (("lost", self.lost), ("unexpected", self.unexpected)):
            for what, ids in found.items():
                if ids:
                    out.append(f"  {title} {what}: {len(ids)}: {', '.join(ids[:most])}")
        for what, counts in self.duplicated.items():
            if counts:
                shown = ", ".join(f"{k} x{v}" for k, v in list(counts.items())[:most])
                out.append(f"  duplicated {what}: {len(counts)}: {shown}")
        out.extend(f"  ledger: {row}" for row in self.ledger[:most])
        out.extend(f"  dead letter: {row}" for row in self.dead_letters[:most])
        return "\n".join(out)


async def check(floor: Floor, scenario: str) -> Report:
    """Compare the orders placed on ``floor`` with everything the hub and partners hold now."""
    conn = floor.conn
    assert conn is not None
    placed = {p.hub_id: p for p in floor.placed}
    report = Report(scenario, len(placed))

    # hub orders: one each (the id is the key), none the shop did not place
    rows = await conn.fetch("SELECT id, state FROM orders WHERE source = 'woocommerce'")
    hub_orders = {r["id"]: r["state"] for r in rows}
    report.lost["hub order"] = sorted(set(placed) - set(hub_orders))
    report.unexpected["hub order"] = sorted(set(hub_orders) - set(placed))
    report.notes["states"] = dict(Counter(hub_orders.values()))

    # reservations: each line held in full
    held: dict[str, dict[str, Decimal]] = {}
    for r in await conn.fetch(
        "SELECT l.reservation_id, l.sku, sum(l.quantity + l.issued) AS q "
        "FROM inventory_reservation_lines l JOIN inventory_reservations r "
        "ON r.id = l.reservation_id WHERE r.status IN ('open', 'fulfilled') "
        "GROUP BY l.reservation_id, l.sku"
    ):
        held.setdefault(r["reservation_id"], {})[r["sku"]] = r["q"]
    report.lost["reservation"] = sorted(
        i
        for i, p in placed.items()
        if held.get(i) != {sku: Decimal(q) for sku, q in p.lines.items()}
    )
    report.unexpected["reservation"] = sorted(set(held) - set(placed))

    # SmartBill: exactly one document of the right kind per order
    documents: dict[str, list[str]] = {}
    strays: list[str] = []
    for d in floor.smartbill.books.documents:
        text = f"{d.body.get('mentions')} {d.body.get('observations')}"
        found = REQUEST.search(text)
        ref = f"{d.kind}:{d.series}{d.number}"
        if found is None or found.group(1) not in placed:
            strays.append(ref)
            continue
        documents.setdefault(found.group(1), []).append(d.kind)
    report.lost["SmartBill document"] = sorted(
        i for i, p in placed.items() if p.document not in documents.get(i, [])
    )
    report.duplicated["SmartBill document"] = {
        i: len(kinds) for i, kinds in sorted(documents.items()) if len(kinds) > 1
    }
    report.unexpected["SmartBill document"] = strays + sorted(
        f"{i}:{k}" for i, kinds in documents.items() for k in kinds if k != placed[i].document
    )

    # SendGrid: to each customer exactly one order confirmation and one email with the
    # document; nothing to anyone the shop has not heard of
    mails = floor.emails_by_category()
    by_email = {p.email: p.hub_id for p in placed.values()}
    for what, category in (
        ("confirmation email", lambda p: "order_confirmed"),
        ("document email", lambda p: p.document_email),
    ):
        counts = {p.hub_id: mails.get((p.email, category(p)), 0) for p in placed.values()}
        report.lost[what] = sorted(i for i, n in counts.items() if n == 0)
        report.duplicated[what] = {i: n for i, n in sorted(counts.items()) if n > 1}
    expected = {
        (p.email, c) for p in placed.values() for c in ("order_confirmed", p.document_email)
    }
    report.unexpected["email"] = sorted(
        f"{to} {c}"
        for (to, c) in mails
        if to.endswith("@chaos.example.ro") and (to, c) not in expected
    )
    report.notes["other mail"] = sum(n for (to, _), n in mails.items() if to not in by_email)

    # the ledger: every stock figure is the sum of its movements
    for r in await conn.fetch(
        """
        SELECT s.sku, s.warehouse, s.on_hand, s.reserved,
               coalesce(sum(m.quantity) FILTER (WHERE m.kind IN
                   ('receipt', 'issue', 'transfer', 'adjustment')), 0) AS moved,
               coalesce(sum(CASE WHEN m.kind = 'issue' THEN -m.quantity
                                 WHEN m.kind IN ('reservation', 'release') THEN m.quantity
                            END), 0) AS held
        FROM inventory_stock s
        LEFT JOIN inventory_movements m ON m.sku = s.sku AND m.warehouse = s.warehouse
        GROUP BY s.sku, s.warehouse, s.on_hand, s.reserved
        """
    ):
        if r["on_hand"] != r["moved"] or r["reserved"] != r["held"]:
            report.ledger.append(
                f"{r['sku']}@{r['warehouse']}: on hand {r['on_hand']} vs movements "
                f"{r['moved']}, reserved {r['reserved']} vs movements {r['held']}"
            )
    reserved = {
        r["sku"]: r["q"]
        for r in await conn.fetch(
            "SELECT sku, sum(reserved) AS q FROM inventory_stock GROUP BY sku"
        )
    }
    ordered: Counter[str] = Counter()
    for p in placed.values():
        ordered.update(p.lines)
    wrong = {
        sku: (reserved.get(sku, Decimal(0)), q)
        for sku, q in ordered.items()
        if reserved.get(sku, Decimal(0)) != q
    }
    report.ledger.extend(f"{sku}: reserved {a} vs ordered {b}" for sku, (a, b) in wrong.items())

    report.dead_letters = [
        f"#{r['id']} {r['actor']} {r['type']}: {r['reason']}: {r['error'][:160]}"
        for r in await conn.fetch(
            "SELECT id, actor, type, reason, error FROM hub_dead_letters ORDER BY id"
        )
    ]
    return report


async def settle(floor: Floor, timeout: float = 240.0, quiet: float = 3.0) -> None:
    """Wait (bounded) until every order has its document and email and the hub has nothing
    left in flight (no unpublished outbox row, no document being issued), then for ``quiet``
    seconds in which nothing more arrives at SmartBill or SendGrid: a duplicate made late by a
    retry would show up in that time too."""
    conn = floor.conn
    assert conn is not None
    deadline = time.monotonic() + timeout

    async def done() -> bool:
        mails = floor.emails_by_category()
        if any(
            (p.email, p.document_email) not in mails or (p.email, "order_confirmed") not in mails
            for p in floor.placed
        ):
            return False
        kinds = {d.kind for d in floor.smartbill.books.documents}
        documents = sum(1 for _ in floor.smartbill.books.documents)
        if documents < len(floor.placed) or not kinds:
            return False
        busy = await conn.fetchval(
            "SELECT (SELECT count(*) FROM hub_outbox WHERE published_at IS NULL) "
            "+ (SELECT count(*) FROM invoicing_documents WHERE state IN ('intent', 'issuing'))"
        )
        return busy == 0

    while True:
        if await done():
            seen = (len(floor.smartbill.books.documents), len(floor.sendgrid.accepted))
            await asyncio.sleep(quiet)
            now = (len(floor.smartbill.books.documents), len(floor.sendgrid.accepted))
            if seen == now and await done():
                return
        if time.monotonic() > deadline:
            return  # the checker reports what is missing
        await asyncio.sleep(0.5)
