"""The simulator's injected faults, sent through the broker to a live worker, are all found:
every injected SLA breach and every injected missing assignee, against its ground truth; and
every record the worker publishes equals, field by field, what ``radar replay`` says of the
same events.

The simulated day ended a week ago and waits in every input partition when the worker starts:
a backlog, which the worker must apply in event-time order across partitions (the ingest's
low watermark), so that every deadline in the past fires or is met as it was in that day.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

import orjson
import pytest

from infra.settings import Settings
from radar.events import Event, event_to_record, iso_to_millis, millis_to_iso
from radar.policies import load_policies
from radar.replay import replay
from radar.shard import OUTPUTS
from radar.simulate.center import DAY_MS, CenterModel
from radar.simulate.generator import Simulation, SimulationOptions, TruthKind
from schemas.codec import EventCodec, PayloadFormat
from schemas.outputs import RecordCodec
from schemas.registry import LocalSchemaRegistry
from streams.topics import ensure_topics
from streams.upstream import EventProducer
from tests.integration.conftest import WorkerProcess, read_topic_to_end
from tests.radar.gaps.test_ground_truth import injected_gaps as injected_gaps_under
from tests.radar.sla.test_ground_truth import EXAMPLE, EXPECTED_BREACH

pytestmark = pytest.mark.integration


@pytest.fixture
def engine() -> str:
    return "bulk"


def _comparable(record: dict[str, Any]) -> dict[str, Any]:
    """A record as JSON Lines or as decoded Avro, in one form: times in epoch ms, scores
    rounded as the JSON form rounds them, no ``stream`` field."""

    def comparable(name: str, value: Any) -> Any:
        if (name.endswith("_at") or name == "at") and isinstance(value, str):
            return iso_to_millis(value)
        if name == "reasons":
            return [_comparable(reason) for reason in value]
        if name == "score":
            return round(value, 3)
        return value

    return {name: comparable(name, v) for name, v in record.items() if name != "stream"}


def _published(settings: Settings, topic: str, codec: RecordCodec) -> dict[str, dict[str, Any]]:
    values = read_topic_to_end(settings, settings.topic(topic))
    records = [_comparable(codec.decode(value)) for value in values]
    by_id = {record["id"]: record for record in records}
    assert len(by_id) == len(records), f"a record was published twice on {topic}"
    return by_id


def _published_by(
    settings: Settings, replayed: dict[str, dict[str, dict[str, Any]]], known_by: int
) -> dict[str, dict[str, dict[str, Any]]]:
    """The records on the output topics, read again for up to 30 s while one that replay
    says live knows by ``known_by`` is missing (published a little after it was known)."""
    outputs = {  # stream -> (topic, codec)
        output.stream: (str(output.topic), RecordCodec(output))
        for output in OUTPUTS
        if output.topic
    }
    deadline = time.monotonic() + 30
    while True:
        live = {s: _published(settings, topic, codec) for s, (topic, codec) in outputs.items()}
        late = [
            key
            for stream, records in replayed.items()
            for key, record in records.items()
            if record["detected_at"] <= known_by and key not in live[stream]
        ]
        if not late or time.monotonic() > deadline:
            return live
        time.sleep(2)


def wait_until_settled(worker: WorkerProcess, events: list[Event]) -> None:
    """Every event stored, then 5 s with no event applied and no row written."""
    distinct = len({e.event_id for e in events})
    worker.wait_for("SELECT uniqExact(event_id) FROM events", distinct, timeout=180)
    deadline = time.monotonic() + 180
    done, settled_at = (-1.0, -1.0), time.monotonic()
    while time.monotonic() - settled_at < 5:
        assert time.monotonic() < deadline, "the detectors did not settle"
        now_done = (
            worker.metric_total("radar_detector_events_total"),
            worker.metric_total("radar_sink_rows_total"),  # records are written behind
        )
        if now_done != done:
            done, settled_at = now_done, time.monotonic()
        time.sleep(0.5)


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

    wait_until_settled(worker, events)

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
    policies = load_policies(EXAMPLE)
    injected_gaps = {
        (kind.value, interaction_id)
        for kind, interaction_id in injected_gaps_under(simulation.truth, policies.gaps)
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

    # live equals replay, field by field, for everything known by now (the worker's clock
    # has moved on to the wall clock: silences and escalations after the day still come)
    known_by = time.time_ns() // 1_000_000 - 10_000
    replayed: dict[str, dict[str, dict[str, Any]]] = {"sla": {}, "gap": {}, "churn": {}}

    def keep(record: dict[str, Any]) -> None:
        if record["stream"] in replayed:
            replayed[record["stream"]][record["id"]] = _comparable(record)

    replay(
        [orjson.dumps(event_to_record(e)) for e in events],
        keep,
        policies=policies,
        until=known_by,
    )
    live = _published_by(worker_settings, replayed, known_by)
    for stream, records in live.items():
        expected = {k: r for k, r in replayed[stream].items() if r["detected_at"] <= known_by}
        published = {k: r for k, r in records.items() if r["detected_at"] <= known_by}
        different = [k for k in expected if k in published and published[k] != expected[k]]
        with capsys.disabled():
            print(
                f"live = replay, {stream}: {len(expected)} replayed, {len(published)} published,"
                f" {len(set(expected) - set(published))} missing live,"
                f" {len(set(published) - set(expected))} extra live, {len(different)} different"
            )
        assert len(expected) > 0
        missing = [expected[k] for k in expected.keys() - published.keys()]
        import pprint

        with open(f"/tmp/diff-{stream}.txt", "w") as f:
            pprint.pprint(
                {
                    "missing": missing,
                    "extra": [published[k] for k in published.keys() - expected.keys()],
                    "different": [(published[k], expected[k]) for k in different],
                },
                f,
            )
        import pprint

        with open(f"/tmp/diff-{stream}.txt", "w") as f:
            pprint.pprint(
                {
                    "missing": missing,
                    "extra": [published[k] for k in published.keys() - expected.keys()],
                    "different": [(published[k], expected[k]) for k in different],
                },
                f,
            )
        assert published.keys() == expected.keys(), (missing[:3], known_by)
        for key in different[:1]:
            assert published[key] == expected[key]

    _whatif_with_the_same_file_equals_the_live_records(worker, known_by)


def _whatif_with_the_same_file_equals_the_live_records(
    worker: WorkerProcess, known_by: int
) -> None:
    """``radar whatif`` while the worker runs (so through its /query): under the same policy
    file, its figures are those of the live records known by then."""
    grace = load_policies(EXAMPLE).grace_ms
    whatif = subprocess.run(
        [sys.executable, "-m", "cli", "whatif", "--policies", str(EXAMPLE),
         "--current", str(EXAMPLE), "--since", "9d", "--until", millis_to_iso(known_by - grace),
         "--format", "json"],
        env=os.environ | worker.env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert whatif.returncode == 0, whatif.stderr
    rows = json.loads(whatif.stdout)["rows"]
    since = iso_to_millis(json.loads(whatif.stdout)["since"])
    live_figures = {
        (row[0], row[1]): [int(v) for v in row[2:]]
        for row in worker.query(
            "SELECT ifNull(queue, ''), metric, uniqExact(interaction_id, cycle),"
            " countIf(kind = 'breach') - countIf(kind = 'retracted'),"
            " countIf(kind = 'achieved' AND NOT late) FROM sla_events FINAL"
            f" WHERE started_at >= fromUnixTimestamp64Milli({since})"
            f" AND detected_at <= fromUnixTimestamp64Milli({known_by}) GROUP BY 1, 2"
        ).rows
    }
    assert {
        (r["queue"], r["metric"]): [
            r["current"][name] for name in ("targets", "breaches", "achieved_within_target")
        ]
        for r in rows
    } == live_figures
    assert all(set(r["difference"].values()) <= {0, None} for r in rows)
