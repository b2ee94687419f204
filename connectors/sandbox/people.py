"""Realistic Romanian shop orders for the demo: people, companies, addresses, payment methods.

Pure: everything comes from the ``random.Random`` given, so a seed replays the same orders.
Addresses are in real counties with WooCommerce's state codes (București with its sector),
phone numbers are Romanian mobiles, companies pay by bank transfer with a CUI whose check digit
is valid (``_billing_cui`` in the order meta, as Romanian invoicing plugins keep it).
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

Method = Literal["card", "cod", "transfer"]

FIRST_NAMES = (
    "Andrei", "Ioana", "Mihai", "Elena", "Alexandru", "Maria", "Cristian", "Ana", "Gabriel",
    "Andreea", "Ștefan", "Raluca", "Florin", "Mădălina", "Bogdan", "Cristina", "Vlad", "Irina",
    "Radu", "Simona", "Ionuț", "Alina", "Sorin", "Bianca", "Călin", "Roxana",
)  # fmt: skip
LAST_NAMES = (
    "Popescu", "Ionescu", "Popa", "Dumitrescu", "Stan", "Stoica", "Gheorghe", "Matei", "Ciobanu",
    "Rusu", "Munteanu", "Constantin", "Marin", "Tudor", "Dobre", "Barbu", "Nistor", "Florea",
    "Moldovan", "Lungu", "Mocanu", "Sârbu", "Toma", "Lazăr", "Ene", "Dinu",
)  # fmt: skip
STREETS = (
    "Str. Mihai Eminescu", "Bd. Unirii", "Str. Avram Iancu", "Calea Victoriei", "Str. Florilor",
    "Bd. Independenței", "Str. Libertății", "Str. Nicolae Bălcescu", "Aleea Teilor",
    "Str. Republicii", "Bd. Revoluției", "Str. Ion Creangă", "Str. Zorilor", "Calea Dorobanților",
)  # fmt: skip
# (WooCommerce state code, city, postcode): county seats and a few towns
PLACES = (
    ("CJ", "Cluj-Napoca", "400001"), ("TM", "Timișoara", "300001"), ("IS", "Iași", "700001"),
    ("BV", "Brașov", "500001"), ("CT", "Constanța", "900001"), ("PH", "Ploiești", "100001"),
    ("SB", "Sibiu", "550001"), ("BH", "Oradea", "410001"), ("DJ", "Craiova", "200001"),
    ("AG", "Pitești", "110001"), ("MS", "Târgu Mureș", "540001"), ("GL", "Galați", "800001"),
    ("IF", "Voluntari", "077190"), ("IF", "Otopeni", "075100"), ("AB", "Alba Iulia", "510001"),
    ("SV", "Suceava", "720001"), ("BC", "Bacău", "600001"), ("AR", "Arad", "310001"),
)  # fmt: skip
BUCHAREST_POSTCODES = {1: "010011", 2: "020011", 3: "030011", 4: "040011", 5: "050011", 6: "060011"}
COMPANIES = (
    "Lumina Design", "Electro Instal Construct", "Casa Luminoasă", "Prolux Proiect",
    "Arhitect Interior Studio", "Voltaj Service", "Nord Instalații Electrice", "Dacia Renovări",
)  # fmt: skip
CUI_KEY = "753217532"
GATEWAYS: dict[Method, tuple[str, str]] = {
    "card": ("stripe", "Card de credit/debit (Stripe)"),
    "cod": ("cod", "Ramburs la curier"),
    "transfer": ("bacs", "Transfer bancar (firme)"),
}
NOTES = (
    "", "", "", "Vă rog sunați înainte de livrare.", "Livrare după ora 17.", "Interfon 12.",
)  # fmt: skip


@dataclass(frozen=True)
class Product:
    """A product of the shop the demo may order."""

    id: int
    sku: str
    name: str
    price: str
    stock: int


def cui_check_digit(body: str) -> int:
    """The check digit of a CUI's digits before it (at most nine)."""
    padded = body.rjust(len(CUI_KEY), "0")
    total = sum(int(d) * int(k) for d, k in zip(padded, CUI_KEY, strict=True))
    check = total * 10 % 11
    return 0 if check == 10 else check


def cui(rng: random.Random) -> str:
    """A VAT-registered company's CUI (``RO`` and 8 digits, the last one the check digit)."""
    body = str(rng.randint(1_000_000, 9_999_999))
    return f"RO{body}{cui_check_digit(body)}"


def phone(rng: random.Random) -> str:
    """A Romanian mobile number written as people type it (``0744 123 456``)."""
    network = rng.choice("2345678")  # 072x ... 078x
    return f"07{network}{rng.randint(0, 9)} {rng.randint(100, 999)} {rng.randint(100, 999)}"


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def address(rng: random.Random, first: str, last: str) -> dict[str, str]:
    """A WooCommerce billing address; about a third of them in București (with a sector)."""
    street = f"{rng.choice(STREETS)} nr. {rng.randint(1, 120)}"
    if rng.random() < 0.35:
        sector = rng.randint(1, 6)
        state, city, postcode = "B", "București", BUCHAREST_POSTCODES[sector]
        block = f"{rng.choice('ABCDM')}{rng.randint(1, 20)}"
        extra = f"Sector {sector}, bl. {block}, ap. {rng.randint(1, 90)}"
    else:
        state, city, postcode = rng.choice(PLACES)
        extra = "" if rng.random() < 0.6 else f"ap. {rng.randint(1, 40)}"
    email = f"{_ascii(first)}.{_ascii(last)}{rng.randint(1, 99)}@example.ro"
    return {
        "first_name": first,
        "last_name": last,
        "company": "",
        "address_1": street,
        "address_2": extra,
        "city": city,
        "state": state,
        "postcode": postcode,
        "country": "RO",
        "email": email,
        "phone": phone(rng),
    }


def method_for(rng: random.Random, n: int) -> Method:
    """The n-th order's payment (from 0): card, cash on delivery, transfer first, then a mix."""
    if n < 3:
        return ("card", "cod", "transfer")[n]
    return rng.choices(("card", "cod", "transfer"), weights=(50, 35, 15))[0]


def lines(rng: random.Random, products: Sequence[Product]) -> list[dict[str, Any]]:
    """One to four different products, a few pieces (or metres) each, within their stock."""
    count = min(len(products), rng.choices((1, 2, 3, 4), weights=(35, 35, 20, 10))[0])
    chosen = rng.sample(list(products), count)
    return [
        {"product_id": p.id, "quantity": rng.randint(1, max(1, min(5, p.stock // 4)))}
        for p in chosen
    ]


def shop_order(rng: random.Random, n: int, products: Sequence[Product]) -> dict[str, Any]:
    """The body of ``POST /wp-json/wc/v3/orders`` a checkout makes for the n-th demo order."""
    method = method_for(rng, n)
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    billing = address(rng, first, last)
    gateway, title = GATEWAYS[method]
    body: dict[str, Any] = {
        "payment_method": gateway,
        "payment_method_title": title,
        "billing": billing,
        "shipping": {k: v for k, v in billing.items() if k != "email"},
        "line_items": lines(rng, products),
        "customer_note": rng.choice(NOTES),
        "meta_data": [],
    }
    if method == "card":
        body["set_paid"] = True  # the card was charged: processing, date_paid
        body["transaction_id"] = f"ch_{rng.getrandbits(64):016x}"
    elif method == "cod":
        body["status"] = "processing"  # WooCommerce's COD gateway moves the order on at once
    else:
        company = f"{rng.choice(COMPANIES)} SRL"
        billing["company"] = company
        body["shipping"]["company"] = company
        county = rng.choice((40, 12, 35, 8, 22))
        reg_com = f"J{county}/{rng.randint(100, 9999)}/20{rng.randint(10, 24)}"
        body["meta_data"] = [
            {"key": "_billing_cui", "value": cui(rng)},
            {"key": "_billing_nr_reg_com", "value": reg_com},
        ]
        body["status"] = "on-hold"  # awaiting the bank transfer
    return body


def method_of(body: dict[str, Any]) -> Method:
    """The demo payment method of an order body."""
    gateway = body.get("payment_method")
    return next(m for m, (g, _) in GATEWAYS.items() if g == gateway)
