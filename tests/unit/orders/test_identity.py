"""CUI check digits and Romanian counties, as SmartBill and couriers want them."""

from __future__ import annotations

import pytest

from actors.orders.identity import COUNTIES, county_name, cui_check_digit, valid_cui


@pytest.mark.parametrize(
    "cui", ["18547290", "RO18547290", "ro 18547290", " RO 14399840 ", "14399840"]
)
def test_a_cui_with_its_check_digit_is_valid(cui: str) -> None:
    assert valid_cui(cui)


@pytest.mark.parametrize(
    "cui", ["18547291", "RO14399841", "", "RO", "1", "12345678901", "RO18547290X", "DE18547290"]
)
def test_a_cui_with_a_wrong_check_digit_or_shape_is_refused(cui: str) -> None:
    assert not valid_cui(cui)


def test_a_remainder_of_ten_makes_the_check_digit_zero() -> None:
    # 000000023 weighted by 753217532: 2*3 + 3*2 = 12; 12 * 10 mod 11 = 10 -> 0
    assert cui_check_digit("23") == 0
    assert valid_cui("230")
    assert not valid_cui("2310")


def test_there_are_41_counties_bucharest_and_its_six_sectors() -> None:
    assert len(COUNTIES) == 41 + 1 + 6
    assert len(set(COUNTIES)) == len(COUNTIES)


@pytest.mark.parametrize(
    ("written", "name"),
    [
        ("Argeș", "Argeș"),
        ("arges", "Argeș"),
        ("ARGEŞ", "Argeș"),  # cedilla s, as old keyboards write it
        ("Bistrita Nasaud", "Bistrița-Năsăud"),
        ("bistrița-năsăud", "Bistrița-Năsăud"),
        ("Caras-Severin", "Caraș-Severin"),
        ("satu  mare", "Satu Mare"),
        ("Valcea", "Vâlcea"),
        ("Bucuresti", "București"),
        ("Municipiul București", "București"),
        ("Sector 3", "Sector 3"),
        ("sectorul 6", "Sector 6"),
        ("sector1", "Sector 1"),
        ("București, Sector 2", "Sector 2"),
        ("Bucuresti sector 4", "Sector 4"),
    ],
)
def test_counties_are_recognised_with_or_without_diacritics(written: str, name: str) -> None:
    assert county_name(written) == name


@pytest.mark.parametrize("written", ["Sector 7", "Sector 0", "Bavaria", "", "Ilfov Sector 1"])
def test_what_is_not_a_county_is_refused(written: str) -> None:
    assert county_name(written) is None
