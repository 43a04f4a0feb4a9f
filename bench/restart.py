"""A worker's restart with a large state: ``python -m bench.restart --open 1000000``.

Opens ``--open`` tickets through a live worker (a first reply owed in eight business hours:
nothing falls due during the run), waits until its detectors hold every one and each
partition has been snapshotted since, SIGKILLs it, and times the restart until every
detection partition is rebuilt and its clock set. The baseline, in the same run, is the
same with ``--baseline`` tickets.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.processes import start_broker, start_worker, worker_env
from bench.report import row, versions
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


@dataclass(frozen=True)
class Restart:
    opened_s: float  # the tickets through ingest and detection
    restart_s: float
    replayed: float
    peak_mib: float
    rebuilds: list[str]  # the restarted worker's log lines of its partitions' rebuilds


def restart_holding(
    count: int, root: Path, bootstrap_servers: str, snapshot_seconds: float
) -> Restart:
    """A worker of its own (topics, group, data directory) holding ``count`` open tickets,
    killed once every partition has been snapshotted with them all, then started again."""
    name = f"restart-{count}"
    env = worker_env(
        root / name,
        bootstrap_servers,
        RADAR_TOPIC_PREFIX=f"{name}.",
        RADAR_APP_ID=f"contact-radar-{name}",
        RADAR_POLICIES=str(EXAMPLE),
        RADAR_SNAPSHOT_SECONDS=str(snapshot_seconds),
        RADAR_LOG_LEVEL="INFO",  # the rebuilds say where their time went
    )
    settings = load_settings(environ=env)
    (root / name).mkdir()
    ensure_topics(settings)
    print(f"opening {count:,} tickets ...", flush=True)
    producer = EventProducer(settings, EventCodec(LocalSchemaRegistry()), PayloadFormat.AVRO)
    producer.send_all(openings(count, max(1, count // 5)))
    producer.flush()
    partitions = settings.topic_partitions
    process, run = start_worker(env, root / name)
    try:
        started = time.perf_counter()
        while contacts(run.url, "radar_detector_events_total") < count:
            time.sleep(POLL_SECONDS)
        opened_s = time.perf_counter() - started
        snapshots = sum(metric(run.url, "radar_detector_snapshots_total"))
        while sum(metric(run.url, "radar_detector_snapshots_total")) < snapshots + partitions:
            time.sleep(POLL_SECONDS)
        peak = peak_rss_mib(process.pid)
    finally:
        process.kill()
        process.wait(60)
    log = root / name / "worker.log"
    before = log.stat().st_size
    restart_s, replayed = restart_seconds(env, root / name, partitions)
    with log.open("rb") as handle:
        handle.seek(before)
        lines = handle.read().decode(errors="replace").splitlines()
    marks = ("Worker]: Starting", "assigned partitions", "Restore complete", "rebuilt from")
    rebuilds = [line for line in lines if any(mark in line for mark in marks)]
    return Restart(opened_s, restart_s, replayed, peak, rebuilds)


def main() -> None:
    tune_garbage_collector()
    parser = argparse.ArgumentParser(prog="python -m bench.restart", description=__doc__)
    parser.add_argument("--open", type=int, default=1_000_000, help="tickets left open")
    parser.add_argument("--baseline", type=int, default=1_000, help="tickets, the small state")
    parser.add_argument("--snapshot-seconds", type=float, default=30.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="radar-bench-restart-") as tmp:
        root = Path(tmp)
        broker = start_broker(root)
        try:
            small, large = (
                restart_holding(n, root, broker.bootstrap_servers, args.snapshot_seconds)
                for n in (args.baseline, args.open)
            )
        finally:
            broker.stop()

    print()
    print(f"{args.open:,} open tickets, {os.cpu_count()} cores; {versions()}")
    print()
    print(row("figure", "measured", "target", "baseline, ratio"))
    print(row("---", "---:", "---", "---"))
    print(row(f"restart after SIGKILL, {args.open:,} open tickets",
              f"{large.restart_s:.1f} s ({large.replayed:,.0f} journal entries replayed)",
              "≤ 60 s", f"{args.baseline:,} open tickets {small.restart_s:.1f} s,"
              f" {large.restart_s / small.restart_s:.2f}"))  # fmt: skip
    print(row("tickets opened through ingest and detection", f"{large.opened_s:.0f} s"))
    print(row("worker peak memory (VmHWM)", f"{large.peak_mib:,.0f} MiB", "",
              f"{args.baseline:,} open tickets {small.peak_mib:,.0f} MiB"))  # fmt: skip
    print()
    print(f"The restart of the worker holding {args.open:,}, from its log:")
    for line in large.rebuilds:
        print(f"    {line.strip()}")


if __name__ == "__main__":
    main()
