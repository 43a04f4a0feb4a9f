"""How events, ticks and progress reports travel on the detection topic, and how the journal
stores them: every byte layout of the detection shell in one place.

Detection topic: events travel in batches, one message per detection partition and stored
batch (``events`` command: a JSON array of contract records with epoch-millisecond times), so
Faust delivers a message per few hundred events rather than one per event; a message without
a header is one such record (how events travelled before). A command carries the
``radar.command`` header: a tick's value is its send time (ms, 8 bytes), a progress report's
is its JSON (``radar/progress.py``).

Journal (a Faust table of bytes to bytes): one entry per ``event_id``, one per agent and
partition, and ``meta:`` entries (the partition's clock, progress and snapshot). A value is
the owning partition (4 bytes), a format marker, the entry's sequence number and event time
(8 bytes each), then the payload; entries written before sequence numbers have the
partition and the payload only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

import orjson

from radar.events import Channel, Event, TimestampForm, event_to_record, parse_event
from radar.progress import ProgressReport
from streams.publisher import Headers

COMMAND_HEADER: Final = "radar.command"
META: Final = b"meta:"
_SEQUENCED: Final = b"\x01"


class Command(StrEnum):
    """Messages on the detection topic that are not events (the header's value)."""

    EVENTS = "events"  # a batch of events for the partition, in order
    TICK = "tick"  # from the worker owning the partition
    WATERMARK = "watermark"  # a feed's progress report


def encode_event(event: Event) -> bytes:
    return orjson.dumps(event_to_record(event, TimestampForm.EPOCH_MILLIS))


def decode_event(data: bytes) -> Event:
    return _event_of(orjson.loads(data))


def encode_events(encoded: Sequence[bytes]) -> bytes:
    """A batch of events already encoded by ``encode_event``."""
    return b"[" + b",".join(encoded) + b"]"


def decode_events(data: bytes) -> list[Event]:
    records = orjson.loads(data)
    if not isinstance(records, list):
        raise ValueError("an events message holds no list")
    return [_event_of(record) for record in records]


def _event_of(record: Any) -> Event:
    event = parse_event(record, TimestampForm.EPOCH_MILLIS)
    if not isinstance(event, Event):  # written by this module from a valid event
        raise ValueError(f"an invalid event: {event.detail}")
    return event


def command_headers(command: Command) -> Headers:
    return [(COMMAND_HEADER, command.value.encode())]


def command_of(raw_headers: Any) -> Command | None:
    """The command of a detection-topic message; events (the bulk) have no headers."""
    if not raw_headers:
        return None
    items = raw_headers.items() if isinstance(raw_headers, Mapping) else raw_headers
    value = next((bytes(v) for k, v in items if k == COMMAND_HEADER), None)
    if value is None:
        return None
    try:
        return Command(value.decode())
    except ValueError:  # not a command this version knows: read as an event, and refused
        return None


def encode_tick(sent_at: int) -> bytes:
    return sent_at.to_bytes(8, "big")


def decode_tick(value: bytes) -> int:
    return int.from_bytes(value, "big")


def encode_report(report: ProgressReport) -> bytes:
    return report.encode()


def decode_report(value: bytes) -> ProgressReport:
    return ProgressReport.decode(value)


def journal_key(partition: int, event: Event) -> bytes:
    """Agent events are broadcast to every partition, so their keys name the partition."""
    if event.channel is Channel.AGENT:
        return f"agent:{partition}:{event.agent_id}".encode()
    return f"event:{event.event_id}".encode()


def meta_key(name: str, partition: int) -> bytes:
    return META + f"{name}:{partition}".encode()


@dataclass(frozen=True, slots=True)
class JournalEntry:
    partition: int
    seq: int  # order of application in the partition; 0: written before sequence numbers
    occurred_at: int | None
    payload: bytes


def pack_entry(partition: int, payload: bytes, seq: int = 0, occurred_at: int = 0) -> bytes:
    return (
        partition.to_bytes(4, "big")
        + _SEQUENCED
        + seq.to_bytes(8, "big")
        + occurred_at.to_bytes(8, "big", signed=True)
        + payload
    )


def entry_order(value: bytes) -> tuple[int, int, int | None]:
    """An entry's partition, sequence number and event time, its payload left unread: a
    rebuild from a snapshot reads these of every entry, and the payload of a few."""
    partition = int.from_bytes(value[:4], "big")
    if value[4:5] != _SEQUENCED:
        return partition, 0, None
    return (
        partition,
        int.from_bytes(value[5:13], "big"),
        int.from_bytes(value[13:21], "big", signed=True),
    )


def unpack_entry(value: bytes) -> JournalEntry:
    partition = int.from_bytes(value[:4], "big")
    if value[4:5] != _SEQUENCED:  # an entry of the first format: partition and payload
        return JournalEntry(partition, 0, None, value[4:])
    seq = int.from_bytes(value[5:13], "big")
    occurred_at = int.from_bytes(value[13:21], "big", signed=True)
    return JournalEntry(partition, seq, occurred_at, value[21:])
