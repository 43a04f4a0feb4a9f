from __future__ import annotations

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient

from radar.events import Event, EventType, Rejection, RejectReason
from schemas.codec import EventCodec, PayloadFormat, detect_format
from schemas.registry import ConfluentSchemaRegistry, LocalSchemaRegistry
from schemas.wire import FramingError, frame, unframe
from streams.topics import topic_for
from tests.factories import make_event

CODEC = EventCodec(LocalSchemaRegistry())


@pytest.mark.parametrize("fmt", list(PayloadFormat))
@pytest.mark.parametrize("event_type", list(EventType))
def test_every_type_round_trips_in_both_formats(event_type: EventType, fmt: PayloadFormat) -> None:
    event = make_event(event_type)
    assert CODEC.decode(CODEC.encode(event, fmt)) == event


def test_wire_frame_is_magic_byte_and_big_endian_id() -> None:
    framed = frame(0x01020304, b"body")
    assert framed == b"\x00\x01\x02\x03\x04body"
    schema_id, body = unframe(framed)
    assert (schema_id, bytes(body)) == (0x01020304, b"body")
    with pytest.raises(FramingError):
        unframe(b"\x00\x01")
    with pytest.raises(FramingError):
        unframe(b"\x01\x00\x00\x00\x01x")


def test_format_is_taken_from_the_header_before_the_first_byte() -> None:
    assert detect_format(b"\x00abc") is PayloadFormat.AVRO
    assert detect_format(b'  {"a":1}') is PayloadFormat.JSON
    assert detect_format(b"\x00abc", "application/json; charset=utf-8") is PayloadFormat.JSON
    assert detect_format(b"xyz") is None
    assert detect_format(b"") is None


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"\xde\xad\xbe\xef", RejectReason.UNDECODABLE),
        (b"", RejectReason.UNDECODABLE),
        (b"\x00\x00", RejectReason.UNDECODABLE),
        (frame(12345, b"\x02"), RejectReason.UNKNOWN_SCHEMA),
        (b'{"type": "call.queued",', RejectReason.INVALID_JSON),
    ],
)
def test_bad_payloads_get_a_reason(payload: bytes, reason: RejectReason) -> None:
    decoded = CODEC.decode(payload)
    assert isinstance(decoded, Rejection)
    assert decoded.reason is reason


def test_a_truncated_or_padded_avro_body_is_invalid() -> None:
    good = CODEC.encode(make_event(EventType.TICKET_CREATED), PayloadFormat.AVRO)
    assert CODEC.decode(good[:-3]).reason is RejectReason.INVALID_AVRO  # type: ignore[union-attr]
    assert CODEC.decode(good + b"\x00\x00").reason is RejectReason.INVALID_AVRO  # type: ignore[union-attr]


def test_avro_contract_checks_still_apply() -> None:
    """Avro enforces types; the contract's own rules (score 1..5) are checked after decoding."""
    bad = make_event(EventType.TICKET_CSAT, score=9)
    decoded = CODEC.decode(CODEC.encode(bad, PayloadFormat.AVRO))
    assert decoded == Rejection(RejectReason.INVALID_FIELD, "score: 9 is outside 1..5")


def test_a_type_field_that_disagrees_with_the_schema_is_refused() -> None:
    registry = LocalSchemaRegistry()
    chat = CODEC.encode(make_event(EventType.CHAT_ENDED), PayloadFormat.AVRO)
    relabelled = frame(registry.id_for(EventType.CHAT_ABANDONED), bytes(unframe(chat)[1]))
    decoded = CODEC.decode(relabelled)
    assert isinstance(decoded, Rejection)
    assert decoded.reason is RejectReason.INVALID_FIELD


def test_the_registry_path_with_confluents_mock_registry() -> None:
    topics = {t: f"support.{topic_for(t).value}" for t in EventType}
    client = SchemaRegistryClient.new_client({"url": "mock://contract-test"})
    producer_side = ConfluentSchemaRegistry(client, topics)
    consumer_side = ConfluentSchemaRegistry(client, topics)  # a fresh cache: asks the registry
    codec_out, codec_in = EventCodec(producer_side), EventCodec(consumer_side)
    for event_type in EventType:
        event = make_event(event_type)
        payload = codec_out.encode(event, PayloadFormat.AVRO)
        assert unframe(payload)[0] == producer_side.id_for(event_type)
        assert codec_in.decode(payload) == event
    unknown = codec_in.decode(frame(999_999, b"\x00"))
    assert isinstance(unknown, Rejection)
    assert unknown.reason is RejectReason.UNKNOWN_SCHEMA


def test_registry_ids_are_distinct_per_type() -> None:
    topics = {t: topic_for(t).value for t in EventType}
    registry = ConfluentSchemaRegistry.from_url("mock://distinct-ids", topics)
    assert len({registry.id_for(t) for t in EventType}) == len(EventType)
    assert isinstance(CODEC.decode(CODEC.encode(make_event(), PayloadFormat.JSON)), Event)
