"""``radar worker``: the long-running process that production deploys, one per host or pod."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from enum import StrEnum

import faust
from mode import Service
from prometheus_client import REGISTRY

from infra.settings import Settings
from radar.dedup import DedupWindow
from radar.intake import Intake
from radar.policies import PolicySet, load_policies
from schemas.codec import EventCodec
from schemas.registry import ConfluentSchemaRegistry, LocalSchemaRegistry, SchemaResolver
from sinks.clickhouse import ClickHouseStore
from sinks.metrics import DetectorStateMetrics, PipelineMetrics, QueueMetrics
from sinks.writer import SinkWriter
from streams.app import create_app, create_journal, install_detection_agent, install_ingest_agent
from streams.bulk_ingest import BulkIngest
from streams.detection import PartitionedDetection
from streams.endpoint import RunFile, WorkerEndpoint
from streams.feed import DetectionFeed
from streams.ingest import Ingestor
from streams.journal import JOURNAL_TABLE
from streams.outputs import detector_sinks
from streams.publisher import KafkaPublisher, create_producer
from streams.topics import (
    Topic,
    detection_topic,
    ensure_topics,
    journal_changelog,
    topic_for,
    topic_names,
)

log = logging.getLogger(__name__)


class IngestEngine(StrEnum):
    BULK = "bulk"
    AGENT = "agent"


def schema_resolver(settings: Settings) -> SchemaResolver:
    if not settings.schema_registry_url:
        return LocalSchemaRegistry()
    from radar.events import EventType

    names = topic_names(settings)
    return ConfluentSchemaRegistry.from_url(
        settings.schema_registry_url,
        {t: names[topic_for(t)] for t in EventType},
        auth=settings.schema_registry_auth or None,
    )


def run_worker(settings: Settings) -> None:
    IngestEngine(settings.ingest_engine)  # refuse an unknown engine before starting anything
    policies = load_policies(settings.policies_file) if settings.policies_file else PolicySet(())
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    ensure_topics(settings)
    store = ClickHouseStore.connect(settings)
    applied = store.migrate()
    if applied:
        log.info("applied ClickHouse migrations %s", ", ".join(applied))
    metrics = PipelineMetrics(REGISTRY)
    writer = SinkWriter(store, metrics)
    endpoint = WorkerEndpoint(settings.http_host, settings.http_port, REGISTRY, store)
    endpoint.start()
    RunFile(os.getpid(), endpoint.host, endpoint.port, endpoint.token).write(settings.data_dir)
    log.info("metrics at http://%s:%d/metrics", endpoint.host, endpoint.port)

    app = create_app(settings)
    codec = EventCodec(schema_resolver(settings))
    intake = Intake(
        DedupWindow(settings.dedup_capacity), settings.event_time_window, settings.pseudonyms
    )
    publishing = ThreadPoolExecutor(max_workers=1, thread_name_prefix="publish")

    async def in_publish_thread(fn: Callable[..., object], *args: object) -> object:
        return await asyncio.get_running_loop().run_in_executor(publishing, fn, *args)

    producer = create_producer(settings)

    def publisher(topic: Topic) -> KafkaPublisher:
        return KafkaPublisher(producer, topic_names(settings)[topic], in_publish_thread)

    sinks = detector_sinks(
        store,
        lambda topic: KafkaPublisher(producer, settings.topic(topic), in_publish_thread),
        REGISTRY,
    )
    detection = PartitionedDetection(
        policies,
        create_journal(
            app,
            settings,
            KafkaPublisher(producer, journal_changelog(settings, JOURNAL_TABLE), in_publish_thread),
        ),
        sinks,
        writer,
        DetectorStateMetrics(REGISTRY),
        QueueMetrics(policies, REGISTRY),
        settings.state_retention_hours,
        fed_with_reports=settings.ingest_engine == IngestEngine.BULK,
        snapshot_seconds=settings.snapshot_seconds,
    )
    install_detection_agent(app, settings, detection)
    on_stored = DetectionFeed(
        KafkaPublisher(producer, detection_topic(settings), in_publish_thread)
    )
    services: list[Service] = []
    if settings.ingest_engine == IngestEngine.AGENT:
        install_ingest_agent(app, settings, codec, intake, writer, metrics, on_stored)
    else:
        services.append(
            BulkIngest(
                settings,
                lambda publish: Ingestor(
                    codec,
                    intake,
                    writer,
                    metrics,
                    publish,
                    settings.dedup_warm_hours,
                    on_stored,
                ),
                metrics,
                publisher(Topic.DEAD_LETTER),
                on_stored.announce,
            )
        )
    worker = faust.Worker(app, *services, loglevel=settings.log_level, redirect_stdouts=False)
    try:
        worker.execute_from_commandline()
    finally:
        endpoint.stop()
        writer.close()
        store.close()
        with suppress(FileNotFoundError):
            RunFile.path(settings.data_dir).unlink()
