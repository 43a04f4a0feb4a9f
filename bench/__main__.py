"""``python -m bench``: every performance figure beside its target, on the local broker.

1. The core alone: decode, validate, dedup and every detector, one thread, no Kafka.
2. Baseline: a plain confluent-kafka consumer reading the same topics to their end.
3. The worker (``radar worker``): ingest (decode + validate + dedup + ClickHouse write + feed
   to the detection topic), then detection (the Faust agent, its journal and the detector
   shards, records stored and published), each from its first event to its last, measured
   from its own counters; its peak memory.
4. Live detection latency (probe calls with a 2 s answer target, never answered: due time ->
   breach record), then a SIGKILL and restart: seconds until every partition is rebuilt.
5. Memory per open interaction and per customer profile (``bench/core.py``).
Figures are printed, never asserted: machines differ, ratios travel.
"""

from __future__ import annotations

import argparse
import itertools
import os
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from bench import core, sla
from bench.processes import start_broker, start_worker, worker_env
from bench.report import row, versions
from bench.worker_metrics import (
    contacts,
    events_processed,
    peak_rss_mib,
    rate_until,
    rate_until_settled,
    restart_seconds,
)
from infra.runtime import tune_garbage_collector
from infra.settings import Settings, load_settings
from radar.events import Event
from radar.policies import load_policies
from radar.simulate.center import CenterModel
from radar.simulate.generator import Simulation, SimulationOptions
from schemas.codec import EventCodec, PayloadFormat
from schemas.registry import LocalSchemaRegistry
from streams.topics import INPUT_TOPICS, ensure_topics, topic_names
from streams.upstream import EventProducer


def simulated(count: int) -> list[Event]:
    """``count`` events from a large center (a million contacts a day), moved in time so the
    last one happened a second ago: the live SLA engine sees targets as a real center's
    would (not all long overdue), and the worker refuses none as being ahead of its clock."""
    options = SimulationOptions(
        seed=1,
        duration_ms=None,
        model=CenterModel(contacts_per_day=1_000_000, customers=200_000),
    )
    events = list(itertools.islice(Simulation(options), count))
    shift = time.time_ns() // 1_000_000 - 1000 - max(e.occurred_at for e in events)
    return [
        replace(
            e,
            occurred_at=e.occurred_at + shift,
            promised_at=None if e.promised_at is None else e.promised_at + shift,
        )
        for e in events
    ]


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


@dataclass
class WorkerFigures:
    ingest_rate: float
    detect_rate: float
    peak_mib: float
    latencies: list[float]
    chases: list[float]
    restart_s: float
    replayed: float


def bench_worker(
    env: dict[str, str], data_dir: Path, expected: int, settings: Settings
) -> WorkerFigures:
    process, run = start_worker(env, data_dir)
    try:
        ingest_rate = rate_until(lambda: events_processed(run.url), expected)
        detect_rate = rate_until_settled(lambda: contacts(run.url, "radar_detector_events_total"))
        latencies = sla.probe_detection_latency(sla.probe_producer(settings), settings)
        chases = sla.probe_chase_latency(sla.probe_producer(settings), settings)
        peak = peak_rss_mib(process.pid)
    finally:
        process.kill()  # a crash: the restart rebuilds from the journal
        process.wait(60)
    restart_s, replayed = restart_seconds(env, data_dir, settings.topic_partitions)
    return WorkerFigures(ingest_rate, detect_rate, peak, latencies, chases, restart_s, replayed)


def bench_two_workers(
    env: dict[str, str], root: Path, events: list[Event], codec: EventCodec
) -> float:
    """A second deployment (own topics and group) of two workers, each with its own chDB
    path, standing in for two hosts: their detection events/s together."""
    env = env | {"RADAR_TOPIC_PREFIX": "pair.", "RADAR_APP_ID": "contact-radar-pair"}
    settings = load_settings(environ=env)
    ensure_topics(settings)
    producer = EventProducer(settings, codec, PayloadFormat.AVRO)
    producer.send_all(events)
    producer.flush()
    workers = []
    for name in ("a", "b"):
        data = root / f"pair-{name}"
        data.mkdir()
        worker_env = env | {"RADAR_DATA_DIR": str(data), "RADAR_INSTANCE_ID": f"pair-{name}"}
        workers.append(start_worker(worker_env, data))
    try:
        urls = [run.url for _, run in workers]
        return rate_until_settled(
            lambda: sum(contacts(url, "radar_detector_events_total") for url in urls)
        )
    finally:
        for process, _ in workers:
            process.terminate()
        for process, _ in workers:
            process.wait(60)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument(
        "--batch", type=int, default=5000, help="RADAR_SINK_BATCH_SIZE of the worker"
    )
    parser.add_argument(
        "--restart-interactions",
        type=int,
        default=1_000_000,
        help="open interactions in the snapshot that is written and read back",
    )
    parser.add_argument(
        "--snapshot-seconds",
        type=float,
        default=10.0,
        help="RADAR_SNAPSHOT_SECONDS of the worker (10: as one up for minutes has them)",
    )
    return parser.parse_args()


def main() -> None:
    tune_garbage_collector()  # as the worker does, so the core's figure is the worker's
    args = _arguments()
    with tempfile.TemporaryDirectory(prefix="radar-bench-") as tmp:
        root = Path(tmp)
        broker = start_broker(root)
        try:
            env = worker_env(
                root / "data",
                broker.bootstrap_servers,
                RADAR_SINK_BATCH_SIZE=str(args.batch),
                RADAR_POLICIES=str(sla.bench_policies(root)),
                RADAR_EVENT_MAX_AGE_HOURS="0",  # a simulated day of the past
                RADAR_SNAPSHOT_SECONDS=str(args.snapshot_seconds),
            )
            settings = load_settings(environ=env)
            (root / "data").mkdir()
            ensure_topics(settings)

            print(f"simulating {args.events:,} events ...", flush=True)
            events = simulated(args.events)
            codec = EventCodec(LocalSchemaRegistry())
            payloads = [codec.encode(e, PayloadFormat.AVRO) for e in events]
            policies = load_policies(sla.EXAMPLE)
            core_rate = core.core_rate(payloads, codec, policies)
            per_open, per_profile = core.bytes_per_open_interaction(policies)
            print(f"snapshotting {args.restart_interactions:,} open interactions ...", flush=True)
            written_s, read_s, snapshot_mb = core.snapshot_round_trip(
                policies, args.restart_interactions
            )

            producer = EventProducer(settings, codec, PayloadFormat.AVRO)
            producer.send_all(events)
            producer.flush()

            plain_rate = bench_plain_consumer(settings, len(events))
            worker = bench_worker(env, root / "data", len(events), settings)
            pair_rate = bench_two_workers(env, root, events, codec)
        finally:
            broker.stop()

    grace = policies.grace_ms / 1000
    p50, p99 = sla.percentiles([s - grace for s in worker.latencies] or [float("nan")])
    plain = f"plain consumer {plain_rate:,.0f}/s"
    print()
    print(f"{len(events):,} events of a large center (Avro), {os.cpu_count()} cores; {versions()}")
    print()
    print(row("figure", "measured", "target", "baseline, ratio"))
    print(row("---", "---:", "---", "---"))
    print(row("core alone, every detector, one thread", f"{core_rate:,.0f} events/s",
              "≥ 25,000 events/s", f"{plain}, {core_rate / plain_rate:.3f}"))  # fmt: skip
    print(row("worker ingest (stored in chDB, fed to detection)",
              f"{worker.ingest_rate:,.0f} events/s", "",
              f"{plain}, {worker.ingest_rate / plain_rate:.3f}"))  # fmt: skip
    print(row("worker detection, every record stored and published",
              f"{worker.detect_rate:,.0f} events/s", "≥ 15,000 events/s",
              f"{plain}, {worker.detect_rate / plain_rate:.3f}"))  # fmt: skip
    print(row("two workers (own chDB paths), detection", f"{pair_rate:,.0f} events/s",
              "≥ 1.7 x one worker",
              f"one worker, {pair_rate / worker.detect_rate:.2f}"))  # fmt: skip
    print(row("restart after SIGKILL, until every partition is rebuilt",
              f"{worker.restart_s:.1f} s ({worker.replayed:,.0f} journal entries)",
              "≤ 60 s for 1,000,000 open interactions and 3 days"))  # fmt: skip
    print(row(f"shard snapshot of {args.restart_interactions:,} open interactions, read back",
              f"{read_s:.1f} s (written in {written_s:.1f} s, {snapshot_mb:,.0f} MB)",
              "restart ≤ 60 s"))  # fmt: skip
    print(row("memory per open interaction (call, chat, ticket)", f"{per_open:,.0f} B",
              "≤ 1 KB"))  # fmt: skip
    print(row("memory per customer profile", f"{per_profile:,.0f} B", "≤ 0.5 KB"))
    print(row("worker peak memory (VmHWM)", f"{worker.peak_mib:,.0f} MiB"))
    print(row(f"due -> record beyond the grace ({len(worker.latencies)} probes, idle)",
              f"{p50:.2f} s p50, {p99:.2f} s p99", "p50 ≤ 0.3 s, p99 ≤ 1 s"))  # fmt: skip
    c50, c99 = sla.percentiles(worker.chases or [float("nan")])
    print(row(f"customer chase, produced -> record ({len(worker.chases)} probes, idle)",
              f"{c50:.2f} s p50, {c99:.2f} s p99",
              f"p99 ≤ grace + 0.5 s = {grace + 0.5:g} s"))  # fmt: skip


if __name__ == "__main__":
    main()
