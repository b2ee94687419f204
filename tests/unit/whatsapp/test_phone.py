"""E.164 normalisation of Romanian numbers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.whatsapp.phone import normalise


@pytest.mark.parametrize(
    "typed",
    [
        "0744 123 456",
        "+40 744-123-456",
        "0040744123456",
        "744123456",
        "40744123456",
        "(0744)123.456",
    ],
)
def test_the_ways_customers_type_a_number(typed: str) -> None:
    assert normalise(typed) == "40744123456"


def test_landlines_are_kept() -> None:
    assert normalise("021 315 0000") == "40213150000"


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("", "9 digits"),
        ("0744 123 45", "9 digits"),
        ("07441234567", "9 digits"),
        ("+33 6 12 34 56 78", "country code"),
        ("0744 12x 456", "only digits"),
        ("0844 123 456", "mobile or landline"),
        ("+40 0744 123 456", "9 digits"),
    ],
)
def test_what_cannot_be_a_number_is_refused_with_a_reason(typed: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        normalise(typed)


nine = st.from_regex(r"7[0-9]{8}", fullmatch=True)


@given(nine, st.sampled_from(["0{}", "+40{}", "0040{}", "{}", "40{}", "+40 {}"]))
def test_every_spelling_of_a_number_normalises_to_the_same_digits(
    national: str, spelling: str
) -> None:
    assert normalise(spelling.format(national)) == "40" + national


@given(st.text(max_size=20))
def test_any_input_gives_e164_digits_or_a_value_error(typed: str) -> None:
    try:
        result = normalise(typed)
    except ValueError as exc:
        assert str(exc)
    else:
        assert result.isdigit() and len(result) == 11 and result.startswith("40")
