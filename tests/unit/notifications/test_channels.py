"""Channel choice: consent, preferences, suppressions, guests, staff; status ordering."""

from __future__ import annotations

from actors.notifications.domain import Channel, Recipient, advances, choose, suppression_for

ALL: tuple[Channel, ...] = ("email", "whatsapp", "in_app")


def customer(**kw: object) -> Recipient:
    base: dict[str, object] = {
        "customer_id": "C1",
        "email": "ana@example.ro",
        "phone": "40744123456",
        "whatsapp_opt_in": True,
    }
    return Recipient(**{**base, **kw})  # type: ignore[arg-type]


def channels(**kw: object) -> list[str]:
    args: dict[str, object] = {
        "requested": (),
        "defaults": ALL,
        "kind": "transactional",
        "recipient": customer(),
        "suppression": None,
    }
    args.update(kw)
    return [r.channel for r in choose(**args).routes]  # type: ignore[arg-type]


def test_a_consenting_portal_customer_gets_every_default_channel() -> None:
    assert channels() == ["email", "whatsapp", "in_app"]


def test_requested_channels_narrow_the_defaults() -> None:
    assert channels(requested=("email",)) == ["email"]


def test_whatsapp_needs_opt_in_and_a_phone() -> None:
    assert channels(recipient=customer(whatsapp_opt_in=False)) == ["email", "in_app"]
    assert channels(recipient=customer(phone=None)) == ["email", "in_app"]


def test_a_bounced_address_gets_no_email() -> None:
    assert channels(suppression="bounce") == ["whatsapp", "in_app"]


def test_an_unsubscribe_stops_marketing_but_not_an_invoice() -> None:
    assert "email" in channels(suppression="unsubscribe")
    consenting = customer(marketing_consent=True)
    assert "email" not in channels(
        kind="marketing", suppression="unsubscribe", recipient=consenting
    )


def test_marketing_needs_consent() -> None:
    assert channels(kind="marketing") == ["in_app"]
    assert channels(kind="marketing", recipient=customer(marketing_consent=True)) == list(ALL)


def test_a_guest_gets_email_only_and_no_marketing() -> None:
    guest = Recipient(customer_id=None, email="g@example.ro", phone="40744123456")
    assert channels(recipient=guest) == ["email"]
    assert channels(recipient=guest, kind="marketing") == []


def test_disabled_email_and_in_app_are_honoured() -> None:
    assert channels(recipient=customer(email_enabled=False, in_app_enabled=False)) == ["whatsapp"]


def test_nothing_usable_is_skipped_with_the_reasons() -> None:
    guest = Recipient(customer_id=None, email=None, phone=None)
    choice = choose(
        requested=(), defaults=ALL, kind="transactional", recipient=guest, suppression=None
    )
    assert choice.routes == ()
    assert "email: no email address" in choice.reason
    assert "in-app needs a portal user" in choice.reason


def test_staff_templates_go_by_email_only() -> None:
    assert channels(kind="staff") == ["email"]


def test_statuses_only_move_forward() -> None:
    assert advances("requested", "accepted")
    assert advances("accepted", "delivered")
    assert not advances("delivered", "accepted")  # a late "processed"
    assert advances("delivered", "opened")
    assert not advances("delivered", "bounced")
    assert advances("accepted", "bounced")
    assert advances("delivered", "spam")
    assert not advances("bounced", "delivered")


def test_dropped_suppresses_only_for_address_reasons() -> None:
    assert suppression_for("bounce", "550 no such user") == "bounce"
    assert suppression_for("dropped", "Bounced Address") == "dropped"
    assert suppression_for("dropped", "Exceeded size limit") is None
    assert suppression_for("delivered", "") is None
