"""The simulator's injected faults, sent through the broker to a live worker, are all found:
every injected SLA breach and every injected missing assignee, against its ground truth.

The simulated day ended a week ago and waits in every input partition when the worker starts:
a backlog, which the worker must apply in event-time order across partitions (the ingest's
low watermark), so that every deadline in the past fires or is met as it was in that day.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from radar.config import Settings
from radar.gaps.detector import GapKind
from radar.simulate.center import DAY_MS, CenterModel
from radar.simulate.generator import Simulation, SimulationOptions, TruthKind
from schemas.codec import EventCodec, PayloadFormat
from schemas.registry import LocalSchemaRegistry
from streams.topics import ensure_topics
from streams.upstream import EventProducer
from tests.integration.conftest import WorkerProcess
from tests.radar.gaps.test_ground_truth import TRUTH_KIND
from tests.radar.sla.test_ground_truth import EXAMPLE, EXPECTED_BREACH

pytestmark = pytest.mark.integration


@pytest.fixture
def engine() -> str:
    return "bulk"


def test_injected_faults_are_found_live(
    worker: WorkerProcess, worker_settings: Settings, capsys: Any
) -> None:
    worker.env["RADAR_POLICIES"] = str(EXAMPLE)
    now = time.time_ns() // 1_000_000
    simulation = Simulation(
        SimulationOptions(
            seed=5,
            start_ms=now // DAY_MS * DAY_MS - 8 * DAY_MS,  # the same day all day long
            duration_ms=DAY_MS,
            model=CenterModel(contacts_per_day=1500),
            anomaly_rate=0.03,
        )
    )
    events = list(simulation)
    ensure_topics(worker_settings)
    producer = EventProducer(worker_settings, EventCodec(LocalSchemaRegistry()), PayloadFormat.AVRO)
    producer.send_all(events)
    assert not producer.flush().failed
    worker.start()  # a backlog: a day of every input partition, waiting

    deadline = time.monotonic() + 180
    ingested = ("radar_events_total", "radar_duplicate_events_total")
    while sum(worker.metric_total(name) for name in ingested) < len(events):
        assert time.monotonic() < deadline, "the worker did not ingest every event"
        time.sleep(0.5)
    applied, settled_at = -1.0, time.monotonic()
    while time.monotonic() - settled_at < 5:  # the detectors caught up; records written
        assert time.monotonic() < deadline, "the detectors did not settle"
        if (now_applied := worker.metric_total("radar_detector_events_total")) != applied:
            applied, settled_at = now_applied, time.monotonic()
        time.sleep(0.5)

    breaches = {
        (row[0], row[1])
        for row in worker.query(
            "SELECT interaction_id, metric FROM sla_events FINAL WHERE kind = 'breach'"
        ).rows
    }
    injected = [
        t for t in simulation.truth if t.kind is TruthKind.ANOMALY and t.anomaly in EXPECTED_BREACH
    ]
    missed = [
        t
        for t in injected
        if t.anomaly is not None
        and (t.interaction_id, EXPECTED_BREACH[t.anomaly].value) not in breaches
    ]
    gaps = {
        (row[0], row[1])
        for row in worker.query(
            "SELECT kind, interaction_id FROM assignee_gaps FINAL WHERE state = 'opened'"
        ).rows
    }
    injected_gaps = {
        (GapKind.INACTIVE_ASSIGNEE.value, t.interaction_id)
        for t in simulation.truth
        if t.kind is TruthKind.INACTIVE_ASSIGNEE
    } | {
        (TRUTH_KIND[t.anomaly].value, t.interaction_id)
        for t in simulation.truth
        if t.kind is TruthKind.ANOMALY and t.anomaly in TRUTH_KIND
    }
    missed_gaps = injected_gaps - gaps
    with capsys.disabled():
        print(
            f"\nlive ground truth: SLA {len(injected) - len(missed)}/{len(injected)} injected "
            f"breaches found; gaps {len(injected_gaps) - len(missed_gaps)}/{len(injected_gaps)}"
        )
    assert len(injected) >= 10
    assert missed == []
    assert missed_gaps == set()
