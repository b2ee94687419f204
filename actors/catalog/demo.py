"""A deterministic demo catalog of an LED shop: ~290 products in a category tree.

Other contexts' seeds may use it (it is plain data, no I/O):

- :func:`demo_products` → ``list[ProductSnapshot]``: the sellable products as the catalog seed
  publishes them (``version`` 1, ``changed`` empty): ``sku``, ``name``, ``ean`` (valid EAN-13,
  ``594…``), ``category`` (a code of :func:`demo_categories`), ``unit`` (``piece`` or ``metre``:
  strips and profiles), ``cost`` (RON, 5 to 600), ``margin`` (0.25 to 0.60), ``status`` (mostly
  ``active``, a few ``draft`` and ``discontinued``), ``attributes`` and ``parent_sku``.
- :func:`demo_families` → the families (``kind="family"``, no price) the variants point to.
- :func:`demo_categories` → the tree, parents before children.
- :func:`demo_catalog` → families then products, as domain ``Product`` values (what the seed
  stores).

The same call always returns the same data.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import msgspec

from actors.catalog.categories import Category
from actors.catalog.domain import Product, snapshot
from actors.catalog.messages import Attributes, ProductSnapshot, Status, Unit
from actors.catalog.values import ean_check_digit

CENT = Decimal("0.01")
MARGINS = tuple(
    Decimal(m) for m in ("0.25", "0.30", "0.35", "0.40", "0.45", "0.50", "0.55", "0.60")
)

CATEGORIES = (
    ("benzi-led", "Benzi LED", None),
    ("benzi-led-monocolor", "Benzi LED monocolor", "benzi-led"),
    ("benzi-led-rgb", "Benzi LED RGB și RGBW", "benzi-led"),
    ("benzi-led-cob", "Benzi LED COB", "benzi-led"),
    ("profile-aluminiu", "Profile aluminiu", None),
    ("surse-alimentare", "Surse de alimentare", None),
    ("becuri-led", "Becuri LED", None),
    ("tuburi-led", "Tuburi LED", "becuri-led"),
    ("corpuri-iluminat", "Corpuri de iluminat", None),
    ("panouri-led", "Panouri LED", "corpuri-iluminat"),
    ("spoturi-led", "Spoturi LED", "corpuri-iluminat"),
    ("proiectoare-led", "Proiectoare LED", "corpuri-iluminat"),
    ("iluminat-industrial", "Iluminat industrial", "corpuri-iluminat"),
    ("accesorii", "Accesorii", None),
    ("conectori", "Conectori", "accesorii"),
    ("controlere-led", "Controlere și dimmere", "accesorii"),
    ("accesorii-profile", "Accesorii profile", "accesorii"),
)


def demo_categories() -> list[Category]:
    """The category tree, parents first."""
    return [Category(code=c, name=n, parent=p) for c, n, p in CATEGORIES]


# Each generator yields (sku, name, category, unit, cost, attributes, family sku or None).
Item = tuple[str, str, str, Unit, Decimal, Attributes, str | None]


def _money(value: float | Decimal) -> Decimal:
    return Decimal(str(value)).quantize(CENT)


def _w(power: Decimal) -> str:
    return f"{power.normalize():f}"


def _strips() -> Iterator[Item]:
    powers = {12: ("4.8", "9.6", "14.4"), 24: ("4.8", "9.6", "14.4", "19.2")}
    for volts, options in powers.items():
        for text in options:
            power = Decimal(text)
            for ip in (20, 65, 67):
                family = f"BL{volts}-{int(power * 10):03d}-IP{ip}"
                for cct in (2700, 3000, 4000, 6500):
                    cost = 4 + power * Decimal("0.9") + {20: 0, 65: 2, 67: 4}[ip] + volts // 24
                    yield (
                        f"{family}-{cct // 100}K",
                        f"Bandă LED {volts}V {_w(power)}W/m {cct}K IP{ip} (rolă 5m)",
                        "benzi-led-monocolor",
                        "metre",
                        _money(cost),
                        Attributes(
                            power_w=power,
                            cct_k=cct,
                            ip_rating=f"IP{ip}",
                            voltage_v=volts,
                            lumens=int(power * 100),
                            cri=90 if power > 14 else 80,
                        ),
                        family,
                    )
    for colour, volts, text in (("RGB", 12, "7.2"), ("RGB", 24, "14.4"), ("RGBW", 24, "19.2")):
        power = Decimal(text)
        for ip in (20, 65):
            yield (
                f"BL{colour}{volts}-{int(power * 10):03d}-IP{ip}",
                f"Bandă LED {colour} {volts}V {_w(power)}W/m IP{ip} (rolă 5m)",
                "benzi-led-rgb",
                "metre",
                _money(9 + power * Decimal("1.1") + (3 if ip == 65 else 0)),
                Attributes(power_w=power, ip_rating=f"IP{ip}", voltage_v=volts, colour=colour),
                None,
            )
    for volts in (12, 24):
        for cct in (3000, 4000, 6500):
            yield (
                f"BLCOB{volts}-100-{cct // 100}K",
                f"Bandă LED COB {volts}V 10W/m {cct}K IP20 (rolă 5m)",
                "benzi-led-cob",
                "metre",
                _money(16 + volts / 12),
                Attributes(
                    power_w=Decimal(10),
                    cct_k=cct,
                    ip_rating="IP20",
                    voltage_v=volts,
                    lumens=1000,
                    cri=90,
                ),
                None,
            )


def _profiles() -> Iterator[Item]:
    kinds = {
        "aplicat": ("PA", 8),
        "încastrat": ("PI", 12),
        "de colț": ("PC", 11),
        "suspendat": ("PS", 20),
    }
    finishes = {"argintiu": "ARG", "negru": "NEG", "alb": "ALB"}
    for kind, (code, base) in kinds.items():
        for length in (1, 2, 3):
            for finish, fcode in finishes.items():
                yield (
                    f"{code}-{length}M-{fcode}",
                    f"Profil aluminiu {kind} {length}m {finish}",
                    "profile-aluminiu",
                    "metre",
                    _money(base + (0 if finish == "argintiu" else 2) - length * 0.5),
                    Attributes(colour=finish),
                    None,
                )


def _drivers() -> Iterator[Item]:
    for volts in (12, 24):
        for watts in (30, 60, 100, 150, 200, 250, 320):
            for ip in (20, 67):
                yield (
                    f"SA{volts}-{watts}-IP{ip}",
                    f"Sursă alimentare {volts}V {watts}W IP{ip}",
                    "surse-alimentare",
                    "piece",
                    _money((20 + watts * 0.45) * (1.6 if ip == 67 else 1)),
                    Attributes(power_w=Decimal(watts), voltage_v=volts, ip_rating=f"IP{ip}"),
                    None,
                )
        for watts in (36, 60, 100, 150):
            yield (
                f"SAS{volts}-{watts}",
                f"Sursă alimentare slim {volts}V {watts}W IP20",
                "surse-alimentare",
                "piece",
                _money(25 + watts * 0.5),
                Attributes(power_w=Decimal(watts), voltage_v=volts, ip_rating="IP20"),
                None,
            )


def _bulbs() -> Iterator[Item]:
    sockets = {"E27": (5, 7, 9, 10, 12, 15), "E14": (5, 7), "GU10": (5, 7), "GU5.3": (5, 7)}
    for socket, powers in sockets.items():
        volts = 12 if socket == "GU5.3" else 230
        code = socket.replace(".", "")
        for watts in powers:
            family = f"BEC-{code}-{watts}W"
            for cct in (2700, 4000, 6500):
                yield (
                    f"{family}-{cct // 100}K",
                    f"Bec LED {socket} {watts}W {cct}K",
                    "becuri-led",
                    "piece",
                    _money(5 + watts * 0.6),
                    Attributes(
                        power_w=Decimal(watts),
                        cct_k=cct,
                        voltage_v=volts,
                        lumens=watts * 100,
                        cri=80,
                    ),
                    family,
                )
    for watts in (4, 6, 8):
        yield (
            f"BEC-E27-FIL-{watts}W",
            f"Bec LED filament E27 {watts}W 2700K",
            "becuri-led",
            "piece",
            _money(9 + watts * 0.8),
            Attributes(power_w=Decimal(watts), cct_k=2700, voltage_v=230, lumens=watts * 110),
            None,
        )
    for length, watts in ((60, 9), (120, 18), (150, 24)):
        for cct in (4000, 6500):
            yield (
                f"TUB-T8-{length}-{cct // 100}K",
                f"Tub LED T8 {watts}W {length}cm {cct}K",
                "tuburi-led",
                "piece",
                _money(8 + watts * 0.7),
                Attributes(power_w=Decimal(watts), cct_k=cct, voltage_v=230, lumens=watts * 110),
                None,
            )


def _luminaires() -> Iterator[Item]:
    panels = (
        ("60X60-36", "Panou LED 60x60 36W", 36, 48),
        ("60X60-40", "Panou LED 60x60 40W", 40, 55),
        ("30X120-40", "Panou LED 30x120 40W", 40, 62),
        ("R-18", "Panou LED rotund încastrat 18W", 18, 22),
        ("R-24", "Panou LED rotund aplicat 24W", 24, 35),
    )
    for code, name, watts, cost in panels:
        for cct in (3000, 4000, 6500):
            yield (
                f"PNL-{code}-{cct // 100}K",
                f"{name} {cct}K",
                "panouri-led",
                "piece",
                _money(cost),
                Attributes(
                    power_w=Decimal(watts),
                    cct_k=cct,
                    voltage_v=230,
                    lumens=watts * 100,
                    ip_rating="IP20",
                ),
                None,
            )
    for watts in (5, 7, 10):
        for finish, fcode in (("alb", "ALB"), ("negru", "NEG")):
            for cct in (3000, 4000, 6500):
                yield (
                    f"SPT-{watts}W-{fcode}-{cct // 100}K",
                    f"Spot LED încastrat {watts}W {cct}K {finish}",
                    "spoturi-led",
                    "piece",
                    _money(11 + watts * 1.2),
                    Attributes(power_w=Decimal(watts), cct_k=cct, voltage_v=230, colour=finish),
                    None,
                )
    for watts in (10, 20, 30, 50, 100, 150, 200):
        for cct in (4000, 6500):
            yield (
                f"PRO-{watts}W-{cct // 100}K",
                f"Proiector LED {watts}W {cct}K IP65",
                "proiectoare-led",
                "piece",
                _money(15 + watts * 1.6),
                Attributes(
                    power_w=Decimal(watts),
                    cct_k=cct,
                    voltage_v=230,
                    ip_rating="IP65",
                    lumens=watts * 100,
                ),
                None,
            )
    for watts, cost in ((100, 260), (150, 390), (200, 585)):
        yield (
            f"UFO-{watts}W",
            f"Lampă industrială UFO {watts}W 5000K IP65",
            "iluminat-industrial",
            "piece",
            _money(cost),
            Attributes(
                power_w=Decimal(watts),
                cct_k=5000,
                voltage_v=230,
                ip_rating="IP65",
                lumens=watts * 140,
            ),
            None,
        )


def _accessories() -> Iterator[Item]:
    simple = (
        ("CON-8MM-2P", "Conector bandă LED 8mm 2 pini", "conectori", 5),
        ("CON-10MM-2P", "Conector bandă LED 10mm 2 pini", "conectori", 5.2),
        ("CON-10MM-4P", "Conector bandă LED RGB 10mm 4 pini", "conectori", 5.8),
        ("CON-12MM-5P", "Conector bandă LED RGBW 12mm 5 pini", "conectori", 6.4),
        ("CON-L-10MM", "Conector colț bandă LED 10mm", "conectori", 6.9),
        ("CON-T-10MM", "Conector T bandă LED 10mm", "conectori", 7.5),
        ("CON-DC-M", "Mufă DC tată cu bornă", "conectori", 5),
        ("CON-DC-F", "Mufă DC mamă cu bornă", "conectori", 5),
        ("CTL-RGB-IR", "Controler RGB cu telecomandă IR 12-24V 72W", "controlere-led", 19),
        ("CTL-RGB-RF", "Controler RGB cu telecomandă RF 12-24V 144W", "controlere-led", 32),
        ("CTL-RGBW-WIFI", "Controler RGBW WiFi 12-24V 192W", "controlere-led", 58),
        ("DIM-RF-8A", "Dimmer LED cu telecomandă RF 12-24V 8A", "controlere-led", 27),
        ("DIM-TOUCH", "Dimmer LED tactil pentru profil 12-24V", "controlere-led", 22),
        ("AMP-RGB-12A", "Amplificator semnal RGB 12-24V 12A", "controlere-led", 36),
        ("DIF-OPAL-2M", "Difuzor opal pentru profil 2m", "accesorii-profile", 9),
        ("DIF-CLAR-2M", "Difuzor clar pentru profil 2m", "accesorii-profile", 9),
    )
    for sku, name, category, cost in simple:
        yield sku, name, category, "piece", _money(cost), Attributes(), None
    for code, kind in (
        ("PA", "aplicat"),
        ("PI", "încastrat"),
        ("PC", "de colț"),
        ("PS", "suspendat"),
    ):
        yield (
            f"CAP-{code}",
            f"Set capace capăt profil {kind}",
            "accesorii-profile",
            "piece",
            _money(5.5),
            Attributes(),
            None,
        )
        yield (
            f"CLM-{code}",
            f"Set cleme montaj profil {kind} (4 buc)",
            "accesorii-profile",
            "piece",
            _money(6),
            Attributes(),
            None,
        )


def _items() -> list[Item]:
    return [*_strips(), *_profiles(), *_drivers(), *_bulbs(), *_luminaires(), *_accessories()]


def _ean(n: int) -> str:
    body = f"5940000{n:05d}"
    return body + str(ean_check_digit(body))


def _status(n: int) -> Status:
    if n % 29 == 7:
        return "draft"
    if n % 41 == 13:
        return "discontinued"
    return "active"


def demo_families() -> list[Product]:
    """The families the variants of :func:`demo_products` point to."""
    families: dict[str, Product] = {}
    for _, name, category, unit, _, attrs, family in _items():
        if family is not None and family not in families:
            family_name = " ".join(w for w in name.split() if not w.endswith("K") or "/" in w)
            shared = msgspec.structs.replace(attrs, cct_k=None)  # what every variant has
            families[family] = Product(
                sku=family,
                version=1,
                kind="family",
                name=family_name,
                category=category,
                unit=unit,
                status="active",
                attributes=shared,
            )
    return list(families.values())


def _products() -> list[Product]:
    out = []
    for n, (sku, name, category, unit, cost, attrs, family) in enumerate(_items(), 1):
        out.append(
            Product(
                sku=sku,
                version=1,
                kind="product",
                parent_sku=family,
                name=name,
                ean=_ean(n),
                category=category,
                unit=unit,
                cost=cost,
                margin=MARGINS[n % len(MARGINS)],
                status=_status(n),
                attributes=attrs,
            )
        )
    return out


def demo_catalog() -> list[Product]:
    """Families first, then the products (the order the seed stores them in)."""
    return [*demo_families(), *_products()]


def demo_products() -> list[ProductSnapshot]:
    """The sellable demo products, as ``ProductsChanged`` carries them."""
    return [snapshot(p, ()) for p in _products()]
