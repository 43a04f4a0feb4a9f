"""The foundation's promise on real parts: every input gets an answer, none is lost or doubled."""

from __future__ import annotations

import time
from typing import Any

import pytest
from confluent_kafka import Consumer

from infra.settings import Settings
from radar.events import Event, EventType
from radar.simulate.center import HOUR_MS, CenterModel
from radar.simulate.generator import Simulation, SimulationOptions
from schemas.codec import EventCodec, PayloadFormat
from schemas.registry import LocalSchemaRegistry
from schemas.wire import frame
from streams import dead_letter as dlq
from streams.topics import Topic, ensure_topics, topic_names
from streams.upstream import EventProducer
from tests.factories import make_record
from tests.integration.conftest import WorkerProcess, dump

pytestmark = pytest.mark.integration

CODEC = EventCodec(LocalSchemaRegistry())

MALFORMED: dict[str, bytes] = {
    "invalid_json": b'{"type": "call.queued", "event_id": ',
    "unknown_type": dump(make_record(EventType.CALL_QUEUED, type="call.teleported")),
    "missing_field": dump(make_record(EventType.TICKET_CREATED, event_id=...)),
    "invalid_enum": dump(make_record(EventType.CALL_QUEUED, direction="sideways")),
    "invalid_timestamp": dump(make_record(EventType.CHAT_REQUESTED, occurred_at="yesterday")),
    "undecodable": b"\x93\x11 definitely not an event",
    "unknown_schema": frame(4242, b"\x02\x04\x06"),
}


def simulated(hours: int, seed: int = 11) -> list[Event]:
    options = SimulationOptions(
        seed=seed,
        duration_ms=hours * HOUR_MS,
        model=CenterModel(contacts_per_day=6000),
        duplicate_rate=0.01,
    )
    return list(Simulation(options))


def produce(
    settings: Settings, events: list[Event], fmt: PayloadFormat = PayloadFormat.AVRO
) -> None:
    producer = EventProducer(settings, CODEC, fmt)
    producer.send_all(events)
    report = producer.flush()
    assert not report.failed
    assert report.delivered == len(events)


def read_dead_letters(settings: Settings, expected: int, timeout: float = 30.0) -> list[Any]:
    consumer = Consumer(
        settings.kafka_client_config()
        | {"group.id": "dlq-reader", "auto.offset.reset": "earliest", "enable.auto.commit": False}
    )
    consumer.subscribe([topic_names(settings)[Topic.DEAD_LETTER]])
    letters: list[Any] = []
    deadline = time.monotonic() + timeout
    while len(letters) < expected and time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is not None and message.error() is None:
            letters.append(message)
    consumer.close()
    return letters


def test_every_input_gets_exactly_one_answer(
    worker: WorkerProcess, worker_settings: Settings
) -> None:
    events = simulated(hours=3)
    unique = {e.event_id for e in events}
    duplicates = len(events) - len(unique)
    assert duplicates > 0
    json_copies = events[:200]  # the same events again, now as JSON: duplicates too
    worker.start()
    produce(worker_settings, events)
    produce(worker_settings, json_copies, PayloadFormat.JSON)
    producer = EventProducer(worker_settings, CODEC, PayloadFormat.JSON)
    calls = topic_names(worker_settings)[Topic.CALLS]
    for value in MALFORMED.values():
        producer.send_raw(calls, b"bad-key", value)
    assert not producer.flush().failed

    stored = worker.wait_for("SELECT count() FROM events FINAL", len(unique))
    time.sleep(2)  # anything more would be a bug: give it the chance to show
    assert worker.scalar("SELECT count() FROM events FINAL") == stored == len(unique)
    assert worker.scalar("SELECT uniqExact(event_id) FROM events") == len(unique)
    ids = {row[0] for row in worker.query("SELECT event_id FROM events").rows}
    assert ids == unique

    letters = read_dead_letters(worker_settings, len(MALFORMED))
    by_reason = {dict(m.headers())[dlq.REASON].decode(): m for m in letters}
    assert sorted(by_reason) == sorted(MALFORMED)
    assert len(letters) == len(MALFORMED)
    for reason, message in by_reason.items():
        headers = dict(message.headers())
        assert message.value() == MALFORMED[reason]  # the original bytes, untouched
        assert message.key() == b"bad-key"
        assert headers[dlq.TOPIC].decode() == calls
        assert int(headers[dlq.OFFSET]) >= 0
        assert headers[dlq.DETAIL]

    assert worker.metric_total("radar_events_total") == len(unique)
    assert worker.metric_total("radar_duplicate_events_total") == duplicates + len(json_copies)
    assert worker.metric_total("radar_dead_letters_total") == len(MALFORMED)
    for reason in MALFORMED:
        assert worker.metric_total("radar_dead_letters_total", reason=reason) == 1
    assert worker.metric_total("radar_sink_rows_total", table="events") == len(unique)
    assert worker.metric_total("radar_sink_errors_total") == 0
    assert worker.metric_total("radar_consumer_lag_messages") == 0


def test_a_killed_worker_loses_and_doubles_nothing(
    worker: WorkerProcess, worker_settings: Settings
) -> None:
    events = simulated(hours=24, seed=12)
    unique = {e.event_id for e in events}
    worker.env["RADAR_SINK_BATCH_SIZE"] = "100"  # many small batches: the kill lands mid-stream
    ensure_topics(worker_settings)
    produce(worker_settings, events)
    worker.start()
    stored = worker.wait_for("SELECT count() FROM events", 1)
    worker.kill()
    assert stored < len(unique), "the worker finished before it could be killed"

    worker.start()
    worker.wait_for("SELECT count() FROM events FINAL", len(unique), timeout=120)
    time.sleep(2)
    assert worker.scalar("SELECT count() FROM events FINAL") == len(unique)
    assert worker.scalar("SELECT uniqExact(event_id) FROM events") == len(unique)
    assert worker.stop() == 0
