"""A worker's restart with a large state: ``python -m bench.restart --open 1000000``.

Opens ``--open`` tickets through a live worker (a first reply owed in eight business hours:
nothing falls due during the run), waits until its detectors hold every one and each
partition has been snapshotted since, SIGKILLs it, and times the restart until every
detection partition is rebuilt and its clock set. The baseline is the same worker's start
on an empty state, in the same run.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from bench.processes import start_broker, start_worker
from bench.sla import EXAMPLE
from bench.worker_metrics import POLL_SECONDS, contacts, metric, peak_rss_mib, restart_seconds
from infra.runtime import tune_garbage_collector
from infra.settings import load_settings
from radar.events import Event, EventType, Priority
from schemas.codec import EventCodec, PayloadFormat
from schemas.registry import LocalSchemaRegistry
from streams.topics import ensure_topics
from streams.upstream import EventProducer


def openings(count: int, customers: int) -> list[Event]:
    """``count`` new tickets, a millisecond apart, the last one a second ago."""
    start = time.time_ns() // 1_000_000 - 1000 - count
    return [
        Event(
            f"open-{i}",
            EventType.TICKET_CREATED,
            start + i,
            f"ticket-{i:08d}",
            customer_id=f"cust-{i % customers:07d}",
            queue="billing",
            priority=Priority.NORMAL,
        )
        for i in range(count)
    ]


def main() -> None:
    tune_garbage_collector()
    parser = argparse.ArgumentParser(prog="python -m bench.restart", description=__doc__)
    parser.add_argument("--open", type=int, default=1_000_000, help="tickets left open")
    parser.add_argument("--snapshot-seconds", type=float, default=30.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="radar-bench-restart-") as tmp:
        root = Path(tmp)
        broker = start_broker(root)
        try:
            env = {
                "RADAR_DATA_DIR": str(root / "data"),
                "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
                "RADAR_HTTP_PORT": "0",
                "RADAR_LOG_LEVEL": os.environ.get("RADAR_LOG_LEVEL", "WARNING"),
                "RADAR_POLICIES": str(EXAMPLE),
                "RADAR_SNAPSHOT_SECONDS": str(args.snapshot_seconds),
            }
            settings = load_settings(environ=env)
            (root / "data").mkdir()
            ensure_topics(settings)
            partitions = settings.topic_partitions
            empty_start, _ = restart_seconds(env, root / "data", partitions)

            print(f"opening {args.open:,} tickets ...", flush=True)
            producer = EventProducer(
                settings, EventCodec(LocalSchemaRegistry()), PayloadFormat.AVRO
            )
            producer.send_all(openings(args.open, max(1, args.open // 5)))
            producer.flush()

            process, run = start_worker(env, root / "data")
            try:
                started = time.perf_counter()
                while contacts(run.url, "radar_detector_events_total") < args.open:
                    time.sleep(POLL_SECONDS)
                held_s = time.perf_counter() - started
                snapshots = sum(metric(run.url, "radar_detector_snapshots_total"))
                while sum(metric(run.url, "radar_detector_snapshots_total")) < (
                    snapshots + partitions
                ):
                    time.sleep(POLL_SECONDS)
                peak = peak_rss_mib(process.pid)
            finally:
                process.kill()
                process.wait(60)
            restart_s, replayed = restart_seconds(env, root / "data", partitions)
        finally:
            broker.stop()

    print()
    print("| figure | measured | target | baseline, ratio |")
    print("| --- | ---: | --- | --- |")
    print(
        f"| restart after SIGKILL, {args.open:,} open tickets | {restart_s:.1f} s"
        f" ({replayed:,.0f} journal entries replayed) | ≤ 60 s |"
        f" start on an empty state {empty_start:.1f} s, {restart_s / empty_start:.2f} |"
    )
    print(f"| opened through ingest and detection | {held_s:.0f} s | | |")
    print(f"| worker peak memory (VmHWM) | {peak:,.0f} MiB | | |")


if __name__ == "__main__":
    main()
