"""The simulator's endpoints: one handler per path and method, SmartBill's answer shapes.

Successes are wrapped as SmartBill wraps them (``sbcResponse``, ``sbcInvoicePaymentStatusResponse``,
``sbcSeries``, ``sbcTaxes``, ``stocks``); refusals raise :class:`Refused`, answered as a ``Fault``
by the simulator, except the payment status of a missing invoice, answered with the spec's
``fault`` example (lower case, null amounts).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec
from aiohttp import web
from multidict import MultiMapping

from connectors.smartbill.sim_books import Kind
from connectors.smartbill.sim_pdf import render
from connectors.smartbill.sim_rules import BAD_DATE, Refused, day

if TYPE_CHECKING:
    from connectors.smartbill.simulator import SmartBillSimulator

Query = MultiMapping[str]
Body = dict[str, Any] | None
NO_COMPANY = (
    "Firma la care incercati sa va conectati nu mai este disponibila in Cloud. "
    "Verificati ciful companiei."
)
_NAME = {"invoice": "Factura", "estimate": "Proforma"}
_DONE = {"cancel": ("anulata", "cancelled"), "restore": ("restaurata", "restored")}
_encoder = msgspec.json.Encoder(decimal_format="number")


@dataclass
class Answer:
    """A handler's response and what it changed (for the request log)."""

    response: web.Response
    effect: str | None = None
    error_text: str | None = None  # of a refusal answered without raising Refused


Handler = Callable[["SmartBillSimulator", Query, Body], Answer]


def _json(payload: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=_encoder.encode(payload), status=status, content_type="application/json"
    )


def _ok(**fields: Any) -> web.Response:
    base = {"errorText": "", "message": "", "number": "", "series": "", "url": ""}
    return _json({"sbcResponse": {**base, **fields}})


def _company(sim: SmartBillSimulator, cif: Any, missing: str) -> None:
    """The CIF must be our company's: a real company of another account is a 401."""
    if not cif:
        raise Refused(missing)
    given, ours = (str(c).upper().replace(" ", "").removeprefix("RO") for c in (cif, sim.books.cif))
    if given == ours:
        return
    if given.isdigit() and _check_digit_ok(given):
        raise Refused("Unauthorized", 401)
    raise Refused(NO_COMPANY)


def _check_digit_ok(digits: str) -> bool:
    if not 2 <= len(digits) <= 10:
        return False
    body = digits[:-1].zfill(9)
    control = sum(int(d) * int(k) for d, k in zip(body, "753217532", strict=True)) * 10 % 11
    return (0 if control == 10 else control) == int(digits[-1])


def _ref(query: Query, kind: Kind, style: str) -> tuple[str, str]:
    series = query.get("seriesname") or query.get("seriesName") or ""
    number_ = query.get("number") or ""
    if style == "action":
        missing = ("Seriesname trebuie specificat.", "Number trebuie specificat.")
    elif kind == "invoice":
        missing = ("Seria facturii trebuie specificata!", "Numarul facturii trebuie specificat!")
    else:
        missing = ("Seria proformei trebuie specificata!", "Numarul proformei trebuie specificat!")
    if not series:
        raise Refused(missing[0])
    if not number_:
        raise Refused(missing[1])
    return series, number_


# --- documents --------------------------------------------------------------------------------


def _issue(sim: SmartBillSimulator, kind: Kind, body: Body) -> Answer:
    body = body or {}
    _company(sim, body.get("companyVatCode"), "CIF-ul firmei ('companyVatCode') trebuie specificat")
    doc = sim.books.issue(kind, body, sim.today())
    url = f"https://sim.smartbill.invalid/plata/{doc.id}" if body.get("paymentUrl") else ""
    what = f"draft {kind} {doc.series}" if doc.draft else f"{kind} {doc.ref}"
    return Answer(_ok(number=doc.number, series=doc.series, url=url), f"issued {what}")


def issue_invoice(sim: SmartBillSimulator, query: Query, body: Body) -> Answer:
    return _issue(sim, "invoice", body)


def issue_estimate(sim: SmartBillSimulator, query: Query, body: Body) -> Answer:
    return _issue(sim, "estimate", body)


def reverse_invoice(sim: SmartBillSimulator, query: Query, body: Body) -> Answer:
    body = body or {}
    _company(
        sim,
        body.get("companyVatCode"),
        "Firma la care incercati sa va conectati nu mai este disponibila in Cloud.",
    )
    issued = day(body.get("issueDate")) or sim.today()
    doc = sim.books.reverse(body.get("seriesName"), body.get("number"), issued)
    view = f"https://sim.smartbill.invalid/documente/extern/factura/{doc.id}"
    response = _ok(
        number=doc.number,
        series=doc.series,
        message=f"Factura cu seria si numarul {doc.reverses} a fost stornata cu succes.",
        documentId=str(doc.id),
        documentUrl=f"https://sim.smartbill.invalid/documente/editare/factura/{doc.id}/",
        documentViewUrl=view,
    )
    return Answer(response, f"reversed invoice {doc.reverses} by {doc.ref}")


def _act(sim: SmartBillSimulator, query: Query, kind: Kind, action: str) -> Answer:
    _company(sim, query.get("cif"), "Cif trebuie specificat.")
    series, number_ = _ref(query, kind, "action")
    if action == "delete":
        doc = sim.books.delete(kind, series, number_)
        verb, past = "stearsa", "deleted"
    else:
        doc = (sim.books.cancel if action == "cancel" else sim.books.restore)(kind, series, number_)
        verb, past = _DONE[action]
    message = f"{_NAME[kind]} cu seria si numarul {doc.ref} a fost {verb} cu succes."
    return Answer(_ok(message=message), f"{past} {kind} {doc.ref}")


def cancel_invoice(sim: SmartBillSimulator, query: Query, body: Body) -> Answer:
    return _act(sim, query, "invoice", "cancel")


def restore_invoice(sim: SmartBillSimulator, query: Query, body: Body) -> Answer:
    return _act(sim, query, "invoice", "restore")


def delete_invoice(sim: SmartBillSimulator, query: Query, body: Body) -> Answer:
    return _act(sim, query, "invoice", "delete")


def cancel_estimate(sim: SmartBillSimulator, query: Query, body: Body) -> Answer:
    return _act(sim, query, "estimate", "cancel")


def restore_estimate(sim: SmartBillSimulator, query: Query, body: Body) -> Answer:
    return _act(sim, query, "estimate", "restore")


def delete_estimate(sim: SmartBillSimulator, query: Query, body: Body) -> Answer:
    return _act(sim, query, "estimate", "delete")


# --- reads ------------------------------------------------------------------------------------


def _pdf(sim: SmartBillSimulator, query: Query, kind: Kind) -> Answer:
    _company(sim, query.get("cif"), "Ciful firmei trebuie specificat!")
    series, number_ = _ref(query, kind, "read")
    doc = sim.books.get(kind, series, number_)
    response = web.Response(
        body=render(doc, sim.books.cif),
        content_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{doc.ref}.pdf"'},
    )
    return Answer(response)


def invoice_pdf(sim: SmartBillSimulator, query: Query, body: Body) -> Answer:
    return _pdf(sim, query, "invoice")


def estimate_pdf(sim: SmartBillSimulator, query: Query, body: Body) -> Answer:
    return _pdf(sim, query, "estimate")


def payment_status(sim: SmartBillSimulator, query: Query, body: Body) -> Answer:
    _company(sim, query.get("cif"), "Ciful firmei trebuie specificat!")
    series, number_ = _ref(query, "invoice", "read")
    doc = sim.books.find("invoice", series, number_)
    if doc is None:
        missing = "Factura nu a fost gasita!"
        fault = {
            "errorText": missing,
            "message": "",
            "number": "",
            "paid": False,
            "invoiceTotalAmount": None,
            "paidAmount": None,
            "unpaidAmount": None,
        }
        return Answer(_json({"fault": fault}, status=400), error_text=missing)
    unpaid = doc.total - doc.paid
    status = {
        "errorText": "",
        "message": "",
        "number": doc.number,
        "series": doc.series,
        "invoiceTotalAmount": doc.total,
        "paidAmount": doc.paid,
        "unpaidAmount": unpaid,
        "paid": unpaid <= 0,
    }
    return Answer(_json({"sbcInvoicePaymentStatusResponse": status}))


def estimate_invoices(sim: SmartBillSimulator, query: Query, body: Body) -> Answer:
    """``GET /estimate/invoices``: the invoices made from a proforma. One never invoiced is
    answered 200 with the spec's "nu a fost facturata" errorText and ``areInvoicesCreated``
    false (the spec calls it an error message but documents it in the success shape)."""
    _company(sim, query.get("cif"), "Ciful firmei trebuie specificat!")
    series_, number_ = _ref(query, "estimate", "read")
    made = sim.books.invoices_of(series_, number_)
    text = "" if made else f"Proforma cu seria si numarul {series_}{number_} nu a fost facturata."
    answer = {
        "errorText": text,
        "message": "",
        "number": "",
        "series": "",
        "areInvoicesCreated": bool(made),
        "invoices": [{"series": d.series, "number": d.number} for d in made],
    }
    return Answer(_json({"sbcResponse": answer}), error_text=text or None)


def collect(sim: SmartBillSimulator, query: Query, body: Body) -> Answer:
    """``POST /payment``: record a collection on invoices (a receipt with ``Chitanta``)."""
    body = body or {}
    _company(sim, body.get("companyVatCode"), "CIF-ul firmei ('companyVatCode') trebuie specificat")
    value, invoices, receipt = sim.books.collect(body)
    refs = ", ".join(d.ref for d in invoices) or "no invoice"
    series_, number_ = (receipt[:-4], receipt[-4:]) if receipt else ("", "")
    return Answer(_ok(series=series_, number=number_), f"collected {value} on {refs}")


def series(sim: SmartBillSimulator, query: Query, body: Body) -> Answer:
    _company(sim, query.get("cif"), "Ciful firmei trebuie specificat!")
    kind = query.get("type")
    if kind and kind not in ("f", "p", "c"):
        raise Refused(
            f"Tipul documentului nu poate fi {kind}! Parametrul type poate lua valorile: 'f' "
            "pentru factura, 'p' pentru proforma si 'c' pentru chitanta."
        )
    items = [
        {"name": s.name, "nextNumber": s.format(s.next), "type": s.type}
        for s in sim.books.series.values()
        if not kind or s.type == kind
    ]
    return Answer(_json({"sbcSeries": {"errorText": "", "message": "", "list": items}}))


def taxes(sim: SmartBillSimulator, query: Query, body: Body) -> Answer:
    _company(sim, query.get("cif"), "Ciful firmei trebuie specificat!")
    items = [{"name": name, "percentage": percent} for name, percent in sim.books.taxes]
    return Answer(_json({"sbcTaxes": {"errorText": "", "message": "", "taxes": items}}))


def stocks(sim: SmartBillSimulator, query: Query, body: Body) -> Answer:
    _company(sim, query.get("cif"), "Ciful firmei trebuie specificat!")
    if not query.get("date"):
        raise Refused(BAD_DATE)
    day(query.get("date"))
    where, name, code = (query.get(k) for k in ("warehouseName", "productName", "productCode"))
    found = []
    for warehouse in sim.books.warehouses.values():
        if where and warehouse.name != where:
            continue
        products = [
            {
                "measuringUnit": item.unit,
                "productName": item.name,
                "quantity": item.quantity,
                **({"productCode": item.code} if sim.books.uses_product_codes else {}),
            }
            for item in warehouse.items.values()
            if (not name or item.name == name) and (not code or item.code == code)
        ]
        if products or not (name or code):
            kind = {"warehouseName": warehouse.name, "warehouseType": warehouse.type}
            found.append({"warehouse": kind, "products": products})
    return Answer(_json({"stocks": {"errorText": "", "message": "", "list": found}}))


ROUTES: list[tuple[str, str, Handler]] = [
    ("POST", "/invoice", issue_invoice),
    ("DELETE", "/invoice", delete_invoice),
    ("POST", "/invoice/reverse", reverse_invoice),
    ("PUT", "/invoice/cancel", cancel_invoice),
    ("PUT", "/invoice/restore", restore_invoice),
    ("GET", "/invoice/pdf", invoice_pdf),
    ("GET", "/invoice/paymentstatus", payment_status),
    ("POST", "/estimate", issue_estimate),
    ("DELETE", "/estimate", delete_estimate),
    ("PUT", "/estimate/cancel", cancel_estimate),
    ("PUT", "/estimate/restore", restore_estimate),
    ("GET", "/estimate/pdf", estimate_pdf),
    ("GET", "/estimate/invoices", estimate_invoices),
    ("POST", "/payment", collect),
    ("GET", "/tax", taxes),
    ("GET", "/series", series),
    ("GET", "/stocks", stocks),
]
