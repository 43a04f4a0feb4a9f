"""Avro for output records (``schemas/avro/outputs``), framed like inputs, ids from the
canonical form; a consumer with the same files (or the registry) decodes them."""

from __future__ import annotations

import io
from dataclasses import asdict
from enum import StrEnum
from importlib import resources
from typing import Any

import avro.schema
import fastavro

from radar.outputs import Output
from schemas.catalog import canonical_id, parse_codec_schema
from schemas.wire import frame, unframe


class OutputSchema:
    def __init__(self, file_name: str) -> None:
        text = (resources.files("schemas") / "avro" / "outputs" / file_name).read_text()
        self.schema_id = canonical_id(avro.schema.parse(text).canonical_form)
        self._codec = parse_codec_schema(text)

    def encode(self, record: dict[str, Any]) -> bytes:
        out = io.BytesIO()
        fastavro.schemaless_writer(out, self._codec, record)
        return frame(self.schema_id, out.getvalue())

    def decode(self, data: bytes) -> dict[str, Any]:
        schema_id, body = unframe(data)
        if schema_id != self.schema_id:
            raise ValueError(f"schema id {schema_id} is not {self.schema_id}")
        decoded = fastavro.schemaless_reader(io.BytesIO(body), self._codec, None)
        assert isinstance(decoded, dict)
        return decoded


class RecordCodec(OutputSchema):
    """Encodes a detector's records (enum fields as their values) with its output's schema."""

    def __init__(self, output: Output[Any]) -> None:
        if output.avro_schema is None:
            raise ValueError(f"{output.title} has no Avro schema: its records are not published")
        super().__init__(output.avro_schema)

    def encode_record(self, record: Any) -> bytes:
        return self.encode(_plain(asdict(record)))


def _plain(value: Any) -> Any:
    """Enums as their values, all the way down (churn reasons are nested records)."""
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
