"""The payment poll: SmartBill has no webhooks, so what the accountant does there is read.

A bank transfer: the hub issued a proforma; the customer pays; the accountant makes the invoice
of the proforma in SmartBill Cloud and records the collection. Each poll (a durable timer of
the invoicing actor) looks, within ``payment_poll_calls`` SmartBill calls, at the watched
documents the longest unpolled first (docs/INVOICING.md):

- a **proforma**: ``GET /estimate/invoices``. An invoice made of it is **adopted** as its
  order's invoice (row ``adopted:<proforma request_id>``, claimed later by the order's
  IssueInvoice), then followed as an invoice;
- an **invoice** (adopted, or cash on delivery): ``GET /invoice/paymentstatus``. What SmartBill
  shows paid beyond what orders was told becomes one ``orders.RecordPayment`` whose id names the
  invoice and the paid total (``smartbill:LDX0042:paid:242.00``), so a repeated poll, or a
  redelivered one, counts once; paid in full ends the watch.

The adoption, the recorded amount and the emitted messages share the handler's transaction.
A SmartBill failure stops the poll where it is: what was read is kept, the rest waits for the
next poll.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from actors.invoicing import payment_store, store
from actors.invoicing.settings import InvoicingSettings
from actors.orders.messages import RecordPayment
from connectors.smartbill.client import SmartBillClient
from connectors.smartbill.errors import SmartBillRejected
from connectors.smartbill.wire import PaymentStatus
from hub.actor import Context
from hub.errors import ConfigError, TransientError
from hub.messages import Command

CENT = Decimal("0.01")
PAYMENT_TIMER = "invoicing:poll-payments"
PAYMENT_KEY = "invoicing:payments"


class PollPayments(Command, tag="invoicing.PollPayments"):
    """Internal timer: read what SmartBill shows invoiced and paid for the watched documents."""


def payment_id(series: str, number: str, paid: Decimal) -> str:
    """The id of "SmartBill shows ``paid`` collected on this invoice" (one per paid total)."""
    return f"smartbill:{series}{number}:paid:{paid}"


class PaymentPoll:
    """One poll: at most ``payment_poll_calls`` SmartBill calls."""

    def __init__(self, settings: InvoicingSettings, client: SmartBillClient, ctx: Context) -> None:
        self.settings = settings
        self.client = client
        self.ctx = ctx
        self.calls = 0

    async def run(self) -> tuple[int, str | None]:
        """Poll; the documents looked at, and why it stopped early (SmartBill failing)."""
        conn, now = self.ctx.conn, self.ctx.now
        await payment_store.expire(conn, now - timedelta(days=self.settings.payment_watch_days))
        budget = self.settings.payment_poll_calls
        seen = 0
        for row in await payment_store.watched(conn, budget):
            if self.calls + (2 if row.kind == "proforma" else 1) > budget:
                break
            try:
                if row.kind == "proforma":
                    await self._proforma(row)
                else:
                    await self._invoice(row, None)
            except SmartBillRejected as exc:  # a person must look (deleted, cancelled...)
                self.ctx.log.warning("payment poll: %s %s: %s", row.kind, row.request_id, exc)
                await payment_store.polled(
                    conn, row.request_id, now, watch="parked", error=str(exc)
                )
            except (TransientError, ConfigError) as exc:
                return seen, str(exc)
            seen += 1
        return seen, None

    async def _proforma(self, row: store.Document) -> None:
        conn, now = self.ctx.conn, self.ctx.now
        assert row.series is not None and row.number is not None
        invoice = await payment_store.order_invoice(conn, row.order_id)
        if invoice is not None:
            # the order has (or is getting) its invoice: through the hub, or adopted already
            await payment_store.polled(conn, row.request_id, now, watch="done")
            return
        self.calls += 1
        made = await self.client.estimate_invoices(row.series, row.number)
        if not made:
            await payment_store.polled(conn, row.request_id, now)
            return
        if len(made) > 1:
            names = ", ".join(f"{d.series}{d.number}" for d in made)
            reason = f"proforma {row.series}{row.number} has several invoices ({names})"
            self.ctx.log.warning("payment poll: %s: a person decides", reason)
            await payment_store.polled(conn, row.request_id, now, watch="parked", error=reason)
            return
        [ref] = made
        self.calls += 1
        status = await self.client.payment_status(ref.series, ref.number)
        total = status.invoice_total_amount
        gross = total if total is not None else row.gross
        if not await payment_store.adopt(
            conn, row, series=ref.series, number=ref.number, gross=gross, at=now
        ):
            await payment_store.polled(conn, row.request_id, now, watch="done")
            return
        self.ctx.log.info(
            "proforma %s %s%s invoiced in SmartBill as %s%s: adopted for order %s",
            row.request_id,
            row.series,
            row.number,
            ref.series,
            ref.number,
            row.order_id,
        )
        if gross != row.gross:
            self.ctx.log.warning(
                "adopted invoice %s%s totals %s, the proforma %s",
                ref.series,
                ref.number,
                gross,
                row.gross,
            )
        await payment_store.polled(conn, row.request_id, now, watch="done")
        adopted = await store.get(conn, payment_store.adopted_id(row.request_id))
        assert adopted is not None
        await self._invoice(adopted, status)

    async def _invoice(self, row: store.Document, status: PaymentStatus | None) -> None:
        conn, now = self.ctx.conn, self.ctx.now
        assert row.series is not None and row.number is not None
        if status is None:
            self.calls += 1
            status = await self.client.payment_status(row.series, row.number)
        await payment_store.polled(conn, row.request_id, now)
        paid = (status.paid_amount or Decimal(0)).quantize(CENT, ROUND_HALF_UP)
        settled = bool(status.paid) or (
            status.unpaid_amount is not None and status.unpaid_amount <= 0 and paid > 0
        )
        if paid < row.paid_recorded:
            self.ctx.log.warning(
                "invoice %s%s: SmartBill shows %s paid, orders was told %s (a collection was "
                "deleted?): a person decides",
                row.series,
                row.number,
                paid,
                row.paid_recorded,
            )
            return
        if paid == row.paid_recorded:
            if settled:
                await payment_store.paid(conn, row.request_id, paid, paid, settled=True)
            return
        was = row.paid_recorded
        if not await payment_store.paid(conn, row.request_id, was, paid, settled=settled):
            return
        self.ctx.emit(
            RecordPayment(
                order_id=row.order_id,
                payment_id=payment_id(row.series, row.number, paid),
                amount=paid - row.paid_recorded,
                received_at=now,
                reference=f"SmartBill {row.series} {row.number}",
            ),
            key=f"order:{row.order_id}",
        )
        self.ctx.log.info(
            "invoice %s%s of order %s: %s paid in SmartBill (%s new)%s",
            row.series,
            row.number,
            row.order_id,
            paid,
            paid - row.paid_recorded,
            ", in full" if settled else "",
        )
