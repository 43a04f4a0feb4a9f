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
import time
from collections.abc import Iterable, Sequence

from infra.runtime import exempt_from_collection
from radar.clock import EventTimeClock, WallClock
from radar.events import Event
from radar.policies import PolicySet
from radar.progress import PartitionClock, ProgressReport
from radar.queues import QueueSnapshot
from radar.shard import DetectorShard, ShardRecords
from radar.snapshot import ShardSnapshots
from sinks.metrics import DetectorStateMetrics, QueueMetrics
from sinks.writer import SinkWriter
from streams.emitter import DetectorSink, RecordEmitter
from streams.journal import DetectorJournal, StoredSnapshot

log = logging.getLogger(__name__)
_TICK_RETRY_MS = 10_000
_GAUGE_EVERY_S = 0.25
# Reading the gauges walks every shard's state; at most this share of the worker's time goes
# to it (a million open targets take seconds to walk: refreshed then every minute or so).
_GAUGE_SHARE = 0.05


class PartitionedDetection:
    def __init__(
        self,
        policies: PolicySet,
        journal: DetectorJournal,
        sinks: Sequence[DetectorSink],
        writer: SinkWriter,
        metrics: DetectorStateMetrics,
        queue_metrics: QueueMetrics,
        retention_hours: float = 72.0,
        clock: WallClock | None = None,
        fed_with_reports: bool = False,
        snapshot_seconds: float = 0.0,
    ) -> None:
        """``fed_with_reports``: the feed reports its progress (the bulk ingest engine
        does); then a partition's clock waits for it, even at start."""
        self._fed_with_reports = fed_with_reports
        self.metrics = metrics
        self.queue_metrics = queue_metrics
        self.policies = policies
        self.shards: dict[int, DetectorShard] = {}
        self.journal = journal
        self._sinks = list(sinks)
        self._writer = writer
        self._emitter = RecordEmitter(sinks, writer)
        self._retention_ms = int(retention_hours * 3_600_000)
        self._clock = clock or WallClock()
        self._ticks_sent: dict[int, int] = {}  # partition -> when its pending tick was asked
        self._clocks: dict[int, PartitionClock] = {}  # journaled with the partition's events
        # rebuilt partitions -> when: until the clock passes it, records may repeat what the
        # previous owner emitted
        self._unverified: dict[int, int] = {}
        self._gauged_at = 0.0
        self._clocks_shown: set[int] = set()  # partitions with a clock gauge
        self._gauge_every = _GAUGE_EVERY_S
        self._snapshots = ShardSnapshots(policies)
        self._snapshot_ms = int(snapshot_seconds * 1000)
        self._snapshotted_at: dict[int, int] = {}  # partition -> wall clock of its last one

    async def checkpoint(self, partition: int) -> None:
        """Before a partition's next messages: snapshot its shard when one is due. Every
        record of what the shard holds has been handed to the emitter by now; once they are
        written, a restart may begin from this state without emitting them again."""
        shard = self.shards.get(partition)
        now = self._clock.now()
        if (
            shard is None
            or not self._snapshot_ms
            or now - self._snapshotted_at.get(partition, 0) < self._snapshot_ms
        ):
            return
        await self._emitter.drain()
        self._snapshotted_at[partition] = now
        try:
            data = self._snapshots.dump(shard)
        except Exception:  # a snapshot is an optimisation: the journal still holds it all
            log.exception("detection partition %d: snapshot not written", partition)
            return
        self.journal.save_snapshot(partition, data, self._clock_of(partition).watermark)
        self.metrics.snapshots.inc()

    async def apply(self, partition: int, events: Sequence[Event]) -> ShardRecords:
        """Journal and apply a partition's events; the records are emitted by ``complete``."""
        shard = await self._shard(partition)
        clock = self._clock_of(partition)
        limit = clock.limit(self._clock.now())
        records = ShardRecords()
        for event in events:
            if self.journal.holds(partition, event):  # redelivered, or a duplicate upstream
                continue
            self.journal.append(partition, event)
            records.extend(shard.offer(event, clock.on_event(event.occurred_at, limit)))
            self.metrics.events.labels(event.channel.value).inc()
        self.journal.save_clock(partition, clock.watermark)
        return await self._unseen(partition, records)

    async def tick(self, partition: int, sent_at: int) -> ShardRecords:
        """Fire what was due when the tick was sent: everything before it in the partition
        has been applied by now, so a backlog is applied in event time, not as late events.
        Then drop the partition's expired journal entries."""
        self._ticks_sent.pop(partition, None)
        shard = await self._shard(partition)
        now = self._clock.now()
        watermark = self._clock_of(partition).on_tick(sent_at, now)
        self.journal.save_clock(partition, watermark)
        expired = self.journal.expire(partition, now - self._retention_ms, self._snapshot_ms > 0)
        self.metrics.expired.inc(expired)
        return await self._unseen(partition, shard.advance(watermark))

    def hear(self, partition: int, report: ProgressReport) -> None:
        clock = self._clock_of(partition)
        clock.board.hear(report)
        self.journal.save_progress(partition, clock.board)

    def _clock_of(self, partition: int) -> PartitionClock:
        clock = self._clocks.get(partition)
        if clock is None:
            clock = self._clocks[partition] = PartitionClock(
                self.journal.progress(partition), reported=self._fed_with_reports
            )
        return clock

    async def _unseen(self, partition: int, records: ShardRecords) -> ShardRecords:
        """After a rebuild and until the partition's clock passes the rebuild, records may
        repeat what its previous owner emitted: keep only those missing from the tables."""
        rebuilt_at = self._unverified.get(partition)
        if rebuilt_at is None:
            return records
        if self._clock_of(partition).watermark >= rebuilt_at:
            del self._unverified[partition]  # these are the last records to check
        if not records:
            return records
        await self._emitter.drain()  # the tables must hold all this worker has emitted
        known: set[str] = set()
        for output, output_records in records.outputs():
            ids = [r.id for r in output_records]
            if ids:
                known |= await self._writer.call(self._writer.store.existing_ids, output.table, ids)
        return records.without(known)

    async def complete(self, records: ShardRecords) -> None:
        """Once the journal holds the batch, hand its records to the emitter."""
        await self.journal.flush()
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
            shard = self.shards.pop(partition, None)
            if shard is not None:
                self.queue_metrics.add(shard.queues.tally.drain())  # counted until now
                log.info("detection partition %d revoked", partition)
            self._clocks.pop(partition, None)
            self._unverified.pop(partition, None)
            self._snapshotted_at.pop(partition, None)
            self.journal.forget(partition)
            self._ticks_sent.pop(partition, None)

    def gauge_soon(self) -> None:
        """Refresh the gauges after a batch: the partitions' clocks every time (they cost
        nothing and say the worker is processing), the state's at most every
        ``_GAUGE_EVERY_S`` (a wallboard shows a waiting call within a scrape, not after the
        next tick), and less often as the state they walk grows."""
        if time.monotonic() - self._gauged_at >= self._gauge_every:
            self.gauge()
        else:
            self._gauge_clocks()

    def _gauge_clocks(self) -> None:
        self.metrics.partitions.set(len(self.shards))
        shown = {p for p in self.shards if self._clock_of(p).watermark > 0}
        for partition in self._clocks_shown - shown:
            self.metrics.clock.remove(str(partition))
        for partition in shown:
            self.metrics.clock.labels(str(partition)).set(
                self._clock_of(partition).watermark / 1000
            )
        self._clocks_shown = shown

    def gauge(self) -> None:
        started = self._gauged_at = time.monotonic()
        self._gauge_clocks()
        for sink in self._sinks:
            if sink.metrics is not None:
                sink.metrics.read_state(self.shards.values())
        snapshot = QueueSnapshot()
        for shard in self.shards.values():
            self.queue_metrics.add(shard.queues.tally.drain())
            snapshot = snapshot.plus(shard.queues.snapshot())
        first = self.shards.get(0)  # agents reach every partition: partition 0's owner counts them
        roster = first.queues.roster() if first is not None else None
        self.queue_metrics.collector.update(snapshot, roster, time.time())
        cost = time.monotonic() - started
        self._gauge_every = max(_GAUGE_EVERY_S, cost / _GAUGE_SHARE)

    async def _shard(self, partition: int) -> DetectorShard:
        shard = self.shards.get(partition)
        if shard is not None:
            return shard
        replay_clock = EventTimeClock()
        started = time.perf_counter()
        with exempt_from_collection():
            restored = self._restore(partition)
        read = time.perf_counter()
        if restored is not None:
            shard, stored = restored
            events = self.journal.events(partition, after=stored.seq)
            replay_clock.observe(stored.watermark)
        else:
            shard = DetectorShard(self.policies)
            events = self.journal.events(partition)
        scanned = time.perf_counter()
        records = ShardRecords()
        now = self._clock.now()
        # as far as the clock had gone, never further: events that came ahead of it wait
        # as they did live, and nothing is known before the wall clock
        reached = self.journal.clock(partition)
        limit = now if reached is None else min(reached, now)
        for event in events:
            records.extend(shard.offer(event, min(replay_clock.observe(event.occurred_at), limit)))
        # an empty journal leaves the replay clock at its far-past start: 0 means "nothing yet"
        watermark = max(0, min(replay_clock.now(), limit) if reached is None else limit)
        records.extend(shard.advance(watermark))
        # not advanced to now: the partition's backlog comes first, then a tick
        shard.queues.tally.drain()  # the previous owner counted these events
        self.shards[partition] = shard
        self._clock_of(partition).watermark = watermark
        self._unverified[partition] = now
        self._snapshotted_at[partition] = now  # the next one after an interval, not at once
        self.metrics.rebuilds.labels("snapshot" if restored is not None else "journal").inc()
        self.metrics.replayed.inc(len(events))
        missing = await self._unseen(partition, records)
        await self._emitter.emit(missing)
        log.info(
            "detection partition %d rebuilt from %s and %d journal entries: %d records, %d not"
            " yet emitted; %.1f s (snapshot %.1f s, journal scan %.1f s)",
            partition,
            "a snapshot" if restored is not None else "nothing",
            len(events),
            len(records),
            len(missing),
            time.perf_counter() - started,
            read - started,
            scanned - read,
        )
        return shard

    def _restore(self, partition: int) -> tuple[DetectorShard, StoredSnapshot] | None:
        """The partition's last snapshot, if there is one this version can read under these
        policies; otherwise the shard is rebuilt from the journal alone."""
        stored = self.journal.snapshot(partition)
        if stored is None:
            return None
        try:
            return self._snapshots.load(stored.data), stored
        except Exception as exc:  # another format or other policies: the journal decides
            log.warning("detection partition %d: snapshot not used (%s)", partition, exc)
            return None
