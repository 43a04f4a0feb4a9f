"""The detection shell over an in-memory journal table: a partition that moves to another
worker goes on exactly where its clock was, not where its newest event was."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from radar.clock import WallClock
from radar.events import Direction, EventType
from radar.policies import parse_policies
from radar.progress import ProgressReport
from radar.shard import ShardRecords
from radar.sla.output import SLA_OUTPUT
from radar.sla.records import SlaKind, SlaRecord
from sinks.metrics import DetectorStateMetrics, PipelineMetrics, QueueMetrics
from sinks.writer import SinkWriter
from streams.detection import PartitionedDetection
from streams.emitter import DetectorSink
from streams.journal import DetectorJournal
from tests.factories import BASE_MS, make_event

POLICIES = parse_policies(
    "grace: 5s\npolicies:\n  - name: calls\n    match: {channel: call}\n"
    "    targets: {call_answer_time: 60s}\n"
)
MINUTE = 60_000
NOW = BASE_MS + 24 * 60 * MINUTE  # the day is a backlog: all of it is in the past
CALLS_0, CALLS_1 = ("calls", 0), ("calls", 1)


class TableStore(dict[bytes, bytes]):
    def set_persisted_offset(self, tp: Any, offset: int) -> None:
        pass


class Table:
    def __init__(self) -> None:
        self.data = TableStore()


class Changelog:
    topic = "journal-changelog"

    async def __call__(self, messages: Sequence[Any]) -> dict[int, int]:
        return {m.partition: 0 for m in messages}


class Store:
    """The output table: ids written so far."""

    def __init__(self) -> None:
        self.rows: list[SlaRecord] = []

    def insert(self, records: Sequence[SlaRecord]) -> None:
        self.rows += records

    def existing_ids(self, table: str, ids: Sequence[str]) -> set[str]:
        return {r.id for r in self.rows} & set(ids)


def worker(
    table: Table, store: Store, now: Callable[[], int] = lambda: NOW, snapshot_seconds: float = 0
) -> PartitionedDetection:
    registry = CollectorRegistry()
    sink = DetectorSink(SLA_OUTPUT, store.insert)
    return PartitionedDetection(
        POLICIES,
        DetectorJournal(table, Changelog()),  # type: ignore[arg-type]
        [sink],
        SinkWriter(store, PipelineMetrics(registry)),  # type: ignore[arg-type]
        DetectorStateMetrics(registry),
        QueueMetrics(POLICIES, registry),
        clock=WallClock(now),
        fed_with_reports=True,
        snapshot_seconds=snapshot_seconds,
    )


def call(minute: int, iid: str) -> Any:
    return make_event(
        EventType.CALL_QUEUED,
        occurred_at=BASE_MS + minute * MINUTE,
        interaction_id=iid,
        customer_id=iid,
        queue="billing",
        direction=Direction.INBOUND,
    )


def breaches(records: ShardRecords | list[SlaRecord]) -> list[str]:
    sla = records.sla if isinstance(records, ShardRecords) else records
    return sorted(r.interaction_id for r in sla if r.kind is SlaKind.BREACH)


async def scenario() -> tuple[list[str], list[str]]:
    table, store = Table(), Store()
    first = worker(table, store)
    # calls-1 is far behind: nothing of it fed yet; calls-0 has run an hour ahead
    first.hear(0, ProgressReport(NOW, {CALLS_0: BASE_MS + 60 * MINUTE, CALLS_1: BASE_MS}, 2))
    live = await first.apply(0, [call(1, "early"), call(60, "ahead")])
    await first.complete(live)
    await first.revoke([0])  # the worker dies or the partition moves

    second = worker(table, store)  # the next owner, over the same journal
    after_move = await second.tick(0, NOW)
    await second.complete(after_move)
    await second.revoke([0])
    return breaches(live), breaches(store.rows)


def test_a_moved_partition_does_not_run_ahead_of_input_nobody_has_read() -> None:
    live, stored = asyncio.run(scenario())
    assert live == []  # calls-1 may hold the answers: nothing is due yet
    assert stored == []  # nor after the move: its clock is where it was, not an hour on


async def caught_up() -> list[str]:
    table, store = Table(), Store()
    first = worker(table, store)
    first.hear(0, ProgressReport(NOW, {CALLS_0: BASE_MS + 60 * MINUTE, CALLS_1: BASE_MS}, 2))
    await first.complete(await first.apply(0, [call(1, "early"), call(60, "ahead")]))
    await first.revoke([0])
    second = worker(table, store)
    second.hear(0, ProgressReport(NOW + 1, {CALLS_0: NOW, CALLS_1: NOW}, 2))  # all read now
    await second.complete(await second.tick(0, NOW))
    await second.revoke([0])
    return breaches(store.rows)


def test_once_every_input_partition_is_read_the_moved_partition_catches_up() -> None:
    assert asyncio.run(caught_up()) == ["ahead", "early"]


def replayed(detection: PartitionedDetection) -> float:
    """Journal entries the detection's rebuilds replayed, as its metric says."""
    registry = CollectorRegistry()
    registry.register(detection.metrics.replayed)
    return registry.get_sample_value("radar_detector_journal_replayed_total") or 0.0


async def snapshotted(snapshot_seconds: float) -> tuple[list[str], float]:
    table, store = Table(), Store()
    wall = [NOW]
    first = worker(table, store, lambda: wall[0], snapshot_seconds)
    first.hear(0, ProgressReport(NOW, {CALLS_0: NOW, CALLS_1: NOW}, 2))
    await first.complete(await first.apply(0, [call(minute, f"a{minute}") for minute in range(5)]))
    wall[0] += 2_000
    await first.checkpoint(0)  # a snapshot, when they are on
    await first.complete(await first.apply(0, [call(minute, f"b{minute}") for minute in range(3)]))
    await first.revoke([0])
    second = worker(table, store, lambda: wall[0], snapshot_seconds)
    await second.complete(await second.tick(0, wall[0]))
    await second.revoke([0])
    return breaches(store.rows), replayed(second)


def test_a_rebuild_reads_the_snapshot_and_only_the_events_after_it() -> None:
    from_journal, replayed_all = asyncio.run(snapshotted(snapshot_seconds=0))
    from_snapshot, replayed_after = asyncio.run(snapshotted(snapshot_seconds=1))
    assert replayed_all == 8
    assert replayed_after == 3
    assert len(from_journal) == 8  # every call was due long ago
    assert from_snapshot == from_journal


async def unpicklable_checkpoint() -> tuple[bool, int]:
    table, store = Table(), Store()
    wall = [NOW]
    detection = worker(table, store, lambda: wall[0], snapshot_seconds=1)
    detection.hear(0, ProgressReport(NOW, {CALLS_0: NOW, CALLS_1: NOW}, 2))
    await detection.complete(await detection.apply(0, [call(1, "a")]))
    detection.shards[0].note = lambda: None  # type: ignore[attr-defined]  # pickle refuses it
    wall[0] += 2_000
    await detection.checkpoint(0)
    await detection.complete(await detection.apply(0, [call(2, "b")]))  # and goes on
    await detection.revoke([0])
    return detection.journal.snapshot(0) is None, len(store.rows)


def test_a_snapshot_that_cannot_be_written_stops_nothing() -> None:
    no_snapshot, breaches_written = asyncio.run(unpicklable_checkpoint())
    assert no_snapshot
    assert breaches_written == 2


async def tick_before_anything() -> int | None:
    detection = worker(Table(), Store())
    await detection.complete(await detection.tick(0, NOW))  # no event, no report yet
    return detection.journal.clock(0)


def test_a_partition_ticked_before_any_event_or_report_keeps_a_clock_at_zero() -> None:
    assert asyncio.run(tick_before_anything()) == 0


class Stopwatch:
    """``time.monotonic`` that moves when told, and by ``cost`` at each reading taken while
    the gauges are read."""

    def __init__(self, cost: float) -> None:
        self.now, self.cost, self.reading = 1000.0, cost, False

    def __call__(self) -> float:
        if self.reading:
            self.now += self.cost
        return self.now


def test_gauges_are_read_less_often_as_reading_them_costs_more(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    detection = worker(Table(), Store())
    reads: list[float] = []
    watch = Stopwatch(cost=0.001)
    monkeypatch.setattr("streams.detection.time.monotonic", watch)
    original = detection.gauge

    def counted() -> None:
        reads.append(watch.now)
        watch.reading = True
        original()
        watch.reading = False

    monkeypatch.setattr(detection, "gauge", counted)
    for _ in range(3):
        watch.now += 0.3
        detection.gauge_soon()
    assert len(reads) == 3  # cheap: every 0.25 s at most
    watch.cost = 2.0  # from now on a read takes 2 s
    watch.now += 0.3
    detection.gauge_soon()
    for _ in range(12):
        watch.now += 3.0
        detection.gauge_soon()
    assert len(reads) == 4  # 2 s in 40 at most: 5 % of the worker's time
    watch.now += 10.0
    detection.gauge_soon()
    assert len(reads) == 5


def clocks(detection: PartitionedDetection) -> dict[str, float]:
    return {
        sample.labels["partition"]: sample.value
        for metric in detection.metrics.clock.collect()
        for sample in metric.samples
    }


async def clocks_while_state_reads_wait(watch: Stopwatch) -> list[dict[str, float]]:
    detection = worker(Table(), Store())
    detection.hear(0, ProgressReport(NOW, {CALLS_0: BASE_MS, CALLS_1: BASE_MS}, 2))
    await detection.complete(await detection.apply(0, [call(1, "a")]))
    watch.reading = True  # a costly read of the state: the next waits for 40 s
    detection.gauge_soon()
    watch.reading = False
    seen = [clocks(detection)]
    detection.hear(0, ProgressReport(NOW, {CALLS_0: NOW, CALLS_1: NOW}, 2))
    await detection.complete(await detection.tick(0, NOW))
    watch.now += 1.0
    detection.gauge_soon()
    seen.append(clocks(detection))
    await detection.revoke([0])
    watch.now += 1.0
    detection.gauge_soon()
    seen.append(clocks(detection))
    return seen


def test_the_partition_clocks_follow_every_batch_while_state_reads_wait(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The clock says the partition is processing: it must not wait for the state gauges,
    which a large state makes rare (a restart with a million tickets showed its clocks 40 s
    after they were set)."""
    watch = Stopwatch(cost=2.0)
    monkeypatch.setattr("streams.detection.time.monotonic", watch)
    before, after, revoked = asyncio.run(clocks_while_state_reads_wait(watch))
    assert before["0"] < after["0"]
    assert after["0"] * 1000 >= NOW - POLICIES.grace_ms
    assert revoked == {}
