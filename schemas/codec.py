"""Bytes to ``Event`` and back, in both accepted formats: JSON and Confluent-framed Avro.

The format is taken from the ``content-type`` header when the producer set one, else from the
first byte: 0 is the Confluent magic byte, ``{`` opens a JSON object.
"""

from __future__ import annotations

import io
from enum import StrEnum
from typing import Final

import fastavro
import orjson

from radar.events import (
    Event,
    Rejection,
    RejectReason,
    TimestampForm,
    event_to_record,
    parse_event,
    parse_json_event,
)
from schemas.registry import SchemaResolver
from schemas.wire import MAGIC_BYTE, FramingError, frame, unframe

CONTENT_TYPE_HEADER: Final = "content-type"


class PayloadFormat(StrEnum):
    JSON = "json"
    AVRO = "avro"

    @property
    def content_type(self) -> str:
        return _CONTENT_TYPES[self]


_CONTENT_TYPES: Final = {
    PayloadFormat.JSON: "application/json",
    PayloadFormat.AVRO: "application/vnd.confluent.avro",
}
_BY_CONTENT_TYPE: Final = {v: k for k, v in _CONTENT_TYPES.items()}
_JSON_FIRST_BYTES: Final = frozenset(b"{ \t\r\n")


def detect_format(value: bytes, content_type: str | None = None) -> PayloadFormat | None:
    if content_type is not None:
        declared = _BY_CONTENT_TYPE.get(content_type.split(";", 1)[0].strip().lower())
        if declared is not None:
            return declared
    if not value:
        return None
    first = value[0]
    if first == MAGIC_BYTE:
        return PayloadFormat.AVRO
    if first in _JSON_FIRST_BYTES:
        return PayloadFormat.JSON
    return None


class EventCodec:
    def __init__(self, schemas: SchemaResolver) -> None:
        self._schemas = schemas

    def decode(self, value: bytes | None, content_type: str | None = None) -> Event | Rejection:
        return self.decode_with_format(value, content_type)[1]

    def decode_with_format(
        self, value: bytes | None, content_type: str | None = None
    ) -> tuple[str, Event | Rejection]:
        """The payload's format (``json``, ``avro`` or ``unknown``) and what it decodes to."""
        fmt = detect_format(value or b"", content_type)
        if value is None or fmt is None:
            return "unknown", Rejection(
                RejectReason.UNDECODABLE, "neither a JSON object nor framed Avro"
            )
        if fmt is PayloadFormat.JSON:
            return fmt.value, parse_json_event(value)
        return fmt.value, self._decode_avro(value)

    def _decode_avro(self, value: bytes) -> Event | Rejection:
        try:
            schema_id, body = unframe(value)
        except FramingError as exc:
            return Rejection(RejectReason.UNDECODABLE, str(exc))
        schema = self._schemas.schema_for(schema_id)
        if schema is None:
            return Rejection(RejectReason.UNKNOWN_SCHEMA, f"schema id {schema_id} is not known")
        stream = io.BytesIO(body)
        try:
            record = fastavro.schemaless_reader(stream, schema.codec_schema, None)
        except Exception as exc:  # fastavro raises many types on a corrupt body
            return Rejection(RejectReason.INVALID_AVRO, f"{type(exc).__name__}: {exc}")
        if stream.tell() != len(body):
            return Rejection(
                RejectReason.INVALID_AVRO, f"{len(body) - stream.tell()} bytes after the record"
            )
        event = parse_event(record, TimestampForm.EPOCH_MILLIS)
        if isinstance(event, Event) and event.type is not schema.event_type:
            return Rejection(
                RejectReason.INVALID_FIELD,
                f"type: {event.type.value!r} sent with the schema of {schema.event_type.value}",
            )
        return event

    def encode(self, event: Event, fmt: PayloadFormat) -> bytes:
        if fmt is PayloadFormat.JSON:
            return orjson.dumps(event_to_record(event, TimestampForm.ISO8601))
        schema_id = self._schemas.id_for(event.type)
        schema = self._schemas.schema_for(schema_id)
        assert schema is not None
        out = io.BytesIO()
        fastavro.schemaless_writer(
            out, schema.codec_schema, event_to_record(event, TimestampForm.EPOCH_MILLIS)
        )
        return frame(schema_id, out.getvalue())
