"""The chat's pure rules: the 24-hour window, the order of delivery statuses, reply texts and
what a non-text message reads as in the history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.notifications import chat
from actors.notifications.chat_views import InboundMessage

LAST = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
STATUSES = ["queued", "sent", "delivered", "read", "failed"]


def test_the_window_is_open_just_before_24_hours_and_closed_at_exactly_24() -> None:
    assert chat.is_open(LAST, LAST)
    assert chat.is_open(LAST, LAST + timedelta(hours=24) - timedelta(microseconds=1))
    assert not chat.is_open(LAST, LAST + timedelta(hours=24))
    assert chat.window_closes_at(LAST) == datetime(2026, 11, 29, 9, 30, tzinfo=UTC)


def test_a_customer_who_never_wrote_has_no_window() -> None:
    assert not chat.is_open(None, LAST)
    assert chat.window_closes_at(None) is None


@given(st.timedeltas(min_value=timedelta(days=-3), max_value=timedelta(days=3)))
def test_the_window_is_open_exactly_for_the_24_hours_after_the_last_message(
    gap: timedelta,
) -> None:
    assert chat.is_open(LAST, LAST + gap) == (gap < timedelta(hours=24))


def test_statuses_only_move_forward() -> None:
    assert chat.moves_forward("queued", "sent")
    assert chat.moves_forward("sent", "read")  # delivered may never be reported
    assert not chat.moves_forward("read", "delivered")
    assert not chat.moves_forward("delivered", "delivered")
    assert not chat.moves_forward("sent", "unknown")


def test_failed_is_final_and_only_reachable_before_delivery() -> None:
    assert chat.moves_forward("queued", "failed")
    assert chat.moves_forward("sent", "failed")
    assert not chat.moves_forward("delivered", "failed")
    assert not any(chat.moves_forward("failed", s) for s in STATUSES)


@given(st.lists(st.sampled_from(STATUSES[1:]), max_size=12))
def test_any_order_of_statuses_ends_at_the_furthest_one(arrivals: list[str]) -> None:
    current = "queued"
    for status in arrivals:
        if chat.moves_forward(current, status):
            current = status
    reached = [s for s in arrivals if s != "failed"]
    furthest = max(reached, key=chat.STATUS_RANK.__getitem__, default="queued")
    if "failed" in arrivals and current == "failed":
        before = arrivals[: arrivals.index("failed")]
        assert all(chat.STATUS_RANK[s] < chat.STATUS_RANK["delivered"] for s in before)
    else:
        assert current == furthest


@pytest.mark.parametrize("text", ["", "   \n"])
def test_an_empty_reply_is_refused(text: str) -> None:
    with pytest.raises(chat.InvalidReply, match="empty"):
        chat.check_text(text)


def test_a_reply_longer_than_whatsapp_allows_is_refused() -> None:
    assert chat.check_text("ă" * 4096) == "ă" * 4096
    with pytest.raises(chat.InvalidReply, match="4097 characters"):
        chat.check_text("a" * 4097)


def test_the_window_closed_error_says_when_and_what_to_do() -> None:
    text = str(chat.WindowClosed("C-7", LAST + timedelta(hours=24)))
    assert "2026-11-29T09:30:00+00:00" in text and "template" in text
    assert "never" in str(chat.WindowClosed("C-7", None))


def test_media_is_described_with_its_caption() -> None:
    image = msgspec.convert(
        {"id": "wamid.1", "type": "image", "image": {"id": "m1", "caption": "banda arsa"}},
        InboundMessage,
    )
    audio = msgspec.convert({"id": "wamid.2", "type": "audio"}, InboundMessage)
    assert chat.describe(image) == "[image] banda arsa"
    assert chat.describe(audio) == "[audio]"
