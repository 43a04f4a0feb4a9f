from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from prometheus_client import CollectorRegistry

from radar.dedup import DedupWindow, SourcePosition
from radar.events import EventType
from radar.intake import Intake
from schemas.codec import EventCodec, PayloadFormat
from schemas.registry import LocalSchemaRegistry
from sinks.clickhouse import ClickHouseStore
from sinks.metrics import PipelineMetrics
from sinks.writer import SinkWriter
from streams import dead_letter as dlq
from streams.dead_letter import DeadLetter
from streams.ingest import Ingestor, InputMessage
from tests.factories import make_event
from tests.sinks.test_clickhouse import count

CODEC = EventCodec(LocalSchemaRegistry())


class Harness:
    def __init__(self, store: ClickHouseStore, capacity: int = 1000) -> None:
        self.metrics = PipelineMetrics(CollectorRegistry())
        self.letters: list[DeadLetter] = []
        self.intake = Intake(DedupWindow(capacity))
        self.ingestor = Ingestor(
            CODEC, self.intake, SinkWriter(store, self.metrics), self.metrics, self._publish
        )
        self.offsets = 0

    async def _publish(self, letters: Sequence[DeadLetter]) -> None:
        self.letters.extend(letters)

    def message(
        self, value: bytes | None, partition: int = 0, offset: int | None = None
    ) -> InputMessage:
        if offset is None:
            offset, self.offsets = self.offsets, self.offsets + 1
        return InputMessage(b"k", value, [], SourcePosition("support.calls", partition, offset))

    def run(self, messages: list[InputMessage]) -> None:
        asyncio.run(self.ingestor.process(messages))

    def metric(self, name: str, **labels: str) -> float:
        return self.metrics.registry.get_sample_value(name, labels) or 0.0


def test_valid_events_are_stored_and_bad_ones_dead_lettered(store: ClickHouseStore) -> None:
    h = Harness(store)
    good = [make_event(EventType.CALL_QUEUED), make_event(EventType.CALL_ANSWERED)]
    messages = [
        h.message(CODEC.encode(good[0], PayloadFormat.AVRO)),
        h.message(b"\xff garbage"),
        h.message(CODEC.encode(good[1], PayloadFormat.JSON)),
        h.message(b'{"type": "call.queued"}'),
    ]
    h.run(messages)
    assert count(store, "SELECT count() FROM events") == 2
    rows = store.query_readonly(
        "SELECT event_id, payload_format, source_offset FROM events ORDER BY source_offset"
    ).rows
    assert rows == [[good[0].event_id, "avro", 0], [good[1].event_id, "json", 2]]
    assert [dict(letter.headers)[dlq.REASON] for letter in h.letters] == [
        b"undecodable",
        b"missing_field",
    ]
    first = h.letters[0]
    assert first.value == b"\xff garbage"
    assert first.key == b"k"
    assert dict(first.headers)[dlq.OFFSET] == b"1"
    assert h.metric("radar_events_total", channel="call", type="call.queued") == 1
    assert h.metric("radar_dead_letters_total", reason="undecodable") == 1


def test_duplicates_are_dropped_and_counted(store: ClickHouseStore) -> None:
    h = Harness(store)
    event = make_event(EventType.CHAT_REQUESTED)
    payload = CODEC.encode(event, PayloadFormat.AVRO)
    h.run([h.message(payload), h.message(payload)])
    h.run([h.message(CODEC.encode(event, PayloadFormat.JSON))])
    assert count(store, "SELECT count() FROM events") == 1
    assert h.metric("radar_duplicate_events_total", channel="chat") == 2


def test_a_redelivered_batch_is_processed_again_but_stored_once(store: ClickHouseStore) -> None:
    h = Harness(store)
    messages = [h.message(CODEC.encode(make_event(), PayloadFormat.AVRO)) for _ in range(3)]
    h.run(messages)
    h.run(messages)  # the same offsets again: a restart before the commit
    assert h.metric("radar_duplicate_events_total", channel="call") == 0
    assert count(store, "SELECT count() FROM events FINAL") == 3


def test_after_a_restart_dedup_is_warmed_from_clickhouse(store: ClickHouseStore) -> None:
    before = Harness(store)
    event = make_event()
    before.run([before.message(CODEC.encode(event, PayloadFormat.AVRO), offset=10)])
    after = Harness(store)  # a new process: empty memory
    after.run(
        [
            after.message(CODEC.encode(event, PayloadFormat.AVRO), offset=10),  # redelivery
            after.message(CODEC.encode(event, PayloadFormat.JSON), offset=11),  # true duplicate
        ]
    )
    assert after.metric("radar_duplicate_events_total", channel="call") == 1
    assert count(store, "SELECT count() FROM events FINAL") == 1


def test_an_unreachable_schema_registry_pauses_the_ingest_and_dead_letters_nothing(
    store: ClickHouseStore,
) -> None:
    from confluent_kafka.schema_registry import SchemaRegistryClient

    from infra.local_kafka import free_port
    from schemas.registry import ConfluentSchemaRegistry
    from schemas.wire import frame

    nobody = SchemaRegistryClient({"url": f"http://127.0.0.1:{free_port()}"})
    codec = EventCodec(ConfluentSchemaRegistry(nobody, {}, attempts=1))
    h = Harness(store)
    h.ingestor = Ingestor(codec, h.intake, SinkWriter(store, h.metrics), h.metrics, h._publish)
    message = h.message(frame(4242, b"\x02\x04\x06"))  # an id only the registry could know

    async def for_a_while() -> None:
        await asyncio.wait_for(h.ingestor.process([message]), timeout=2.5)

    with pytest.raises(TimeoutError):  # still waiting for the registry
        asyncio.run(for_a_while())
    assert h.letters == []  # not the input's fault: nothing dead-lettered
    assert count(store, "SELECT count() FROM events") == 0
