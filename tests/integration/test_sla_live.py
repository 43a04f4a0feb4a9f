"""The SLA engine in the live worker, on the real broker and chDB, with second-scale targets."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer

from infra.settings import Settings
from radar.events import Author, Direction, Event, EventType, Priority, event_to_record
from radar.policies import parse_policies
from radar.replay import replay
from radar.sla.output import SLA_OUTPUT
from schemas.codec import EventCodec, PayloadFormat
from schemas.outputs import RecordCodec
from schemas.registry import LocalSchemaRegistry
from streams.topics import ensure_topics
from streams.upstream import EventProducer
from tests.integration.conftest import WorkerProcess

pytestmark = pytest.mark.integration

POLICIES = """
policies:
  - name: high
    match: {channel: ticket, priority: high}
    targets: {first_reply_time: 4s}
    warnings: [0.5]
  - name: tickets
    match: {channel: ticket}
    targets: {first_reply_time: 10s}
    warnings: [0.5]
  - name: calls
    match: {channel: call}
    targets: {call_answer_time: 3s}
    warnings: [0.5]
grace: 1s
"""


@pytest.fixture
def engine() -> str:
    return "bulk"


@pytest.fixture
def sla_worker(worker: WorkerProcess, tmp_path: Path) -> WorkerProcess:
    policies = tmp_path / "policies.yaml"
    policies.write_text(POLICIES)
    worker.env["RADAR_POLICIES"] = str(policies)
    return worker


class Upstream:
    def __init__(self, settings: Settings) -> None:
        self.producer = EventProducer(
            settings, EventCodec(LocalSchemaRegistry()), PayloadFormat.AVRO
        )
        self.sent: list[Event] = []
        self._n = 0

    def send(self, event_type: EventType, interaction: str, **fields: Any) -> Event:
        self._n += 1
        event = Event(
            f"ev-{interaction}-{self._n}",
            event_type,
            time.time_ns() // 1_000_000,
            interaction,
            customer_id=f"cust-{interaction}",
            **({"queue": "billing"} | fields),
        )
        self.producer.send(event)
        assert not self.producer.flush().failed
        self.sent.append(event)
        return event


def column(worker: WorkerProcess, sql: str) -> list[str]:
    return [row[0] for row in worker.query(sql).rows]


def kinds(worker: WorkerProcess, interaction: str) -> list[str]:
    return column(
        worker,
        "SELECT kind FROM sla_events FINAL "
        f"WHERE interaction_id = '{interaction}' ORDER BY due_at, fraction IS NULL, kind",
    )


def wait_for_kind(worker: WorkerProcess, interaction: str, kind: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if kind in kinds(worker, interaction):
            return
        time.sleep(0.3)
    raise AssertionError(f"{interaction}: no {kind} in {kinds(worker, interaction)}")


def test_deadlines_fire_live_survive_a_crash_and_match_replay(
    sla_worker: WorkerProcess, worker_settings: Settings, tmp_path: Path
) -> None:
    ensure_topics(worker_settings)
    sla_worker.start()
    upstream = Upstream(worker_settings)

    # answered in time, and left unanswered: the breach needs no further event to fire
    upstream.send(EventType.TICKET_CREATED, "T-ok", priority=Priority.NORMAL)
    upstream.send(EventType.CALL_QUEUED, "C-miss", direction=Direction.INBOUND)
    time.sleep(1)
    upstream.send(
        EventType.TICKET_COMMENTED, "T-ok", agent_id="A1", author=Author.AGENT, public=True
    )
    upstream.send(EventType.CALL_QUEUED, "C-anon", direction=Direction.INBOUND)
    upstream.send(EventType.CALL_ANSWERED, "C-anon")  # nobody recorded as the handler
    wait_for_kind(sla_worker, "C-miss", "breach")
    assert kinds(sla_worker, "T-ok") == ["achieved"]
    assert kinds(sla_worker, "C-miss") == ["warning", "breach"]

    # the worker dies before this ticket is due, and comes back after
    upstream.send(EventType.TICKET_CREATED, "T-down", priority=Priority.HIGH)
    sla_worker.wait_for("SELECT count() FROM events WHERE interaction_id = 'T-down'", 1)
    sla_worker.kill()
    time.sleep(6)
    sla_worker.start()
    wait_for_kind(sla_worker, "T-down", "breach")
    time.sleep(3)  # anything repeated would show up by now

    assert sla_worker.scalar("SELECT count() - uniqExact(id) FROM sla_events") == 0
    gaps = sla_worker.query("SELECT kind, state, interaction_id FROM assignee_gaps FINAL").rows
    assert gaps == [["handler_unrecorded", "opened", "C-anon"]]
    live = {row[0]: row[1] for row in sla_worker.query("SELECT id, kind FROM sla_events").rows}
    on_topic = read_sla_topic(worker_settings, len(live))
    assert set(on_topic) == set(live)

    # replay of the same events, on event time, names the same records
    events_file = tmp_path / "events.jsonl"
    events_file.write_text("".join(json.dumps(event_to_record(e)) + "\n" for e in upstream.sent))
    replayed: list[dict[str, Any]] = []
    with events_file.open("rb") as lines:
        replay(lines, replayed.append, policies=parse_policies(POLICIES))
    replay_ids = {r["id"]: r["kind"] for r in replayed if r["stream"] == "sla"}
    assert set(replay_ids) <= set(live)
    last_event = max(e.occurred_at for e in upstream.sent)
    beyond_replay = set(live) - set(replay_ids)
    # live went on after the last event; replay stops at its time: only later deadlines differ
    assert {live[i] for i in beyond_replay} <= {"warning", "breach"}
    assert (
        sla_worker.scalar(
            "SELECT count() FROM sla_events WHERE id IN ("
            + ",".join(f"'{i}'" for i in beyond_replay or {"-"})
            + f") AND due_at <= fromUnixTimestamp64Milli({last_event - 1000})"
        )
        == 0
    )


def read_sla_topic(settings: Settings, expected: int, timeout: float = 20) -> list[str]:
    consumer = Consumer(
        settings.kafka_client_config()
        | {"group.id": "sla-reader", "auto.offset.reset": "earliest", "enable.auto.commit": False}
    )
    consumer.subscribe([settings.topic(str(SLA_OUTPUT.topic))])
    codec = RecordCodec(SLA_OUTPUT)
    ids: list[str] = []
    deadline = time.monotonic() + timeout
    while len(ids) < expected and time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is not None and message.error() is None and message.value() is not None:
            ids.append(codec.decode(message.value() or b"")["id"])
    consumer.close()
    assert len(ids) == len(set(ids)), "a record was published twice"
    return ids


CHURN_POLICIES = """
policies:
  - name: tickets
    match: {channel: ticket}
    targets: {first_reply_time: 2s}
grace: 1s
churn:
  watch: 1.0
  at_risk: 2.0
  min_silence: 6s
  default_gap: 1s
  silence_multiple: 1
  breach_weights: {first_reply_time: 2.5}
"""


def churn_levels(worker: WorkerProcess, customer: str) -> list[str]:
    return column(
        worker,
        "SELECT level FROM churn_signals FINAL "
        f"WHERE customer_id = '{customer}' ORDER BY changed_at",
    )


def test_a_customer_goes_silent_without_a_further_event_across_a_crash(
    worker: WorkerProcess, worker_settings: Settings, tmp_path: Path
) -> None:
    policies = tmp_path / "churn-policies.yaml"
    policies.write_text(CHURN_POLICIES)
    worker.env["RADAR_POLICIES"] = str(policies)
    ensure_topics(worker_settings)
    worker.start()
    upstream = Upstream(worker_settings)
    upstream.send(EventType.TICKET_CREATED, "T-quiet", priority=Priority.NORMAL)  # cust-T-quiet
    deadline = time.monotonic() + 30
    while "at_risk" not in churn_levels(worker, "cust-T-quiet") and time.monotonic() < deadline:
        time.sleep(0.3)
    assert churn_levels(worker, "cust-T-quiet") == ["at_risk"]  # the breach, 2.5 points

    worker.kill()  # silence falls due 6 s after the contact, while the worker is down
    time.sleep(5)
    worker.start()
    deadline = time.monotonic() + 30
    while "silent" not in churn_levels(worker, "cust-T-quiet") and time.monotonic() < deadline:
        time.sleep(0.3)
    time.sleep(2)
    assert churn_levels(worker, "cust-T-quiet") == ["at_risk", "silent"]
    assert worker.scalar("SELECT count() - uniqExact(id) FROM churn_signals") == 0
    reasons = worker.query("SELECT reasons FROM churn_signals FINAL WHERE level = 'silent'").rows[
        0
    ][0]
    assert "first_reply_time breached" in reasons
    current = worker.query(
        "SELECT level FROM churn_levels FINAL WHERE customer_id = 'cust-T-quiet'"
    )
    assert current.rows == [["silent"]]
