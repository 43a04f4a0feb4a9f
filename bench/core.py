"""The functional core alone, one thread, no Kafka: its speed on the benchmark mix and its
memory per open interaction and per customer profile."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Sequence

from radar.dedup import DedupWindow, SourcePosition
from radar.events import Direction, Event, EventType, Priority
from radar.intake import Intake
from radar.policies import PolicySet
from radar.replay import EventTimeDetection
from radar.snapshot import ShardSnapshots
from schemas.codec import EventCodec


def core_rate(payloads: Sequence[bytes], codec: EventCodec, policies: PolicySet) -> float:
    """Events/s through decode, validation, dedup and every detector on event time: what a
    worker's ingest and detection do per event, without their I/O."""
    intake = Intake(DedupWindow(1_000_000))
    detection = EventTimeDetection(policies)
    started = time.perf_counter()
    for offset, payload in enumerate(payloads):
        admitted = intake.admit(codec.decode(payload), SourcePosition("bench", 0, offset))
        if isinstance(admitted, Event):
            detection.offer(admitted)
    detection.finish()
    return len(payloads) / (time.perf_counter() - started)


def _opening(i: int, at: int, customers: int) -> Event:
    """One new contact, cycling calls, chats and tickets: each stays open (nothing answers)."""
    customer = f"cust-{i % customers:07d}"
    kind = (EventType.CALL_QUEUED, EventType.CHAT_REQUESTED, EventType.TICKET_CREATED)[i % 3]
    return Event(
        f"open-{i}",
        kind,
        at + i,
        f"open-{i:08d}",
        customer_id=customer,
        queue="billing",
        direction=Direction.INBOUND if kind is EventType.CALL_QUEUED else None,
        priority=Priority.NORMAL if kind is EventType.TICKET_CREATED else None,
    )


def bytes_per_open_interaction(
    policies: PolicySet, count: int = 60_000, customers: int = 20_000
) -> tuple[float, float]:
    """Bytes one shard holds per open interaction (every detector's share, the customer
    profiles set apart), and per customer profile of the churn detector."""
    at = time.time_ns() // 1_000_000 - count
    events = [_opening(i, at, customers) for i in range(count)]
    detection = EventTimeDetection(policies)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for event in events:
        detection.offer(event)
    detection.shard.advance(at + count + policies.grace_ms)  # nothing held back
    total = tracemalloc.get_traced_memory()[0] - before
    churn = detection.shard.churn_detector
    profiles_before = tracemalloc.get_traced_memory()[0]
    churn.customers.clear()
    profiles = profiles_before - tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return (total - profiles) / count, profiles / customers


def snapshot_round_trip(policies: PolicySet, count: int) -> tuple[float, float, float]:
    """Seconds to write and to read back a snapshot of shards holding ``count`` open
    interactions (customers a fifth of that), and its size in MB: what a restart reads
    instead of replaying days of journal, and how long a snapshot pauses its partition."""
    at = time.time_ns() // 1_000_000 - count
    detection = EventTimeDetection(policies)
    for i in range(count):
        detection.offer(_opening(i, at, max(1, count // 5)))
    detection.shard.advance(at + count + policies.grace_ms)
    snapshots = ShardSnapshots(policies)
    started = time.perf_counter()
    data = snapshots.dump(detection.shard)
    written = time.perf_counter() - started
    del detection
    started = time.perf_counter()
    snapshots.load(data)
    return written, time.perf_counter() - started, len(data) / 1e6
