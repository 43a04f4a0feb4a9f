"""The detectors inside the worker: one ``DetectorShard`` per owned detection partition.

Stored events reach the detection topic keyed by customer (``radar/routing.py``); the
detection agent feeds each partition's events to that partition's shard and journals them
(``streams/journal.py``). A per-worker timer asks for a tick on each owned partition whose
shard has something due, through the detection topic itself, so the tick is handled by the
agent that owns the state, in order with the partition's events.

A shard is built the first time its partition is seen after an assignment, by replaying its
journal on event time. The partition's backlog follows, then a tick fires the deadlines that
passed while nobody owned the partition. Until that tick, only records whose ids are not yet
in the output's table are emitted, so a restart or rebalance neither repeats nor misses a
record. Records are written behind the agent by ``streams/emitter.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from radar.clock import EventTimeClock, WallClock
from radar.events import Event
from radar.policies import PolicySet
from radar.shard import DetectorShard, ShardRecords
from sinks.metrics import DetectorStateMetrics
from sinks.writer import SinkWriter
from streams.emitter import DetectorSink, RecordEmitter
from streams.journal import DetectorJournal

log = logging.getLogger(__name__)
_TICK_RETRY_MS = 10_000


class PartitionedDetection:
    def __init__(
        self,
        policies: PolicySet,
        journal: DetectorJournal,
        sinks: Sequence[DetectorSink],
        writer: SinkWriter,
        metrics: DetectorStateMetrics,
        retention_hours: float = 72.0,
        clock: WallClock | None = None,
    ) -> None:
        self.metrics = metrics
        self.policies = policies
        self.shards: dict[int, DetectorShard] = {}
        self._journal = journal
        self._sinks = list(sinks)
        self._writer = writer
        self._emitter = RecordEmitter(sinks, writer)
        self._retention_ms = int(retention_hours * 3_600_000)
        self._clock = clock or WallClock()
        self._ticks_sent: dict[int, int] = {}  # partition -> when its pending tick was asked
        self._watermarks: dict[int, int] = {}  # partition -> the instant it is complete up to
        self._unverified: set[int] = set()  # rebuilt, not yet caught up

    async def apply(self, partition: int, events: Sequence[Event]) -> ShardRecords:
        """Journal and apply a partition's events; the records are emitted by ``complete``."""
        shard = await self._shard(partition)
        now = self._clock.now()
        watermark = self._watermarks.get(partition, 0)
        records = ShardRecords()
        for event in events:
            if self._journal.holds(partition, event):  # redelivered, or a duplicate upstream
                continue
            self._journal.append(partition, event)
            watermark = max(watermark, min(event.occurred_at, now))
            records.extend(shard.offer(event, watermark))
            self.metrics.events.labels(event.channel.value).inc()
        self._watermarks[partition] = watermark
        return await self._unseen(partition, records)

    async def tick(self, partition: int, sent_at: int) -> ShardRecords:
        """Fire what was due when the tick was sent: everything before it in the partition
        has been applied by now, so a backlog is applied in event time, not as late events.
        Then drop the partition's expired journal entries."""
        self._ticks_sent.pop(partition, None)
        shard = await self._shard(partition)
        now = self._clock.now()
        watermark = self._watermarks[partition] = max(
            self._watermarks.get(partition, 0), min(sent_at, now)
        )
        self.metrics.expired.inc(self._journal.expire(partition, now - self._retention_ms))
        records = await self._unseen(partition, shard.advance(watermark))
        self._unverified.discard(partition)  # caught up with the previous owner
        return records

    async def _unseen(self, partition: int, records: ShardRecords) -> ShardRecords:
        """After a rebuild and until the first tick, records may repeat what the partition's
        previous owner emitted: keep only those missing from the tables."""
        if partition not in self._unverified or not records:
            return records
        await self._emitter.drain()  # the tables must hold all this worker has emitted
        known: set[str] = set()
        for sink in self._sinks:
            ids = [r.id for r in sink.records(records)]
            if ids:
                known |= await self._writer.call(self._writer.store.existing_ids, sink.table, ids)
        return ShardRecords(
            [r for r in records.sla if r.id not in known],
            [r for r in records.gaps if r.id not in known],
            [r for r in records.churn if r.id not in known],
        )

    async def complete(self, records: ShardRecords) -> None:
        """Once the journal holds the batch, hand its records to the emitter."""
        await self._journal.flush()
        await self._emitter.put(records)

    def due(self, owned: Iterable[int]) -> list[int]:
        """Owned partitions that need a tick: a shard not built yet, or something due."""
        now = self._clock.now()
        wanted = []
        for partition in owned:
            if now - self._ticks_sent.get(partition, -_TICK_RETRY_MS) < _TICK_RETRY_MS:
                continue  # asked already; the agent may be busy with a backlog
            shard = self.shards.get(partition)
            next_due = shard.next_due() if shard is not None else now
            if next_due is not None and next_due <= now:
                wanted.append(partition)
                self._ticks_sent[partition] = now
        return wanted

    async def revoke(self, partitions: Iterable[int]) -> None:
        await self._emitter.drain()  # the next owner must find them in the tables
        for partition in partitions:
            if self.shards.pop(partition, None) is not None:
                log.info("detection partition %d revoked", partition)
            self._watermarks.pop(partition, None)
            self._unverified.discard(partition)
            self._journal.forget(partition)
            self._ticks_sent.pop(partition, None)

    def gauge(self) -> None:
        self.metrics.partitions.set(len(self.shards))
        for sink in self._sinks:
            sink.gauge(self.shards.values())

    async def _shard(self, partition: int) -> DetectorShard:
        shard = self.shards.get(partition)
        if shard is not None:
            return shard
        shard = DetectorShard(self.policies)
        events = self._journal.events(partition)
        replay_clock = EventTimeClock()
        records = ShardRecords()
        for event in events:
            records.extend(shard.offer(event, replay_clock.observe(event.occurred_at)))
        # not advanced to now: the partition's backlog comes first, then a tick
        self.shards[partition] = shard
        self._watermarks[partition] = min(replay_clock.now(), self._clock.now())
        self._unverified.add(partition)
        self.metrics.rebuilds.inc()
        self.metrics.replayed.inc(len(events))
        missing = await self._unseen(partition, records)
        await self._emitter.emit(missing)
        log.info(
            "detection partition %d rebuilt from %d journal entries: %d records, %d not yet"
            " emitted",
            partition,
            len(events),
            len(records),
            len(missing),
        )
        return shard
