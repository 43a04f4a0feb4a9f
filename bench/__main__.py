"""``python -m bench``: ingest throughput against a same-run baseline, on the local broker.

1. The core alone: decode + validate + dedup in-process, no Kafka (the ceiling of one core).
2. Baseline: a plain confluent-kafka consumer reading the same topics to their end.
3. The worker (``radar worker``): ingest (decode + validate + dedup + ClickHouse write + feed
   to the detection topic), then detection (the Faust agent, its journal and the detector
   shards), each from its first event to its last, measured from its own counters; its peak
   memory.
4. The SLA engine alone, its memory per 100,000 open tickets, and live detection latency
   (probe calls with a 2 s answer target, never answered: due time -> breach record).
Figures are printed, never asserted: machines differ, ratios travel.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from prometheus_client.parser import text_string_to_metric_families

from bench import sla
from bench.processes import start_broker, start_worker
from radar.config import Settings, load_settings
from radar.dedup import DedupWindow, SourcePosition
from radar.events import Event
from radar.intake import Intake
from radar.policies import load_policies
from radar.simulate.center import CenterModel
from radar.simulate.generator import Simulation, SimulationOptions
from schemas.codec import EventCodec, PayloadFormat
from schemas.registry import LocalSchemaRegistry
from streams.topics import INPUT_TOPICS, ensure_topics, topic_names
from streams.upstream import EventProducer


def simulated(count: int) -> list[Event]:
    """``count`` events from a large center (a million contacts a day), ending about now, so
    the live SLA engine sees targets as a real center's would (not all long overdue)."""
    span_ms = int(count / (1_000_000 * 6.2) * 86_400_000)
    options = SimulationOptions(
        seed=1,
        start_ms=time.time_ns() // 1_000_000 - span_ms,
        duration_ms=None,
        model=CenterModel(contacts_per_day=1_000_000, customers=200_000),
    )
    events = []
    for event in Simulation(options):
        events.append(event)
        if len(events) == count:
            break
    return events


def bench_core(payloads: list[bytes], codec: EventCodec) -> float:
    intake = Intake(DedupWindow(1_000_000))
    started = time.perf_counter()
    for offset, payload in enumerate(payloads):
        intake.admit(codec.decode(payload), SourcePosition("bench", 0, offset))
    return len(payloads) / (time.perf_counter() - started)


def bench_plain_consumer(settings: Settings, expected: int) -> float:
    consumer = Consumer(
        settings.kafka_client_config()
        | {
            "group.id": f"bench-plain-{time.time_ns()}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    names = topic_names(settings)
    consumer.assign(
        [
            # explicit offsets: no group coordinator involved, nothing to wait for
            TopicPartition(names[t], p, OFFSET_BEGINNING)
            for t in INPUT_TOPICS
            for p in range(settings.topic_partitions)
        ]
    )
    seen, started = 0, time.perf_counter()
    while seen < expected:
        for message in consumer.consume(10_000, timeout=1.0):
            if message.error() is None:
                seen += 1
    elapsed = time.perf_counter() - started
    consumer.close()
    return seen / elapsed


def _counted(url: str, names: tuple[str, ...], skip_agents: bool = False) -> float:
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as response:
        text = response.read().decode()
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in names and not (skip_agents and sample.labels["channel"] == "agent"):
                total += sample.value
    return total


def _events_processed(url: str) -> float:
    return _counted(url, ("radar_events_total", "radar_duplicate_events_total"))


def _rate_until_settled(count: Callable[[], float], quiet: float = 5.0) -> float:
    """Events/s from the first counted event to the last, once the count stopped moving.

    (Redelivered input is counted again by ingest but applied once by the detectors, so the
    two counts need not meet.)"""
    first_at: float | None = None
    first = last = 0.0
    last_at = time.perf_counter()
    while time.perf_counter() - last_at < quiet or first_at is None:
        done, now = count(), time.perf_counter()
        if done > 0 and first_at is None:
            first_at, first = now, done
        if done != last:
            last, last_at = done, now
        time.sleep(0.05)
    return (last - first) / (last_at - first_at) if last_at > first_at else float("inf")


def _contacts(url: str, metric: str) -> float:
    """Events of calls, chats and tickets (agent events reach every detection partition)."""
    return _counted(url, (metric,), skip_agents=True)


def _rate_until(count: Callable[[], float], target: float) -> float:
    """Events/s from the first counted event to ``target``."""
    first_at: float | None = None
    first = 0.0
    while True:
        done, now = count(), time.perf_counter()
        if done > 0 and first_at is None:
            first_at, first = now, done
        if done >= target:
            break
        time.sleep(0.05)
    assert first_at is not None
    return (done - first) / (now - first_at) if now > first_at else float("inf")


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def bench_worker(
    env: dict[str, str], data_dir: Path, expected: int, settings: Settings
) -> tuple[float, float, float, list[float]]:
    process, run = start_worker(env, data_dir)
    try:
        ingest_rate = _rate_until(lambda: _events_processed(run.url), expected)
        detect_rate = _rate_until_settled(lambda: _contacts(run.url, "radar_detector_events_total"))
        latencies = sla.probe_detection_latency(sla.probe_producer(settings), data_dir)
        return ingest_rate, detect_rate, _peak_rss_mib(process.pid), latencies
    finally:
        process.terminate()
        process.wait(60)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument(
        "--batch", type=int, default=5000, help="RADAR_SINK_BATCH_SIZE of the worker"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="radar-bench-") as tmp:
        root = Path(tmp)
        broker = start_broker(root)
        try:
            env = {
                "RADAR_DATA_DIR": str(root / "data"),
                "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
                "RADAR_HTTP_PORT": "0",
                "RADAR_LOG_LEVEL": os.environ.get("RADAR_LOG_LEVEL", "WARNING"),
                "RADAR_SINK_BATCH_SIZE": str(args.batch),
                "RADAR_POLICIES": str(sla.bench_policies(root)),
                "RADAR_EVENT_MAX_AGE_HOURS": "0",  # a simulated day of the past
            }
            settings = load_settings(environ=env)
            (root / "data").mkdir()
            ensure_topics(settings)

            print(f"simulating {args.events:,} events ...", flush=True)
            events = simulated(args.events)
            codec = EventCodec(LocalSchemaRegistry())
            payloads = [codec.encode(e, PayloadFormat.AVRO) for e in events]
            core_rate = bench_core(payloads, codec)

            producer = EventProducer(settings, codec, PayloadFormat.AVRO)
            started = time.perf_counter()
            producer.send_all(events)
            report = producer.flush()
            produce_rate = report.delivered / (time.perf_counter() - started)

            plain_rate = bench_plain_consumer(settings, len(events))
            policies = load_policies(sla.EXAMPLE)
            sla_rate, sla_records = sla.engine_rate(
                sorted(events, key=lambda e: e.occurred_at), policies
            )
            sla_mib = sla.memory_per_open_tickets()
            worker_rate, detect_rate, worker_rss, latencies = bench_worker(
                env, root / "data", len(events), settings
            )
        finally:
            broker.stop()

    print()
    print(f"{'events':<44}{len(events):>14,}")
    print(f"{'produce (confluent-kafka, Avro)':<44}{produce_rate:>14,.0f} events/s")
    print(f"{'core alone: decode+validate+dedup':<44}{core_rate:>14,.0f} events/s")
    print(f"{'baseline: plain consumer, same topics':<44}{plain_rate:>14,.0f} events/s")
    print(f"{'worker: ingest (+ chDB write, feed)':<44}{worker_rate:>14,.0f} events/s")
    print(f"{'worker / plain consumer':<44}{worker_rate / plain_rate:>14.2f}")
    label = "worker: detection (agent + journal + shards)"
    print(f"{label:<44}{detect_rate:>14,.0f} events/s")
    print(f"{'worker peak memory (VmHWM)':<44}{worker_rss:>14,.0f} MiB")
    label = "SLA engine alone (sequencer + engine)"
    print(f"{label:<44}{sla_rate:>14,.0f} events/s ({sla_records:,} records)")
    print(f"{'SLA engine memory per 100,000 open tickets':<44}{sla_mib:>14,.0f} MiB")
    if latencies:
        p50, p99 = sla.percentiles(latencies)
        print(
            f"{'SLA detection latency, due -> record':<44}{p50:>10.2f} s p50 {p99:.2f} s p99 "
            f"({len(latencies)} probes; grace {policies.grace_ms / 1000:g} s included)"
        )


if __name__ == "__main__":
    main()
