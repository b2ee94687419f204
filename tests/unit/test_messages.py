"""Messages: registry, JSON bodies, envelopes (in memory and on the wire), schemas, UUIDv7."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import msgspec
import pytest

from hub.bus import envelope_from_wire, envelope_headers
from hub.errors import PermanentError
from hub.ids import uuid7
from hub.messages import (
    Command,
    Envelope,
    Event,
    decode,
    encode,
    registry,
    schemas,
    type_name,
)


class QuotePrice(Command, tag="unit_messages.QuotePrice"):
    """Price a quantity of one product for a customer."""

    sku: str
    quantity: int
    unit_price: Decimal
    valid_until: datetime
    note: str | None = None


class PriceQuoted(Event, tag="unit_messages.PriceQuoted"):
    """A price was quoted."""

    sku: str
    total: Decimal


def quote(**changes: object) -> QuotePrice:
    fields: dict[str, object] = {
        "sku": "LED-STRIP-5M",
        "quantity": 3,
        "unit_price": Decimal("19.99"),
        "valid_until": datetime(2026, 1, 31, 21, 59, 59, 123456, tzinfo=UTC),
    }
    fields.update(changes)
    return QuotePrice(**fields)  # type: ignore[arg-type]


# --- registry -----------------------------------------------------------------------------


def test_defining_a_tagged_command_registers_it() -> None:
    assert "unit_messages.QuotePrice" in registry
    assert registry.get("unit_messages.QuotePrice") is QuotePrice
    assert type_name(QuotePrice) == "unit_messages.QuotePrice"
    assert QuotePrice.kind == "command"
    assert PriceQuoted.kind == "event"


def test_a_second_class_with_a_taken_tag_is_refused() -> None:
    with pytest.raises(TypeError, match=r"unit_messages\.QuotePrice.*test_messages\.QuotePrice"):

        class OtherQuote(Command, tag="unit_messages.QuotePrice"):
            """Same tag, different class."""

            sku: str

    assert registry.get("unit_messages.QuotePrice") is QuotePrice


def test_a_class_with_the_same_name_in_another_module_cannot_take_a_tag() -> None:
    namespace: dict[str, object] = {"__name__": "other_context.messages", "Command": Command}

    with pytest.raises(TypeError, match=r"other_context\.messages\.QuotePrice"):
        exec(  # a module of another context that reuses the class name and the tag
            "class QuotePrice(Command, tag='unit_messages.QuotePrice'):\n    sku: str\n",
            namespace,
        )

    assert registry.get("unit_messages.QuotePrice") is QuotePrice


def test_untagged_message_has_no_type_name() -> None:
    class Untagged(Command):
        """No tag."""

        x: int

    with pytest.raises(TypeError, match="no tag"):
        type_name(Untagged)


# --- bodies ---------------------------------------------------------------------------------


def test_encode_decode_round_trip_keeps_every_field() -> None:
    message = quote(note="urgent")

    assert decode("unit_messages.QuotePrice", encode(message)) == message


def test_decimal_is_encoded_as_a_string_without_precision_loss() -> None:
    price = Decimal("12345678901234567890.123456789")
    body = encode(quote(unit_price=price))

    raw = msgspec.json.decode(body)
    decoded = decode("unit_messages.QuotePrice", body)

    assert raw["unit_price"] == "12345678901234567890.123456789"
    assert isinstance(decoded, QuotePrice)
    assert decoded.unit_price == price
    assert str(decoded.unit_price) == str(price)


def test_timezone_aware_datetime_survives_the_round_trip() -> None:
    bucharest = timezone(timedelta(hours=2))
    moment = datetime(2026, 3, 1, 10, 30, 0, 1, tzinfo=bucharest)

    decoded = decode("unit_messages.QuotePrice", encode(quote(valid_until=moment)))

    assert isinstance(decoded, QuotePrice)
    assert decoded.valid_until == moment
    assert decoded.valid_until.utcoffset() == timedelta(hours=2)


def test_body_carries_its_type_tag() -> None:
    assert msgspec.json.decode(encode(quote()))["type"] == "unit_messages.QuotePrice"


def test_unknown_type_is_a_permanent_error() -> None:
    with pytest.raises(PermanentError, match=r"unknown message type 'nobody\.Knows'"):
        decode("nobody.Knows", b"{}")


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"not json", id="not-json"),
        pytest.param(b'{"sku": "A"}', id="missing-fields"),
        pytest.param(
            b'{"sku":"A","quantity":"three","unit_price":"1","valid_until":"2026-01-01T00:00:00Z"}',
            id="wrong-type",
        ),
        pytest.param(
            b'{"sku":"A","quantity":1,"unit_price":"1","valid_until":"2026-01-01T00:00:00Z",'
            b'"colour":"red"}',
            id="unknown-field",
        ),
        pytest.param(
            b'{"type":"unit_messages.PriceQuoted","sku":"A","quantity":1,"unit_price":"1",'
            b'"valid_until":"2026-01-01T00:00:00Z"}',
            id="other-type-tag",
        ),
    ],
)
def test_undecodable_body_is_a_permanent_error_naming_the_type(body: bytes) -> None:
    with pytest.raises(PermanentError, match=r"unit_messages\.QuotePrice"):
        decode("unit_messages.QuotePrice", body)


# --- envelopes ----------------------------------------------------------------------------


def test_new_envelope_starts_a_flow_of_its_own() -> None:
    before = datetime.now(UTC)
    envelope = Envelope.new(quote(), key="LED-STRIP-5M")

    assert envelope.type == "unit_messages.QuotePrice"
    assert envelope.correlation_id == str(envelope.message_id)
    assert envelope.causation_id is None
    assert envelope.key == "LED-STRIP-5M"
    assert envelope.attempt == 1
    assert envelope.occurred_at.tzinfo is not None
    assert envelope.occurred_at >= before


def test_envelope_from_a_cause_continues_its_flow_and_key() -> None:
    cause = Envelope.new(quote(), key="order-42")

    effect = Envelope.new(PriceQuoted(sku="A", total=Decimal("1")), cause=cause)

    assert effect.message_id != cause.message_id
    assert effect.correlation_id == cause.correlation_id
    assert effect.causation_id == str(cause.message_id)
    assert effect.key == "order-42"
    assert effect.type == "unit_messages.PriceQuoted"


def test_explicit_key_wins_over_the_cause_key() -> None:
    cause = Envelope.new(quote(), key="order-42")

    effect = Envelope.new(PriceQuoted(sku="A", total=Decimal("1")), cause=cause, key="sku-A")

    assert effect.key == "sku-A"
    assert effect.correlation_id == cause.correlation_id


def test_envelope_survives_headers_and_properties_on_the_wire() -> None:
    cause = Envelope.new(quote(), key="order-42")
    envelope = msgspec.structs.replace(
        Envelope.new(PriceQuoted(sku="A", total=Decimal("1")), cause=cause), attempt=3
    )

    back = envelope_from_wire(
        message_id=str(envelope.message_id),
        type=envelope.type,
        correlation_id=envelope.correlation_id,
        headers=envelope_headers(envelope),
    )

    assert back == envelope


def test_envelope_from_wire_accepts_byte_headers_and_defaults() -> None:
    message_id = uuid7()
    occurred = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)

    back = envelope_from_wire(
        message_id=str(message_id),
        type="unit_messages.QuotePrice",
        correlation_id=None,
        headers={"x-key": b"order-7", "x-causation-id": b"abc"},
        timestamp=occurred,
    )

    assert back.key == "order-7"
    assert back.causation_id == "abc"
    assert back.correlation_id == str(message_id)
    assert back.occurred_at == occurred
    assert back.attempt == 1


@pytest.mark.parametrize(
    ("sent", "taken"),
    [(0, 1), (-5, 1), (2**31 - 1, 2**31 - 1), (2**31, 2**31 - 1), (2.0**70, 2**31 - 1)],
)
def test_envelope_from_wire_keeps_attempt_within_what_a_dead_letter_records(
    sent: float, taken: int
) -> None:
    back = envelope_from_wire(
        message_id=str(uuid7()),
        type="unit_messages.QuotePrice",
        correlation_id=None,
        headers={"x-attempt": sent},
    )

    assert back.attempt == taken


@pytest.mark.parametrize(
    ("wire", "problem"),
    [
        ({"message_id": None}, "no message_id"),
        ({"message_id": ""}, "no message_id"),
        ({"message_id": "order-42"}, "'order-42' is not a UUID"),
        ({"type": None}, "no type"),
        ({"headers": {"x-attempt": "twice"}}, "x-attempt 'twice' is not an integer"),
        ({"headers": {"x-attempt": None}}, "x-attempt None is not an integer"),
        ({"headers": {"x-attempt": float("inf")}}, "x-attempt inf is not an integer"),
        ({"headers": {"x-occurred-at": "yesterday"}}, "x-occurred-at 'yesterday'"),
    ],
)
def test_invalid_wire_envelope_is_refused_saying_what_is_wrong(
    wire: dict[str, object], problem: str
) -> None:
    args: dict[str, object] = {
        "message_id": str(uuid7()),
        "type": "unit_messages.QuotePrice",
        "correlation_id": "flow-1",
        "headers": {},
    }
    args.update(wire)

    with pytest.raises(ValueError) as info:
        envelope_from_wire(**args)  # type: ignore[arg-type]

    assert problem in str(info.value)


# --- schemas ------------------------------------------------------------------------------


def _definition(schema: dict[str, object]) -> dict[str, object]:
    ref = schema["$ref"]
    assert isinstance(ref, str) and ref.startswith("#/$defs/")
    defs = schema["$defs"]
    assert isinstance(defs, dict)
    definition: dict[str, object] = defs[ref.removeprefix("#/$defs/")]
    return definition


def test_every_registered_type_has_a_schema() -> None:
    exported = schemas()

    assert set(exported) == {tag for tag, _ in registry}


def test_schema_describes_the_message_strictly() -> None:
    schema = schemas()["unit_messages.QuotePrice"]
    definition = _definition(schema)

    assert schema["title"] == "unit_messages.QuotePrice"
    assert schema["description"] == "Price a quantity of one product for a customer."
    assert schema["x-kind"] == "command"
    assert definition["type"] == "object"
    assert definition["additionalProperties"] is False
    assert set(definition["required"]) == {  # type: ignore[arg-type]
        "type",
        "sku",
        "quantity",
        "unit_price",
        "valid_until",
    }
    properties = definition["properties"]
    assert isinstance(properties, dict)
    assert properties["type"] == {"enum": ["unit_messages.QuotePrice"]}
    assert properties["unit_price"]["type"] == "string"


def test_a_real_encoded_message_fits_its_schema() -> None:
    definition = _definition(schemas()["unit_messages.QuotePrice"])
    properties = definition["properties"]
    assert isinstance(properties, dict)
    json_types = {str: "string", int: "integer", type(None): "null"}

    body = msgspec.json.decode(encode(quote(note="n")))

    assert set(definition["required"]) <= set(body)  # type: ignore[arg-type]
    assert set(body) <= set(properties)  # additionalProperties: false
    assert body["type"] in properties["type"]["enum"]
    for field, value in body.items():
        prop = properties[field]
        allowed = prop.get("anyOf", [prop])
        types = {option.get("type") for option in allowed}
        if "enum" in prop:
            continue
        assert json_types[type(value)] in types, (field, value, prop)


# --- ids ----------------------------------------------------------------------------------


def test_uuid7_has_version_7_and_the_rfc_4122_variant() -> None:
    value = uuid7()

    assert value.version == 7
    assert value.variant == uuid.RFC_4122


def test_uuid7_carries_the_current_unix_milliseconds() -> None:
    before = time.time_ns() // 1_000_000
    value = uuid7()
    after = time.time_ns() // 1_000_000

    assert before <= value.int >> 80 <= after


def test_uuid7_values_are_time_ordered() -> None:
    values = []
    for _ in range(5):
        values.append(uuid7())
        time.sleep(0.002)

    assert values == sorted(values)
    assert sorted(str(v) for v in values) == [str(v) for v in values]  # as text, too
    assert len(set(values)) == len(values)


def test_uuid7_random_bits_differ_within_one_millisecond() -> None:
    values = {uuid7() for _ in range(1000)}

    assert len(values) == 1000
