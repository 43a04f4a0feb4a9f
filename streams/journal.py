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

This module is the one place that reaches into Faust's internals: the table's store
(``table.data``), its persisted offsets, and the task-local current event.
"""

from __future__ import annotations

import heapq
import weakref
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import faust
import orjson
from faust import streams as faust_streams
from faust.types import TP

from radar.events import Channel, Event
from radar.progress import ProgressBoard
from streams.detection_format import (
    META,
    decode_event,
    encode_event,
    entry_order,
    journal_key,
    meta_key,
    pack_entry,
    unpack_entry,
)
from streams.publisher import KafkaPublisher, OutboundMessage

JOURNAL_TABLE = "detector-journal"
_CHUNK_BYTES = 512 * 1024  # a snapshot in pieces well under Kafka's 1 MB message limit


@dataclass(frozen=True)
class StoredSnapshot:
    data: bytes
    seq: int  # the snapshot holds every entry up to this sequence number
    watermark: int


class DetectorJournal:
    """``table`` is a Faust table of bytes to bytes whose changelog partitions match the
    detection topic's; ``changelog`` publishes to that changelog topic."""

    def __init__(self, table: Any, changelog: KafkaPublisher) -> None:
        self._table = table
        self._changelog = changelog
        self._expiry: defaultdict[int, list[tuple[int, int, bytes]]] = defaultdict(list)
        self._pending: list[OutboundMessage] = []
        self._seq: dict[int, int] = {}  # partition -> the last sequence number given
        self._covered: dict[int, int] = {}  # partition -> sequence its last snapshot holds
        self._snapshot_keys: dict[int, list[bytes]] = {}  # partition -> its chunks' keys

    @staticmethod
    def write_to_partition_of(event: faust.EventT[bytes]) -> None:
        """A RocksDB store writes to the partition of the current event, which Faust keeps
        in a task-local context variable: set it in the agent's task only. Not the stream's
        ``current_event`` attribute (``Stream._set_current_event``): take_events reads that
        one for a message it holds while the batch is processed, and would take the batch's
        last message for it (one message twice, the next never)."""
        faust_streams._current_event.set(weakref.ref(event))

    def holds(self, partition: int, event: Event) -> bool:
        stored = self._table.data.get(journal_key(partition, event))
        if stored is None:
            return False
        return event.channel is not Channel.AGENT or unpack_entry(stored).payload == encode_event(
            event
        )

    def append(self, partition: int, event: Event) -> None:
        key = journal_key(partition, event)
        seq = self._seq[partition] = self._seq.get(partition, 0) + 1
        value = pack_entry(partition, encode_event(event), seq, event.occurred_at)
        self._table.data[key] = value
        if event.channel is not Channel.AGENT:
            heapq.heappush(self._expiry[partition], (event.occurred_at, seq, key))
        self._pending.append(OutboundMessage(key, value, [], partition))

    def last_seq(self, partition: int) -> int:
        return self._seq.get(partition, 0)

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
        return None if stored is None else int.from_bytes(stored, "big", signed=True)

    def save_clock(self, partition: int, watermark: int) -> None:
        self._save_meta(partition, "clock", watermark.to_bytes(8, "big", signed=True))

    def save_snapshot(self, partition: int, data: bytes, watermark: int) -> None:
        """The partition's shard as of every entry so far: its pieces first, then the header
        naming them, then the previous snapshot's pieces dropped, so a crash in between
        leaves the previous snapshot whole."""
        seq = self.last_seq(partition)
        keys = [
            META + f"snapshot:{partition}:{seq}:{i}".encode()
            for i in range(max(1, -(-len(data) // _CHUNK_BYTES)))
        ]
        for i, key in enumerate(keys):
            self._put(partition, key, data[i * _CHUNK_BYTES : (i + 1) * _CHUNK_BYTES])
        header = {"seq": seq, "watermark": watermark, "chunks": [k.decode() for k in keys]}
        self._save_meta(partition, "snapshot", orjson.dumps(header))
        for key in self._snapshot_keys.get(partition, []):
            if key not in keys:
                self._drop(partition, key)
        self._snapshot_keys[partition] = keys
        self._covered[partition] = seq

    def snapshot(self, partition: int) -> StoredSnapshot | None:
        stored = self._meta(partition, "snapshot")
        if stored is None:
            return None
        header = orjson.loads(stored)
        keys = [k.encode() for k in header["chunks"]]
        chunks = [self._table.data.get(key) for key in keys]
        if any(chunk is None for chunk in chunks):
            return None
        self._snapshot_keys[partition] = keys
        self._covered[partition] = header["seq"]
        data = b"".join(unpack_entry(chunk).payload for chunk in chunks if chunk is not None)
        return StoredSnapshot(data, header["seq"], header["watermark"])

    def _meta(self, partition: int, name: str) -> bytes | None:
        stored = self._table.data.get(meta_key(name, partition))
        return None if stored is None else unpack_entry(stored).payload

    def _save_meta(self, partition: int, name: str, payload: bytes) -> None:
        self._put(partition, meta_key(name, partition), payload)

    def _put(self, partition: int, key: bytes, payload: bytes) -> None:
        value = pack_entry(partition, payload)
        self._table.data[key] = value
        self._pending.append(OutboundMessage(key, value, [], partition))

    def _drop(self, partition: int, key: bytes) -> None:
        self._table.data.pop(key, None)
        self._pending.append(OutboundMessage(key, None, [], partition))  # a tombstone

    async def flush(self) -> None:
        """Send the entries written since the last flush; wait for the changelog to hold them."""
        pending, self._pending = self._pending, []
        offsets = await self._changelog(pending)
        for partition, offset in offsets.items():
            self._table.data.set_persisted_offset(TP(self._changelog.topic, partition), offset)

    def events(self, partition: int, after: int | None = None) -> list[Event]:
        """The partition's journal, or its entries after sequence number ``after`` (a
        snapshot holds the rest), in the order the shard applies it."""
        events = []
        expiry = self._expiry[partition] = []
        last = self._seq.get(partition, 0)
        for key, value in self._entries_of(partition):
            owner, seq, occurred_at = entry_order(value)
            if owner != partition or key.startswith(META):
                continue
            last = max(last, seq)
            wanted = after is None or seq > after
            if wanted or occurred_at is None:
                event = decode_event(unpack_entry(value).payload)
                occurred_at = event.occurred_at
                if wanted:
                    events.append(event)
            if not key.startswith(b"agent:"):
                expiry.append((occurred_at, seq, key))
        self._seq[partition] = last
        heapq.heapify(expiry)
        return sorted(events, key=lambda e: (e.occurred_at, e.event_id))

    def _entries_of(self, partition: int) -> Iterable[tuple[bytes, bytes]]:
        """The partition's entries. A RocksDB store keeps a database per partition: read
        only this one, where ``items()`` reads every assigned partition's (a rebuild of each
        partition would read them all)."""
        store = self._table.data
        database_of = getattr(store, "_db_for_partition", None)
        if database_of is None:  # the memory store: one dict
            return store.items()  # type: ignore[no-any-return]
        offset_key = store.offset_key
        return ((k, v) for k, v in database_of(partition).items() if k != offset_key)

    def expire(self, partition: int, before: int, snapshots: bool = True) -> int:
        """Drop the partition's event entries older than ``before``; returns how many. With
        ``snapshots``, only entries a snapshot holds: the state they made is kept, however
        old, and a redelivery that old is no longer recognised."""
        expiry = self._expiry[partition]
        covered = self._covered.get(partition, 0) if snapshots else None
        dropped = 0
        while expiry and expiry[0][0] < before and (covered is None or expiry[0][1] <= covered):
            _, _, key = heapq.heappop(expiry)
            self._drop(partition, key)
            dropped += 1
        return dropped

    def forget(self, partition: int) -> None:
        for held in (self._expiry, self._seq, self._covered, self._snapshot_keys):
            held.pop(partition, None)
