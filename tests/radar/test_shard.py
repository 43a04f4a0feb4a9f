"""Splitting customers over shards, as the worker does over partitions, changes no record."""

from __future__ import annotations

import zlib
from pathlib import Path

from radar.clock import EventTimeClock
from radar.events import Author, Event, EventType, TicketStatus
from radar.policies import load_policies, parse_policies
from radar.routing import DetectionRouter
from radar.shard import DetectorShard, ShardRecords
from radar.simulate.center import HOUR_MS, CenterModel
from radar.simulate.generator import Simulation, SimulationOptions
from radar.sla.records import SlaKind
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


def test_a_loyal_customer_answered_early_does_not_drift_towards_churn() -> None:
    """Tickets opened every few days with the opening message exported beside them, each
    answered in an hour: no chase, no level change, however long it goes on."""
    shard = DetectorShard(load_policies(EXAMPLE))
    records = ShardRecords()
    day = 86_400_000
    for n in range(30):
        opened = BASE_MS + n * 3 * day + 9 * HOUR_MS
        ticket = f"ticket-{n}"
        events = [
            make_event(EventType.TICKET_CREATED, occurred_at=opened, interaction_id=ticket),
            make_event(EventType.TICKET_COMMENTED, occurred_at=opened, interaction_id=ticket,
                       author=Author.CUSTOMER, agent_id=None),
            make_event(EventType.TICKET_COMMENTED, occurred_at=opened + HOUR_MS,
                       interaction_id=ticket, agent_id="agent-1"),
            make_event(EventType.TICKET_STATUS_CHANGED, occurred_at=opened + 2 * HOUR_MS,
                       interaction_id=ticket, status=TicketStatus.SOLVED),
        ]  # fmt: skip
        for event in events:
            records.extend(shard.offer(event, event.occurred_at))
    records.extend(shard.advance(BASE_MS + 91 * day))
    assert [r for r in records.sla if r.kind is SlaKind.CUSTOMER_CHASE] == []
    assert [r.level.value for r in records.churn] == []


def _ticked(events: list[Event], batch: int = 40) -> ShardRecords:
    """As the worker drives a shard: batches of events, then a tick at each due instant
    before the next batch (the live clock moves between events)."""
    policies = load_policies(EXAMPLE)
    shard = DetectorShard(policies)
    records = ShardRecords()
    watermark = 0
    for start in range(0, len(events), batch):
        for event in events[start : start + batch]:
            watermark = max(watermark, event.occurred_at)
            records.extend(shard.offer(event, watermark))
        last = start + batch >= len(events)
        upto = watermark + policies.grace_ms if last else events[start + batch].occurred_at
        while (due := shard.next_due()) is not None and due < upto:
            watermark = max(watermark, due)
            records.extend(shard.advance(watermark))
    records.extend(shard.advance(watermark + policies.grace_ms))  # where the replay ends
    return records


def test_replay_and_a_ticking_worker_say_the_same_field_by_field() -> None:
    options = SimulationOptions(
        seed=5,
        duration_ms=36 * HOUR_MS,
        model=CenterModel(contacts_per_day=1500),
        anomaly_rate=0.05,
        churners=5,
    )
    events = list(Simulation(options))
    replayed, ticked = _run(events, 1), _ticked(events)

    def as_rows(records: ShardRecords) -> list[dict[str, object]]:
        rows = [r.as_json() for r in records.sla]
        rows += [r.as_json() for r in records.gaps] + [r.as_json() for r in records.churn]
        return sorted(rows, key=lambda row: str(row["id"]))

    assert len(replayed.sla) > 100
    assert replayed.gaps
    assert replayed.churn
    assert as_rows(ticked) == as_rows(replayed)
