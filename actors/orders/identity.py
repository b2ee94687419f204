"""Who and where, as SmartBill and a Romanian courier want them: a company's CUI with its
check digit, and a real county (in Bucharest, a sector). Pure: no I/O.
"""

from __future__ import annotations

import re
import unicodedata

# The CUI/CIF control key (ANAF): the digits before the check digit, right-aligned under it.
CUI_KEY = "753217532"

COUNTIES: tuple[str, ...] = (
    "Alba",
    "Arad",
    "Argeș",
    "Bacău",
    "Bihor",
    "Bistrița-Năsăud",
    "Botoșani",
    "Brăila",
    "Brașov",
    "Buzău",
    "Călărași",
    "Caraș-Severin",
    "Cluj",
    "Constanța",
    "Covasna",
    "Dâmbovița",
    "Dolj",
    "Galați",
    "Giurgiu",
    "Gorj",
    "Harghita",
    "Hunedoara",
    "Ialomița",
    "Iași",
    "Ilfov",
    "Maramureș",
    "Mehedinți",
    "Mureș",
    "Neamț",
    "Olt",
    "Prahova",
    "Sălaj",
    "Satu Mare",
    "Sibiu",
    "Suceava",
    "Teleorman",
    "Timiș",
    "Tulcea",
    "Vâlcea",
    "Vaslui",
    "Vrancea",
    "București",
    *(f"Sector {n}" for n in range(1, 7)),
)


def fold(text: str) -> str:
    """Lower case, without diacritics (ș and ş alike), hyphens and runs of spaces as one space."""
    decomposed = unicodedata.normalize("NFKD", text.strip().lower())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"[\s\-]+", " ", plain).strip()


_BY_FOLDED = {fold(name): name for name in COUNTIES}
# "Sector 3", "sectorul 3", "sector3", "București, Sector 3", "Bucuresti sector 3"
_SECTOR = re.compile(r"^(?:(?:municipiul )?bucuresti ?,? ?)?sector(?:ul)? ?([1-6])$")
_BUCHAREST = re.compile(r"^(?:municipiul )?bucuresti$")


def county_name(text: str) -> str | None:
    """The county's proper name for ``text`` (any case, with or without diacritics), or None.

    Bucharest is not a county: it is accepted as "București" or as one of its six sectors
    ("Sector 3", also written "București, Sector 3").
    """
    folded = fold(text)
    if sector := _SECTOR.match(folded):
        return f"Sector {sector.group(1)}"
    if _BUCHAREST.match(folded):
        return "București"
    return _BY_FOLDED.get(folded)


def cui_digits(cui: str) -> str | None:
    """The digits of a CUI written "RO18547290", "ro 18547290" or "18547290"; None if it has
    anything else or the wrong length (2 to 10 digits)."""
    text = re.sub(r"\s+", "", cui).upper()
    text = text.removeprefix("RO")
    if not (text.isascii() and text.isdigit()) or not 2 <= len(text) <= 10:
        return None
    return text


def cui_check_digit(body: str) -> int:
    """The check digit of a CUI's digits before it (at most nine)."""
    padded = body.rjust(len(CUI_KEY), "0")
    total = sum(int(d) * int(k) for d, k in zip(padded, CUI_KEY, strict=True))
    check = total * 10 % 11
    return 0 if check == 10 else check


def valid_cui(cui: str) -> bool:
    """True if ``cui`` is a well-formed CUI whose last digit is its check digit."""
    digits = cui_digits(cui)
    if digits is None:
        return False
    return cui_check_digit(digits[:-1]) == int(digits[-1])
