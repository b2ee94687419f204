"""The order's rules: exactly DOMAIN.md's 14 transitions, the documents by payment method, and
the WooCommerce status table both ways."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from actors.orders.domain import (
    FINAL,
    FROM_WOO,
    TO_WOO,
    OrderState,
    documents_due,
    from_woo,
    transition,
    woo_status,
)
from hub.errors import DomainError

S = OrderState
AT = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)

# DOMAIN.md, verbatim.
ALLOWED = {
    (S.pending, S.confirmed),
    (S.pending, S.on_hold),
    (S.pending, S.cancelled),
    (S.on_hold, S.confirmed),
    (S.on_hold, S.cancelled),
    (S.confirmed, S.processing),
    (S.confirmed, S.cancelled),
    (S.processing, S.partially_shipped),
    (S.processing, S.shipped),
    (S.partially_shipped, S.shipped),
    (S.shipped, S.delivered),
    (S.delivered, S.return_requested),
    (S.return_requested, S.returned),
    (S.returned, S.refunded),
}


def test_there_are_eleven_states_and_fourteen_transitions() -> None:
    assert len(S) == 11
    assert len(ALLOWED) == 14


@pytest.mark.parametrize(("state", "to"), sorted(ALLOWED))
def test_each_allowed_transition_is_recorded_with_who_when_and_why(
    state: OrderState, to: OrderState
) -> None:
    step = transition("O-1", state, to, at=AT, by="user:7", reason=" paid by card ")
    assert (step.from_state, step.to_state, step.at, step.by) == (state, to, AT, "user:7")
    assert step.reason == "paid by card"


REFUSED = sorted(set(itertools.product(S, S)) - ALLOWED)


@pytest.mark.parametrize(("state", "to"), REFUSED)
def test_every_other_move_is_refused_naming_the_state_and_the_way_out(
    state: OrderState, to: OrderState
) -> None:
    with pytest.raises(DomainError) as refused:
        transition("O-9", state, to, at=AT, by="system", reason="")
    message = str(refused.value)
    assert f"order O-9 is {state} and cannot become {to}" in message
    for next_state in (t for s, t in ALLOWED if s == state):
        assert next_state in message
    if state in FINAL:
        assert f"{state} is final" in message


def test_refused_moves_cover_all_the_rest() -> None:
    assert len(REFUSED) == 11 * 11 - 14
    assert {S.cancelled, S.refunded} == FINAL


def test_a_transition_needs_an_aware_time() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        transition("O-1", S.pending, S.confirmed, at=datetime(2026, 1, 1), by="x", reason="")


@pytest.mark.parametrize(
    ("method", "moment", "documents"),
    [
        ("card", "confirmed", ("invoice",)),
        ("card", "shipped", ()),
        ("card", "payment_recorded", ()),
        ("cash_on_delivery", "confirmed", ()),
        ("cash_on_delivery", "shipped", ("invoice",)),
        ("cash_on_delivery", "payment_recorded", ()),
        ("bank_transfer", "confirmed", ("proforma",)),
        ("bank_transfer", "shipped", ()),
        ("bank_transfer", "payment_recorded", ("invoice",)),
    ],
)
def test_documents_follow_the_payment_method(method: str, moment: str, documents: tuple) -> None:
    assert documents_due(method, moment) == documents  # type: ignore[arg-type]


def test_every_state_shows_as_a_shop_status_and_back_to_a_state_that_shows_the_same() -> None:
    assert set(TO_WOO) == set(S)
    for state in S:
        shown = woo_status(state)
        assert woo_status(from_woo(shown)) == shown, state


def test_every_shop_status_maps_to_a_state_and_shows_as_itself_except_failed() -> None:
    for status, state in FROM_WOO.items():
        back = woo_status(state)
        if status == "failed":
            assert (state, back) == (S.cancelled, "cancelled")  # a declined card: cancelled
        else:
            assert back == status, status


def test_an_unknown_shop_status_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(DomainError, match="unknown WooCommerce order status 'checkout-draft'"):
        from_woo("checkout-draft")
