"""Live SLA detection latency: probe calls due in 2 s, never answered, timed to their breach."""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from pathlib import Path

from radar.events import Direction, Event, EventType
from schemas.codec import EventCodec, PayloadFormat
from schemas.registry import LocalSchemaRegistry
from streams.endpoint import RunFile, query_worker
from streams.upstream import EventProducer

EXAMPLE = Path(__file__).resolve().parents[1] / "config" / "policies.yaml"
PROBE_QUEUE = "latency-probe"
PROBE_TARGET = "2s"


def bench_policies(folder: Path) -> Path:
    """The shipped policies, with a 2 s answer target for calls on the probe queue first."""
    text = EXAMPLE.read_text()
    probe = (
        f"  - name: latency-probe\n    match: {{channel: call, queue: {PROBE_QUEUE}}}\n"
        f"    targets: {{call_answer_time: {PROBE_TARGET}}}\n"
    )
    text = text.replace("policies:\n", "policies:\n" + probe, 1)
    path = folder / "bench-policies.yaml"
    path.write_text(text)
    return path


def probe_detection_latency(
    producer: EventProducer, data_dir: Path, calls: int = 200
) -> list[float]:
    """Seconds from each probe call's due time to its breach record, in the live worker."""
    sent = []
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
        sent.append(at)
        time.sleep(0.05)
    producer.flush()
    run = RunFile.read(data_dir)
    assert run is not None
    sql = (
        "SELECT toUnixTimestamp64Milli(detected_at) - toUnixTimestamp64Milli(due_at) "
        f"FROM sla_events FINAL WHERE kind = 'breach' AND queue = '{PROBE_QUEUE}'"
    )
    deadline = time.monotonic() + 60
    rows: list[list[object]] = []
    while time.monotonic() < deadline:
        rows = query_worker(run, sql).rows
        if len(rows) >= calls:
            break
        time.sleep(0.5)
    return [int(str(row[0])) / 1000 for row in rows]


def percentiles(values: Sequence[float]) -> tuple[float, float]:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered), p99


def probe_producer(settings: object) -> EventProducer:
    return EventProducer(settings, EventCodec(LocalSchemaRegistry()), PayloadFormat.JSON)  # type: ignore[arg-type]
