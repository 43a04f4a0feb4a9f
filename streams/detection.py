"""The detectors inside the worker: one ``DetectorShard`` per owned detection partition.

Stored events reach the detection topic keyed by customer (``radar/routing.py``); the
detection agent feeds each partition's events to that partition's shard and journals them
(``streams/journal.py``). A per-worker timer asks for a tick on each owned partition whose
shard has something due, through the detection topic itself, so the tick is handled by the
agent that owns the state, in order with the partition's events.

A shard is built the first time its partition is seen after an assignment: its journal is
replayed on event time, advanced to the wall clock (deadlines that passed while nobody owned
the partition fire now), and only records whose ids are not yet in the output's table are
emitted, so a restart or rebalance neither repeats nor misses a record. Records are written
behind the agent by ``streams/emitter.py``.
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

    async def apply(self, partition: int, events: Sequence[Event]) -> ShardRecords:
        """Journal and apply a partition's events; the records are emitted by ``complete``."""
        shard = await self._shard(partition)
        now = self._clock.now()
        records = ShardRecords()
        for event in events:
            if self._journal.holds(partition, event):  # redelivered, or a duplicate upstream
                continue
            self._journal.append(partition, event)
            records.extend(shard.offer(event, now))
            self.metrics.events.labels(event.channel.value).inc()
        return records

    async def tick(self, partition: int) -> ShardRecords:
        """Fire what is due in a partition's shard and drop its expired journal entries."""
        self._ticks_sent.pop(partition, None)
        shard = await self._shard(partition)
        now = self._clock.now()
        self.metrics.expired.inc(self._journal.expire(partition, now - self._retention_ms))
        return shard.advance(now)

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
        records.extend(shard.advance(self._clock.now()))
        self.shards[partition] = shard
        self.metrics.rebuilds.inc()
        self.metrics.replayed.inc(len(events))
        emitted = 0
        await self._emitter.drain()  # the tables must hold all this worker has emitted
        for sink in self._sinks:
            produced = sink.records(records)
            known = await self._writer.call(
                self._writer.store.existing_ids, sink.table, [r.id for r in produced]
            )
            missing = [r for r in produced if r.id not in known]
            emitted += len(missing)
            await self._emitter.emit_to(sink, missing)
        log.info(
            "detection partition %d rebuilt from %d journal entries: %d records, %d not yet"
            " emitted",
            partition,
            len(events),
            len(records),
            emitted,
        )
        return shard
