"""Romanian counties as WooCommerce stores them: the state code of a billing/shipping address."""

from __future__ import annotations

# WooCommerce's Romanian states (i18n/states.php): the code stored in billing/shipping.state.
COUNTIES: dict[str, str] = {
    "AB": "Alba",
    "AR": "Arad",
    "AG": "Argeș",
    "BC": "Bacău",
    "BH": "Bihor",
    "BN": "Bistrița-Năsăud",
    "BT": "Botoșani",
    "BR": "Brăila",
    "BV": "Brașov",
    "B": "București",
    "BZ": "Buzău",
    "CL": "Călărași",
    "CS": "Caraș-Severin",
    "CJ": "Cluj",
    "CT": "Constanța",
    "CV": "Covasna",
    "DB": "Dâmbovița",
    "DJ": "Dolj",
    "GL": "Galați",
    "GR": "Giurgiu",
    "GJ": "Gorj",
    "HR": "Harghita",
    "HD": "Hunedoara",
    "IL": "Ialomița",
    "IS": "Iași",
    "IF": "Ilfov",
    "MM": "Maramureș",
    "MH": "Mehedinți",
    "MS": "Mureș",
    "NT": "Neamț",
    "OT": "Olt",
    "PH": "Prahova",
    "SJ": "Sălaj",
    "SM": "Satu Mare",
    "SB": "Sibiu",
    "SV": "Suceava",
    "TR": "Teleorman",
    "TM": "Timiș",
    "TL": "Tulcea",
    "VL": "Vâlcea",
    "VS": "Vaslui",
    "VN": "Vrancea",
}


def county(state: str, country: str, city: str) -> str:
    """A county name for the hub: WooCommerce's code for Romania (``CJ`` → Cluj), else as given
    (the orders context checks Romanian counties, also written in full or as "Sector 3")."""
    state = state.strip()
    if country in ("", "RO"):
        return COUNTIES.get(state.upper(), state)
    return state or city.strip()
