"""Splitting customers over shards, as the worker does over partitions, changes no record."""

from __future__ import annotations

import zlib
from pathlib import Path

from radar.clock import EventTimeClock
from radar.events import Event, EventType
from radar.policies import load_policies, parse_policies
from radar.routing import DetectionRouter
from radar.shard import DetectorShard, ShardRecords
from radar.simulate.center import HOUR_MS, CenterModel
from radar.simulate.generator import Simulation, SimulationOptions
from tests.factories import BASE_MS, make_event

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "policies.yaml"


def _identities(records: ShardRecords) -> set[tuple[str, str]]:
    return {(r.id, "sla") for r in records.sla} | {
        (r.id, stream)
        for stream, group in (("gap", records.gaps), ("churn", records.churn))
        for r in group
    }


def _run(events: list[Event], shards: int) -> ShardRecords:
    policies = load_policies(EXAMPLE)
    router = DetectionRouter()
    slices = [DetectorShard(policies) for _ in range(shards)]
    clock = EventTimeClock()
    records = ShardRecords()
    for event in events:
        watermark = clock.observe(event.occurred_at)
        key = router.key(event)
        targets = slices if key is None else [slices[zlib.crc32(key.encode()) % shards]]
        for shard in targets:
            records.extend(shard.offer(event, watermark))
    for shard in slices:
        records.extend(shard.advance(clock.now() + policies.grace_ms))
    return records


def test_four_shards_say_what_one_says() -> None:
    options = SimulationOptions(
        seed=11,
        duration_ms=4 * HOUR_MS,
        model=CenterModel(contacts_per_day=6000),
        anomaly_rate=0.05,
    )
    events = list(Simulation(options))
    whole = _run(events, 1)
    split = _run(events, 4)
    assert len(whole.sla) > 100
    assert whole.gaps
    assert whole.churn
    assert _identities(split) == _identities(whole)
    assert len(split) == len(whole)


def test_next_due_names_the_held_event_then_the_deadline() -> None:
    shard = DetectorShard(
        parse_policies(
            "policies:\n  - name: t\n    match: {channel: ticket}\n"
            "    targets: {first_reply_time: 10s}\n    warnings: []\ngrace: 2s\n"
        )
    )
    assert shard.next_due() is None
    created = make_event(EventType.TICKET_CREATED, occurred_at=BASE_MS)
    shard.offer(created, BASE_MS)
    assert shard.next_due() == BASE_MS + 2_000  # the event, once its grace has passed
    shard.advance(BASE_MS + 2_000)
    assert shard.next_due() == BASE_MS + 12_000  # the breach, plus grace
    assert [r.kind.value for r in shard.advance(BASE_MS + 12_000).sla] == ["breach"]
