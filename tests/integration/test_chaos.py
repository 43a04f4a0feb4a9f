"""A crash changes no output: the same simulated day through a worker that runs undisturbed and
through one SIGKILLed at seeded random moments and restarted, compared record by record in every
output table and on every output topic."""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

import pytest

from infra.settings import Settings, load_settings
from radar.events import Event, EventType, Priority
from radar.shard import OUTPUTS
from radar.simulate.center import DAY_MS, CenterModel
from radar.simulate.generator import Simulation, SimulationOptions
from schemas.codec import EventCodec, PayloadFormat
from schemas.outputs import RecordCodec
from schemas.registry import LocalSchemaRegistry
from streams.emitter import CRASH_AFTER_PUBLISH, EXIT_FAILPOINT
from streams.topics import ensure_topics
from streams.upstream import EventProducer
from tests.integration.conftest import WorkerProcess, read_topic_to_end, ticket_policies
from tests.integration.test_ground_truth_live import wait_until_settled
from tests.integration.test_sla_live import Upstream
from tests.radar.sla.test_ground_truth import EXAMPLE

pytestmark = pytest.mark.integration
KILLS = 5
SEED = 1234
TABLES = {  # output table -> the time that says when live mode knew the row
    "sla_events": "detected_at",
    "assignee_gaps": "detected_at",
    "churn_signals": "detected_at",
    "queue_contacts": "at",
}
POLICIES = ticket_policies("3s")
TOPICS: dict[str, RecordCodec] = {  # output topic -> its codec
    str(output.topic): RecordCodec(output) for output in OUTPUTS if output.topic
}


@pytest.fixture
def engine() -> str:
    return "bulk"


def a_day_with_faults_and_churners() -> list[Event]:
    now = time.time_ns() // 1_000_000
    options = SimulationOptions(
        seed=SEED,
        start_ms=now - 36 * 3_600_000,  # ends 12 h ago: within the journal's retention
        duration_ms=DAY_MS,
        model=CenterModel(contacts_per_day=1500),
        anomaly_rate=0.03,
        churners=6,
    )
    # life cycles run on past the day: what has not happened yet is not sent
    return [e for e in Simulation(options) if e.occurred_at < now]


def outputs(worker: WorkerProcess, settings: Settings, known_by: int) -> dict[str, set[str]]:
    """Record ids per output table and topic, of records live mode knew by ``known_by``."""
    found: dict[str, set[str]] = {}
    for table, known_at in TABLES.items():
        rows = worker.query(
            f"SELECT DISTINCT id FROM {table} FINAL"
            f" WHERE {known_at} <= fromUnixTimestamp64Milli({known_by})"
        ).rows
        found[table] = {row[0] for row in rows}
    for topic, codec in TOPICS.items():
        records = [codec.decode(v) for v in read_topic_to_end(settings, settings.topic(topic))]
        found[topic] = {r["id"] for r in records if r["detected_at"] <= known_by}
    return found


def send(settings: Settings, events: list[Event]) -> None:
    """The day, waiting on its topics before any worker starts: a backlog."""
    ensure_topics(settings)
    producer = EventProducer(settings, EventCodec(LocalSchemaRegistry()), PayloadFormat.AVRO)
    producer.send_all(events)
    assert not producer.flush().failed
    producer.close()


def differences(
    expected: dict[str, set[str]], got: dict[str, set[str]]
) -> tuple[dict[str, int], dict[str, int]]:
    """Per output: how many expected ids are missing, how many found ids were not expected."""
    lost = {name: len(ids - got[name]) for name, ids in expected.items()}
    extra = {name: len(got[name] - ids) for name, ids in expected.items()}
    return lost, extra


def run(worker: WorkerProcess, events: list[Event], kills: int, rng: random.Random) -> int:
    """Produce the day, start the worker, kill and restart it ``kills`` times while it works
    through the backlog; returns when it has settled."""
    send(load_settings(environ=worker.env), events)
    worker.start()
    for _ in range(kills):
        time.sleep(rng.uniform(1.0, 6.0))  # mid-batch, mid-flush, mid-write: wherever it falls
        worker.kill()
        worker.start()
    wait_until_settled(worker, events)
    return kills


def wait_for_clocks(worker: WorkerProcess, past: int, partitions: int) -> None:
    """Until every detection partition's clock is past ``past`` (a restarted worker's clock
    waits for the ingest to report on every input partition again), then until
    nothing more is written for 5 s."""
    deadline = time.monotonic() + 120
    while True:
        clocks = [
            value
            for (name, _), value in worker.metrics().items()
            if name == "radar_detector_clock_timestamp_seconds"
        ]
        if len(clocks) == partitions and min(clocks) * 1000 >= past:
            break
        assert time.monotonic() < deadline, f"detector clocks {clocks} not past {past}"
        time.sleep(1)
    written, quiet_since = -1.0, time.monotonic()
    while time.monotonic() - quiet_since < 5:
        if (now_written := worker.metric_total("radar_sink_rows_total")) != written:
            written, quiet_since = now_written, time.monotonic()
        time.sleep(0.5)


def test_a_crashing_worker_writes_exactly_what_an_undisturbed_one_writes(
    worker_env: dict[str, str], tmp_path: Path, capsys: Any
) -> None:
    events = a_day_with_faults_and_churners()
    started = time.time_ns() // 1_000_000
    calm = WorkerProcess(worker_env | {"RADAR_POLICIES": str(EXAMPLE)}, tmp_path / "calm.log")
    crashed = WorkerProcess(  # its own topics, consumer group and data: a second deployment
        worker_env
        | {
            "RADAR_POLICIES": str(EXAMPLE),
            "RADAR_TOPIC_PREFIX": worker_env["RADAR_TOPIC_PREFIX"] + "chaos.",
            "RADAR_APP_ID": worker_env["RADAR_APP_ID"] + "-chaos",
            "RADAR_INSTANCE_ID": worker_env["RADAR_INSTANCE_ID"] + "-chaos",
            "RADAR_DATA_DIR": str(tmp_path / "chaos-data"),
        },
        tmp_path / "chaos.log",
    )
    try:
        known_by = started  # both clocks get past this: what each knew by then is comparable
        partitions = int(worker_env["RADAR_TOPIC_PARTITIONS"])
        run(calm, events, 0, random.Random(SEED))
        wait_for_clocks(calm, known_by, partitions)
        kills = run(crashed, events, KILLS, random.Random(SEED))
        wait_for_clocks(crashed, known_by, partitions)
        expected = outputs(calm, load_settings(environ=calm.env), known_by)
        got = outputs(crashed, load_settings(environ=crashed.env), known_by)
        rebuilds = {
            start: crashed.metric_total("radar_detector_rebuilds_total", start=start)
            for start in ("snapshot", "journal")
        }
    finally:
        for worker in (calm, crashed):
            if worker.process is not None:
                worker.stop()

    compared = sum(len(ids) for ids in expected.values())
    lost, extra = differences(expected, got)
    with capsys.disabled():
        print(
            f"\nchaos: {kills} SIGKILLs, {len(events)} events, {compared} records compared"
            f" ({', '.join(f'{n} {len(i)}' for n, i in expected.items())}),"
            f" lost {sum(lost.values())}, extra {sum(extra.values())};"
            f" the last restart rebuilt {rebuilds['snapshot']:.0f} partitions from a snapshot,"
            f" {rebuilds['journal']:.0f} from the journal alone"
        )
    assert all(len(ids) > 0 for ids in expected.values()), expected.keys()
    assert lost == dict.fromkeys(expected, 0)
    assert extra == dict.fromkeys(expected, 0)


def published(settings: Settings, known_by: int) -> dict[str, set[str]]:
    """Record ids on the output topics (deduplicated), of records known by ``known_by``."""
    found: dict[str, set[str]] = {}
    for topic, codec in TOPICS.items():
        records = [codec.decode(v) for v in read_topic_to_end(settings, settings.topic(topic))]
        found[topic] = {r["id"] for r in records if r["detected_at"] <= known_by}
    return found


def test_two_workers_one_killed_mid_backlog_publish_what_one_worker_publishes(
    worker_env: dict[str, str], tmp_path: Path, capsys: Any
) -> None:
    events = a_day_with_faults_and_churners()
    started = time.time_ns() // 1_000_000
    partitions = int(worker_env["RADAR_TOPIC_PARTITIONS"])
    one = WorkerProcess(worker_env | {"RADAR_POLICIES": str(EXAMPLE)}, tmp_path / "one.log")
    shared = worker_env | {  # two workers of a second deployment: one group, one set of topics
        "RADAR_POLICIES": str(EXAMPLE),
        "RADAR_TOPIC_PREFIX": worker_env["RADAR_TOPIC_PREFIX"] + "pair.",
        "RADAR_APP_ID": worker_env["RADAR_APP_ID"] + "-pair",
    }
    a = WorkerProcess(
        shared | {"RADAR_INSTANCE_ID": "pair-a", "RADAR_DATA_DIR": str(tmp_path / "a")},
        tmp_path / "a.log",
    )
    b = WorkerProcess(
        shared | {"RADAR_INSTANCE_ID": "pair-b", "RADAR_DATA_DIR": str(tmp_path / "b")},
        tmp_path / "b.log",
    )
    try:
        run(one, events, 0, random.Random(SEED))
        wait_for_clocks(one, started, partitions)
        expected = published(load_settings(environ=one.env), started)
        one.stop()

        settings = load_settings(environ=a.env)
        send(settings, events)
        a.start()
        b.start()
        time.sleep(random.Random(SEED).uniform(4.0, 8.0))  # both at work on the backlog
        a.kill()
        wait_for_clocks(b, started, partitions)  # b took a's partitions, and caught up
        got = published(settings, started)
    finally:
        for worker in (one, a, b):
            if worker.process is not None and worker.process.poll() is None:
                worker.stop()

    lost, extra = differences(expected, got)
    with capsys.disabled():
        print(
            f"\ntwo workers, one killed: {len(events)} events,"
            f" {sum(len(i) for i in expected.values())} published records compared,"
            f" lost {sum(lost.values())}, extra {sum(extra.values())}"
        )
    assert all(expected.values())
    assert lost == dict.fromkeys(expected, 0)
    assert extra == dict.fromkeys(expected, 0)


def test_a_record_published_but_not_yet_written_is_neither_lost_nor_doubled(
    worker_env: dict[str, str], tmp_path: Path
) -> None:
    """The worker dies right after a breach record reached its topic and before its table
    holds it; restarted, it writes the record, and the topic has it (once, by id)."""
    policies = tmp_path / "policies.yaml"
    policies.write_text(POLICIES)
    env = worker_env | {"RADAR_POLICIES": str(policies)}
    worker = WorkerProcess(env | {"RADAR_FAILPOINT": CRASH_AFTER_PUBLISH}, tmp_path / "w.log")
    settings = load_settings(environ=env)
    ensure_topics(settings)
    worker.start()
    Upstream(settings).send(EventType.TICKET_CREATED, "T-1", priority=Priority.NORMAL)
    assert worker.process is not None
    assert worker.process.wait(90) == EXIT_FAILPOINT  # died between publication and write
    on_topic = published(settings, time.time_ns() // 1_000_000)["support.sla-events"]
    assert len(on_topic) == 1

    restarted = WorkerProcess(env, tmp_path / "restarted.log")
    try:
        restarted.start()
        assert restarted.wait_for("SELECT count() FROM sla_events FINAL", 1) == 1
        in_table = {row[0] for row in restarted.query("SELECT id FROM sla_events FINAL").rows}
    finally:
        restarted.stop()
    assert in_table == on_topic
    assert published(settings, time.time_ns() // 1_000_000)["support.sla-events"] == on_topic
