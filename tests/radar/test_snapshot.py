"""A shard written to bytes mid-day and read back goes on exactly as one never interrupted."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path
from typing import Any

import pytest

from radar.clock import EventTimeClock
from radar.events import Event
from radar.policies import load_policies, parse_policies
from radar.shard import DetectorShard, ShardRecords
from radar.simulate.center import HOUR_MS, CenterModel
from radar.simulate.generator import Simulation, SimulationOptions
from radar.snapshot import ShardSnapshots, SnapshotMismatch

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "policies.yaml"


def a_day() -> list[Event]:
    options = SimulationOptions(
        seed=5,
        duration_ms=24 * HOUR_MS,
        model=CenterModel(contacts_per_day=3000),
        anomaly_rate=0.05,
        churners=3,
    )
    return list(Simulation(options))


def as_json(records: ShardRecords) -> list[dict[str, Any]]:
    return [r.as_json() for group in (records.sla, records.gaps, records.churn) for r in group]


def feed(shard: DetectorShard, clock: EventTimeClock, events: list[Event]) -> ShardRecords:
    records = ShardRecords()
    for event in events:
        records.extend(shard.offer(event, clock.observe(event.occurred_at)))
    return records


def test_a_restored_shard_says_what_an_uninterrupted_one_says() -> None:
    events = a_day()
    half = len(events) // 2
    policies = load_policies(EXAMPLE)
    clock = EventTimeClock()
    whole = DetectorShard(policies)
    expected = feed(whole, clock, events)
    expected.extend(whole.advance(clock.now() + policies.grace_ms))

    clock = EventTimeClock()
    first = DetectorShard(policies)
    got = feed(first, clock, events[:half])
    later = load_policies(EXAMPLE)  # a restart loads the policy file again
    data = ShardSnapshots(policies).dump(first)
    restored = ShardSnapshots(later).load(data)
    got.extend(feed(restored, clock, events[half:]))
    got.extend(restored.advance(clock.now() + later.grace_ms))

    assert len(expected.sla) > 100
    assert expected.gaps
    assert expected.churn
    assert as_json(got) == as_json(expected)
    assert restored.sla_engine is not None
    assert restored.sla_engine.policies is later
    assert restored.queues.snapshot() == whole.queues.snapshot()


def test_a_snapshot_taken_under_other_policies_is_refused() -> None:
    policies = load_policies(EXAMPLE)
    shard = DetectorShard(policies)
    feed(shard, EventTimeClock(), a_day()[:200])
    data = ShardSnapshots(policies).dump(shard)
    changed = EXAMPLE.read_text().replace("grace: 5s", "grace: 6s")
    assert changed != EXAMPLE.read_text()
    with pytest.raises(SnapshotMismatch, match="other policies"):
        ShardSnapshots(parse_policies(changed)).load(data)


def test_a_snapshot_of_another_format_is_refused() -> None:
    policies = load_policies(EXAMPLE)
    data = ShardSnapshots(policies).dump(DetectorShard(policies))
    with pytest.raises(SnapshotMismatch, match="format"):
        ShardSnapshots(policies).load(b"0" + data[1:])


def test_a_restored_shard_is_freed_without_the_cyclic_collector() -> None:
    """The worker exempts a restored shard from the cyclic collector (``gc.freeze``): a
    shard dropped with its partition must then be freed by reference counting alone."""
    policies = load_policies(EXAMPLE)
    shard = DetectorShard(policies)
    feed(shard, EventTimeClock(), a_day()[:5000])
    data = ShardSnapshots(policies).dump(shard)
    gc.collect()
    collecting = gc.isenabled()
    gc.disable()
    try:
        restored = ShardSnapshots(policies).load(data)
        dropped = weakref.ref(restored)
        del restored
        assert dropped() is None
        assert gc.collect() == 0  # nothing left that only the collector could free
    finally:
        if collecting:
            gc.enable()
