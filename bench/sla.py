"""Live SLA detection latency: probe calls due in 2 s, never answered, timed to their breach."""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from pathlib import Path

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from infra.settings import Settings
from radar.events import Direction, Event, EventType, Priority
from radar.sla.output import SLA_OUTPUT
from schemas.codec import EventCodec, PayloadFormat
from schemas.outputs import RecordCodec
from schemas.registry import LocalSchemaRegistry
from streams.upstream import EventProducer

EXAMPLE = Path(__file__).resolve().parents[1] / "config" / "policies.yaml"
PROBE_QUEUE = "latency-probe"
PROBE_TARGET = "2s"
CHASE_QUEUE = "chase-probe"


def bench_policies(folder: Path) -> Path:
    """The shipped policies, with a 2 s answer target for calls on the probe queue first."""
    text = EXAMPLE.read_text()
    probe = (
        f"  - name: latency-probe\n    match: {{channel: call, queue: {PROBE_QUEUE}}}\n"
        f"    targets: {{call_answer_time: {PROBE_TARGET}}}\n"
        f"  - name: chase-probe\n    match: {{channel: ticket, queue: {CHASE_QUEUE}}}\n"
        "    targets: {first_reply_time: 1h}\n"  # around the clock: owed from the start
    )
    text = text.replace("policies:\n", "policies:\n" + probe, 1)
    path = folder / "bench-policies.yaml"
    path.write_text(text)
    return path


def probe_detection_latency(
    producer: EventProducer, settings: Settings, calls: int = 200
) -> list[float]:
    """Seconds from each probe call's due time to its breach record's publication (the
    Kafka timestamp of the record on the SLA topic), in the live worker."""
    for i in range(calls):
        at = time.time_ns() // 1_000_000
        producer.send(
            Event(
                f"probe-{at}-{i}",
                EventType.CALL_QUEUED,
                at,
                f"probe-call-{at}-{i}",
                customer_id=f"probe-{i}",
                queue=PROBE_QUEUE,
                direction=Direction.INBOUND,
            )
        )
        time.sleep(0.05)
    producer.flush()
    published = _published_at(settings, "breach", PROBE_QUEUE, calls)
    return [(at - due) / 1000 for due, at in published.values()]


def probe_chase_latency(
    producer: EventProducer, settings: Settings, customers: int = 50
) -> list[float]:
    """Seconds from a customer's new contact reaching Kafka to the ``customer_chase`` record
    on their ticket that owes a reply, published by the live worker (the grace included)."""
    sent: dict[str, int] = {}
    for i in range(customers):
        at = time.time_ns() // 1_000_000
        customer, ticket = f"chaser-{at}-{i}", f"chased-ticket-{at}-{i}"
        producer.send(
            Event(f"{ticket}-created", EventType.TICKET_CREATED, at, ticket,
                  customer_id=customer, queue=CHASE_QUEUE, priority=Priority.NORMAL)
        )  # fmt: skip
        producer.flush()
        time.sleep(0.1)  # the reply is owed before the customer writes again
        call_at = time.time_ns() // 1_000_000
        producer.send(
            Event(f"{ticket}-chase", EventType.CALL_QUEUED, call_at, f"chase-call-{at}-{i}",
                  customer_id=customer, queue=CHASE_QUEUE, direction=Direction.INBOUND)
        )  # fmt: skip
        producer.flush()
        sent[ticket] = time.time_ns() // 1_000_000  # acknowledged by Kafka
    published = _published_at(settings, "customer_chase", CHASE_QUEUE, customers)
    return [(at - sent[ticket]) / 1000 for ticket, (_, at) in published.items() if ticket in sent]


def _published_at(
    settings: Settings, kind: str, queue: str, expected: int
) -> dict[str, tuple[int, int]]:
    """Per interaction of ``queue``, the due time and the Kafka timestamp of its ``kind``
    record on the SLA topic, until ``expected`` are found (or a minute passed)."""
    topic = settings.topic(str(SLA_OUTPUT.topic))
    consumer = Consumer(
        settings.kafka_client_config()
        | {"group.id": f"bench-probe-{time.time_ns()}", "enable.auto.commit": False}
    )
    partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
    codec = RecordCodec(SLA_OUTPUT)
    found: dict[str, tuple[int, int]] = {}
    deadline = time.monotonic() + 60
    try:
        while len(found) < expected and time.monotonic() < deadline:
            for message in consumer.consume(1000, 0.5):
                if message.error() is not None:
                    continue
                record = codec.decode(message.value() or b"")
                if record["kind"] == kind and record["queue"] == queue:
                    found[record["interaction_id"]] = (record["due_at"], message.timestamp()[1])
    finally:
        consumer.close()
    return found


def percentiles(values: Sequence[float]) -> tuple[float, float]:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered), p99


def probe_producer(settings: Settings) -> EventProducer:
    return EventProducer(settings, EventCodec(LocalSchemaRegistry()), PayloadFormat.JSON)
