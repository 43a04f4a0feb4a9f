"""What every detector's output record shares: a deterministic id, and the JSON Lines form."""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import fields
from enum import StrEnum
from typing import Any

from radar.events import millis_to_iso


def record_id(*parts: object) -> str:
    """A hash of what makes a record unique, never of when it was detected: replays, retries
    and restarts give the same id, so every sink can drop repeats."""
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:24]


def json_record(stream: str, record: Any, times: Collection[str]) -> dict[str, Any]:
    """A record dataclass as one JSON Lines object: ``stream`` first, ``times`` (epoch ms) as
    ISO-8601 UTC, enums as their values."""
    out: dict[str, Any] = {"stream": stream}
    for name in _field_names(type(record)):
        value = getattr(record, name)
        if name in times and value is not None:
            value = millis_to_iso(value)
        elif isinstance(value, StrEnum):
            value = value.value
        out[name] = value
    return out


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(record_type: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(record_type)
    if names is None:
        names = _FIELD_NAMES[record_type] = tuple(field.name for field in fields(record_type))
    return names
