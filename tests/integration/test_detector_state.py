"""Detector state follows its partitions: two workers share the work, one dies, the other
rebuilds the dead one's shard from the journal's changelog and fires its deadlines."""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from infra.settings import load_settings
from radar.events import EventType, Priority
from streams.topics import ensure_topics
from tests.integration.conftest import WorkerProcess, ticket_policies
from tests.integration.test_sla_live import Upstream, read_sla_topic

pytestmark = pytest.mark.integration

POLICIES = ticket_policies("40s")
TICKETS = [f"T-{n}" for n in range(8)]


@pytest.fixture
def engine() -> str:
    return "bulk"


@pytest.fixture(params=[("rocksdb", "1"), ("memory", "0")], ids=["rocksdb-snapshots", "memory"])
def state(request: pytest.FixtureRequest) -> tuple[str, str]:
    """The journal's store, and how often snapshots are taken (0: never)."""
    store, snapshot_seconds = request.param
    return str(store), str(snapshot_seconds)


@pytest.fixture
def pair(
    worker_env: dict[str, str], tmp_path: Path, state: tuple[str, str]
) -> Iterator[tuple[WorkerProcess, ...]]:
    policies = tmp_path / "policies.yaml"
    policies.write_text(POLICIES)
    shared = worker_env | {
        "RADAR_POLICIES": str(policies),
        "RADAR_TOPIC_PARTITIONS": "2",
        "RADAR_KAFKA_SESSION_TIMEOUT": "6",
        "RADAR_LOG_LEVEL": "INFO",
        "RADAR_TABLE_STORE": state[0],
        "RADAR_SNAPSHOT_SECONDS": state[1],
    }
    workers = tuple(
        WorkerProcess(
            shared
            | {
                "RADAR_DATA_DIR": str(tmp_path / name),  # chDB: one data path per process
                "RADAR_INSTANCE_ID": f"{shared['RADAR_INSTANCE_ID']}-{name}",
            },
            tmp_path / f"{name}.log",
        )
        for name in ("a", "b")
    )
    yield workers
    for worker in workers:
        if worker.process is not None:
            worker.stop()


def owned(worker: WorkerProcess) -> float:
    return worker.metric_total("radar_detector_partitions")


def wait_until(
    condition: Callable[[], bool], timeout: float, what: str, worker: WorkerProcess | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.3)
    log = f"\n{worker.log_tail()}" if worker is not None else ""
    raise AssertionError(f"timed out waiting for {what}{log}")


def breached(worker: WorkerProcess) -> set[str]:
    rows = worker.query("SELECT interaction_id FROM sla_events WHERE kind = 'breach'").rows
    return {row[0] for row in rows}


def test_a_dead_workers_shards_move_with_their_journal(
    pair: tuple[WorkerProcess, WorkerProcess],
) -> None:
    a, b = pair
    settings = load_settings(environ=a.env)
    # librdkafka's default partitioner: CRC-32 of the key; both partitions must hold tickets
    assert {zlib.crc32(f"customer:cust-{t}".encode()) % 2 for t in TICKETS} == {0, 1}
    ensure_topics(settings)
    a.start()
    wait_until(lambda: owned(a) == 2, 60, "worker a to own both detection partitions")
    upstream = Upstream(settings)
    for ticket in TICKETS:
        upstream.send(EventType.TICKET_CREATED, ticket, priority=Priority.NORMAL)
    a.wait_for("SELECT count() FROM events", len(TICKETS))
    time.sleep(2)  # journaled by worker a's detection agent

    b.start()  # it ingests nothing: every event was consumed before it came
    wait_until(lambda: owned(a) == 1 and owned(b) == 1, 60, "one detection partition each")
    a.kill()  # before any ticket is due
    wait_until(lambda: owned(b) == 2, 60, "worker b to own both partitions", b)
    wait_until(lambda: breached(b) == set(TICKETS), 60, "every ticket breached by worker b", b)

    # worker b never stored an event: all its state came from the journal's changelog
    assert b.scalar("SELECT count() FROM events") == 0
    # queue figures: b's gauges come back from the rebuilt shards, but the tickets a rebuild
    # replays were counted by a, not again by b
    wait_until(
        lambda: b.metric_total("radar_queue_tickets_open", queue="billing") == len(TICKETS),
        30,
        "the rebuilt shards' open tickets on worker b's gauges",
        b,
    )
    assert b.metric_total("radar_queue_offered_total", queue="billing") == 0
    if b.env["RADAR_SNAPSHOT_SECONDS"] == "0":
        assert b.metric_total("radar_detector_journal_replayed_total") >= len(TICKETS)
    else:  # a snapshot a took, then the entries after it
        assert b.metric_total("radar_detector_rebuilds_total", start="snapshot") >= 1
    assert b.scalar("SELECT count() - uniqExact(id) FROM sla_events") == 0
    records = b.scalar("SELECT count() FROM sla_events")
    assert len(read_sla_topic(settings, records)) == records  # each published once
