"""The project's own ``.avsc`` files, loaded once: the source of truth when no registry is set."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

import avro.schema
import fastavro

from radar.events import EventType


@dataclass(frozen=True)
class EventSchema:
    """One event type's schema in the three forms the pipeline needs."""

    event_type: EventType
    text: str  # as written in the .avsc file; what is registered with a schema registry
    canonical_form: str  # Avro Parsing Canonical Form; stable across formatting and docs
    codec_schema: Any  # fastavro-parsed, logical types removed (see strip_logical_types)

    @property
    def local_id(self) -> int:
        return canonical_id(self.canonical_form)

    @property
    def fullname(self) -> str:
        return f"contactradar.events.{self.event_type.record_name}"


def canonical_id(canonical_form: str) -> int:
    """A stable schema id without a registry: the first 31 bits of the canonical form's SHA-256."""
    digest = hashlib.sha256(canonical_form.encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def parse_codec_schema(text: str) -> Any:
    """The fastavro-parsed schema the codecs read and write with (see strip_logical_types)."""
    return fastavro.parse_schema(strip_logical_types(json.loads(text)))


def strip_logical_types(schema: Any) -> Any:
    """The same schema without ``logicalType`` annotations.

    Logical types do not change the binary encoding; without them fastavro reads and writes
    timestamps as the epoch milliseconds the pipeline works in, skipping datetime objects.
    """
    if isinstance(schema, dict):
        return {k: strip_logical_types(v) for k, v in schema.items() if k != "logicalType"}
    if isinstance(schema, list):
        return [strip_logical_types(item) for item in schema]
    return schema


def parse_event_schema(text: str) -> EventSchema:
    """Parse one event schema (from a file or a registry); the record name gives the type."""
    parsed = avro.schema.parse(text)
    if not isinstance(parsed, avro.schema.RecordSchema):
        raise ValueError("an event schema must be a record")
    by_record_name = {t.record_name: t for t in EventType}
    name = parsed.fullname.rsplit(".", 1)[-1]
    if name not in by_record_name:
        raise ValueError(f"schema {parsed.fullname} is not an event type of the contract")
    return EventSchema(by_record_name[name], text, parsed.canonical_form, parse_codec_schema(text))


def load_event_schemas() -> dict[EventType, EventSchema]:
    """Every input event schema shipped in ``schemas/avro/events``."""
    folder = resources.files("schemas") / "avro" / "events"
    schemas = {}
    for event_type in EventType:
        text = (folder / f"{event_type.value}.avsc").read_text()
        schema = parse_event_schema(text)
        if schema.event_type is not event_type:
            raise ValueError(f"{event_type.value}.avsc defines {schema.fullname}")
        schemas[event_type] = schema
    return schemas
