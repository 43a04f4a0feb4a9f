"""The Confluent wire format: magic byte 0, a 4-byte big-endian schema id, the Avro body."""

from __future__ import annotations

import struct
from typing import Final

MAGIC_BYTE: Final = 0
_HEADER = struct.Struct(">bI")
HEADER_SIZE: Final = _HEADER.size


class FramingError(ValueError):
    pass


def frame(schema_id: int, body: bytes) -> bytes:
    return _HEADER.pack(MAGIC_BYTE, schema_id) + body


def unframe(data: bytes) -> tuple[int, memoryview]:
    """Split a framed message into its schema id and Avro body."""
    if len(data) < HEADER_SIZE:
        raise FramingError(f"{len(data)} bytes is shorter than the 5-byte header")
    magic, schema_id = _HEADER.unpack_from(data)
    if magic != MAGIC_BYTE:
        raise FramingError(f"magic byte is {magic}, expected {MAGIC_BYTE}")
    return schema_id, memoryview(data)[HEADER_SIZE:]
