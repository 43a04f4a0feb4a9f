"""The detectors' state, event-sourced in a changelog-backed Faust table.

Each partition of the detection topic has a journal: the events its shard applied (one
entry per ``event_id``) and the latest status of each agent. After a partition is assigned,
Faust restores its journal from the changelog and the shard is rebuilt by replaying it, so
state follows partitions across restarts and rebalances. Entries older than the retention
are dropped; so is whatever state they carried.

``table[key] = value`` picks the changelog partition from the current stream event, which a
``take_events`` batch does not set per event, and sends one message at a time. The journal
instead writes the table's store and sends each batch's changelog entries at once with
confluent-kafka, naming their partitions; ``flush`` waits for the acknowledgements (so a
committed offset implies durable entries) and records the changelog offsets the store now
holds, as Faust's own writes do, so a RocksDB store recovers only the changelog's tail.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from typing import Any

import orjson
from faust.types import TP

from radar.events import Channel, Event, TimestampForm, event_to_record, parse_event
from radar.progress import ProgressBoard
from streams.publisher import KafkaPublisher, OutboundMessage

JOURNAL_TABLE = "detector-journal"
_META = b"meta:"  # a partition's clock and progress board, beside its events


def journal_key(partition: int, event: Event) -> bytes:
    """Agent events are broadcast to every partition, so their keys name the partition."""
    if event.channel is Channel.AGENT:
        return f"agent:{partition}:{event.agent_id}".encode()
    return f"event:{event.event_id}".encode()


def encode_event(event: Event) -> bytes:
    return orjson.dumps(event_to_record(event, TimestampForm.EPOCH_MILLIS))


def decode_event(data: bytes) -> Event:
    event = parse_event(orjson.loads(data), TimestampForm.EPOCH_MILLIS)
    if not isinstance(event, Event):  # written by this module from a valid event
        raise ValueError(f"journal holds an invalid event: {event.detail}")
    return event


class DetectorJournal:
    """``table`` is a Faust table of bytes to bytes whose changelog partitions match the
    detection topic's; ``changelog`` publishes to that changelog topic."""

    def __init__(self, table: Any, changelog: KafkaPublisher) -> None:
        self._table = table
        self._changelog = changelog
        self._expiry: defaultdict[int, list[tuple[int, bytes]]] = defaultdict(list)
        self._pending: list[OutboundMessage] = []

    def holds(self, partition: int, event: Event) -> bool:
        stored = self._table.data.get(journal_key(partition, event))
        if stored is None:
            return False
        return event.channel is not Channel.AGENT or _unpack(stored)[1] == encode_event(event)

    def append(self, partition: int, event: Event) -> None:
        key = journal_key(partition, event)
        value = _pack(partition, encode_event(event))
        self._table.data[key] = value
        if event.channel is not Channel.AGENT:
            heapq.heappush(self._expiry[partition], (event.occurred_at, key))
        self._pending.append(OutboundMessage(key, value, [], partition))

    def progress(self, partition: int) -> ProgressBoard:
        """What the partition last heard of the ingest's progress (``radar/progress.py``)."""
        stored = self._meta(partition, "progress")
        return ProgressBoard() if stored is None else ProgressBoard.decode(stored)

    def save_progress(self, partition: int, board: ProgressBoard) -> None:
        """Kept with the events, so the partition's next owner does not start from nothing."""
        self._save_meta(partition, "progress", board.encode())

    def clock(self, partition: int) -> int | None:
        """How far the partition's clock had gone: a rebuild goes exactly as far, not to its
        newest event (events of input partitions that ran ahead wait, as they did live)."""
        stored = self._meta(partition, "clock")
        return None if stored is None else int.from_bytes(stored, "big")

    def save_clock(self, partition: int, watermark: int) -> None:
        self._save_meta(partition, "clock", watermark.to_bytes(8, "big"))

    def _meta(self, partition: int, name: str) -> bytes | None:
        stored = self._table.data.get(_META + f"{name}:{partition}".encode())
        return None if stored is None else _unpack(stored)[1]

    def _save_meta(self, partition: int, name: str, payload: bytes) -> None:
        key = _META + f"{name}:{partition}".encode()
        value = _pack(partition, payload)
        self._table.data[key] = value
        self._pending.append(OutboundMessage(key, value, [], partition))

    async def flush(self) -> None:
        """Send the entries written since the last flush; wait for the changelog to hold them."""
        pending, self._pending = self._pending, []
        offsets = await self._changelog(pending)
        for partition, offset in offsets.items():
            self._table.data.set_persisted_offset(TP(self._changelog.topic, partition), offset)

    def events(self, partition: int) -> list[Event]:
        """The partition's journal in the order the shard applies it."""
        events = []
        expiry = self._expiry[partition] = []
        for key, value in self._table.data.items():
            owner, payload = _unpack(value)
            if owner == partition and not key.startswith(_META):
                event = decode_event(payload)
                events.append(event)
                if event.channel is not Channel.AGENT:
                    expiry.append((event.occurred_at, key))
        heapq.heapify(expiry)
        return sorted(events, key=lambda e: (e.occurred_at, e.event_id))

    def expire(self, partition: int, before: int) -> int:
        """Drop the partition's event entries older than ``before``; returns how many."""
        expiry = self._expiry[partition]
        dropped = 0
        while expiry and expiry[0][0] < before:
            _, key = heapq.heappop(expiry)
            self._table.data.pop(key, None)
            self._pending.append(OutboundMessage(key, None, [], partition))  # a tombstone
            dropped += 1
        return dropped

    def forget(self, partition: int) -> None:
        self._expiry.pop(partition, None)


def _pack(partition: int, payload: bytes) -> bytes:
    return partition.to_bytes(4, "big") + payload


def _unpack(value: bytes) -> tuple[int, bytes]:
    return int.from_bytes(value[:4], "big"), value[4:]
