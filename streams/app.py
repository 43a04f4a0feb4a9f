"""The Faust app: the detection agent, its journal table and deadline timer, and (with
``RADAR_INGEST_ENGINE=agent``) an ingest agent over the four input topics.

Faust is used for what it does reliably (consumer groups, rebalancing, acking and committing,
tables restored from changelogs); the work of each batch happens in ``Ingestor`` and
``PartitionedDetection``. An event is acknowledged only after its batch was handled, so
offsets are committed only for durably stored input.
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
import time
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, cast

import faust

from infra.settings import Settings
from radar.dedup import SourcePosition
from radar.events import Event
from radar.intake import Intake
from radar.shard import ShardRecords
from schemas.codec import EventCodec
from sinks.metrics import PipelineMetrics
from sinks.writer import SinkUnavailable, SinkWriter
from streams.dead_letter import DeadLetter
from streams.detection import PartitionedDetection
from streams.detection_format import (
    Command,
    command_headers,
    command_of,
    decode_event,
    decode_events,
    decode_report,
    decode_tick,
    encode_tick,
)
from streams.ingest import Ingestor, InputMessage, OnStored
from streams.journal import JOURNAL_TABLE, DetectorJournal
from streams.publisher import Headers, KafkaPublisher
from streams.topics import INPUT_TOPICS, Topic, detection_topic, topic_names

log = logging.getLogger(__name__)

# Exit status when a batch could not be stored before shutdown: the process ends without
# committing, so the batch is read again by the next worker.
EXIT_UNSTORED_BATCH = 75


def _credentials(settings: Settings) -> Any:
    if not settings.kafka_security_protocol.startswith("SASL"):
        return None
    context = None
    if settings.kafka_security_protocol == "SASL_SSL":
        context = ssl.create_default_context(cafile=settings.kafka_ssl_ca_location or None)
    return faust.SASLCredentials(
        username=settings.kafka_sasl_username,
        password=settings.kafka_sasl_password,
        mechanism=settings.kafka_sasl_mechanism,
        ssl_context=context,
    )


def create_app(settings: Settings) -> faust.App:
    return faust.App(
        settings.app_id,
        broker=[f"kafka://{server}" for server in settings.bootstrap_servers.split(",")],
        broker_credentials=_credentials(settings),
        key_serializer="raw",
        value_serializer="raw",
        web_enabled=False,
        datadir=str(settings.data_dir / "faust"),
        store=_table_store(settings),
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication,
        topic_allow_declare=False,
        consumer_auto_offset_reset="earliest",
        broker_commit_interval=1.0,
        broker_session_timeout=settings.kafka_session_timeout,
        consumer_group_instance_id=settings.instance_id or None,
        producer_acks=-1,
        stream_buffer_maxsize=max(4096, 2 * settings.sink_batch_size),
        broker_max_poll_records=max(500, settings.sink_batch_size),
    )


def _as_bytes(headers: Headers) -> list[tuple[str, bytes]]:
    return [(k, v if isinstance(v, bytes) else (v or "").encode()) for k, v in headers]


def _headers(raw: Any) -> Headers:
    if not raw:
        return []
    items = raw.items() if isinstance(raw, dict) else raw
    return [(str(k), v if isinstance(v, bytes) else str(v).encode()) for k, v in items]


def install_ingest_agent(
    app: faust.App,
    settings: Settings,
    codec: EventCodec,
    intake: Intake,
    writer: SinkWriter,
    metrics: PipelineMetrics,
    on_stored: OnStored | None = None,
) -> None:
    names = topic_names(settings)
    source = app.topic(*(names[t] for t in INPUT_TOPICS), key_type=bytes, value_type=bytes)
    dead_letter_topic = app.topic(names[Topic.DEAD_LETTER], key_type=bytes, value_type=bytes)

    async def publish(letters: Sequence[DeadLetter]) -> None:
        pending = [
            await dead_letter_topic.send(key=dl.key, value=dl.value, headers=_as_bytes(dl.headers))
            for dl in letters
        ]
        await asyncio.gather(*pending)

    ingestor = Ingestor(
        codec, intake, writer, metrics, publish, settings.dedup_warm_hours, on_stored
    )

    @app.agent(source, name="ingest", concurrency=1)
    async def ingest(stream: faust.StreamT[bytes]) -> None:
        # take_events is on the Stream class, not on the StreamT interface agents are typed with
        async for batch in cast(faust.Stream[bytes], stream).take_events(
            settings.sink_batch_size, within=settings.sink_batch_seconds
        ):
            messages = [
                InputMessage(
                    event.message.key,
                    event.message.value,
                    _headers(event.message.headers),
                    SourcePosition(
                        event.message.topic, event.message.partition, event.message.offset
                    ),
                )
                for event in batch
            ]
            try:
                await ingestor.process(messages)
            except SinkUnavailable:
                log.critical("batch could not be stored; exiting without committing it")
                os._exit(EXIT_UNSTORED_BATCH)
            _record_lag(app, messages, metrics)


def _record_lag(app: faust.App, messages: Sequence[InputMessage], metrics: PipelineMetrics) -> None:
    last: dict[tuple[str, int], int] = {}
    for message in messages:
        last[(message.position.topic, message.position.partition)] = message.position.offset
    for (topic, partition), offset in last.items():
        highwater = app.consumer.highwater(faust.types.TP(topic, partition))
        if highwater is not None:
            metrics.consumer_lag.labels(topic, str(partition)).set(max(0, highwater - offset - 1))


def _table_store(settings: Settings) -> str:
    if settings.table_store not in ("memory", "rocksdb"):
        raise ValueError(f"RADAR_TABLE_STORE: {settings.table_store!r} is not memory or rocksdb")
    # a table-level URL without a host ("rocksdb://") is falsy to Faust: set it on the app
    return f"{settings.table_store}://"


def create_journal(
    app: faust.App, settings: Settings, changelog: KafkaPublisher
) -> DetectorJournal:
    table = app.Table(
        JOURNAL_TABLE,
        partitions=settings.topic_partitions,
        key_type=bytes,
        value_type=bytes,
        options={"driver": "rocksdict"} if settings.table_store == "rocksdb" else None,
    )
    return DetectorJournal(table, changelog)


def install_detection_agent(
    app: faust.App, settings: Settings, detection: PartitionedDetection
) -> None:
    """The agent owning the detectors' state, and the per-worker timer asking it to tick."""
    name = detection_topic(settings)
    source = app.topic(name, key_type=bytes, value_type=bytes, partitions=settings.topic_partitions)

    @app.agent(source, name="detect", concurrency=1)
    async def detect(stream: faust.StreamT[bytes]) -> None:
        events_of = cast(faust.Stream[bytes], stream)
        async for batch in events_of.take_events(
            settings.sink_batch_size, within=settings.detector_batch_seconds
        ):
            started = time.perf_counter()
            by_partition: defaultdict[int, list[faust.EventT[bytes]]] = defaultdict(list)
            for event in batch:
                by_partition[event.message.partition].append(event)
            records = ShardRecords()
            for partition, events in by_partition.items():
                detection.journal.write_to_partition_of(events[-1])
                await detection.checkpoint(partition)
                records.extend(await _detect(detection, partition, events))
            await detection.complete(records)
            detection.gauge_soon()
            log.debug("detect batch %d in %.3f s", len(batch), time.perf_counter() - started)

    @app.timer(settings.detector_tick_seconds)  # type: ignore[untyped-decorator]
    async def find_due_deadlines() -> None:
        owned = [tp.partition for tp in app.assignor.assigned_actives() if tp.topic == name]
        sent_at = time.time_ns() // 1_000_000
        for partition in detection.due(owned):
            await source.send(
                value=encode_tick(sent_at),
                partition=partition,
                headers=_as_bytes(command_headers(Command.TICK)),
            )
        detection.gauge_soon()

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]
    async def forget_revoked(_app: faust.App, revoked: set[faust.types.TP], **_: Any) -> None:
        await detection.revoke(tp.partition for tp in revoked if tp.topic == name)


async def _detect(
    detection: PartitionedDetection, partition: int, events: Sequence[faust.EventT[bytes]]
) -> ShardRecords:
    """A partition's messages in their order: a watermark or tick applies to the events
    before it, not to those after it."""
    records = ShardRecords()
    decoded: list[Event] = []
    for event in events:
        message = event.message
        command = command_of(message.headers)
        if command is None or command is Command.EVENTS:
            try:
                value = message.value or b""
                if command is None:  # one event per message, as before batches
                    decoded.append(decode_event(value))
                else:
                    decoded += decode_events(value)
            except ValueError as exc:  # not written by this app's feed; nothing to detect on
                log.error("detection partition %d offset %d: %s", partition, message.offset, exc)
            continue
        if decoded:
            records.extend(await detection.apply(partition, decoded))
            decoded = []
        value = message.value or b""
        if command is Command.TICK:
            records.extend(await detection.tick(partition, decode_tick(value)))
        elif command is Command.WATERMARK:
            detection.hear(partition, decode_report(value))
    if decoded:
        records.extend(await detection.apply(partition, decoded))
    return records
