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

from radar.config import Settings
from radar.dedup import DedupWindow
from radar.intake import Intake
from radar.policies import PolicySet, load_policies
from schemas.codec import EventCodec
from schemas.registry import ConfluentSchemaRegistry, LocalSchemaRegistry, SchemaResolver
from sinks.clickhouse import ClickHouseStore
from sinks.metrics import ChurnMetrics, GapMetrics, PipelineMetrics, SlaMetrics
from sinks.writer import SinkWriter
from streams.app import create_app, install_ingest_agent
from streams.bulk_ingest import BulkIngest
from streams.detection import DetectionStage
from streams.endpoint import RunFile, WorkerEndpoint
from streams.ingest import Ingestor
from streams.outputs import churn_output, gap_output, sla_output
from streams.publisher import KafkaPublisher
from streams.topics import Topic, ensure_topics, topic_for, topic_names

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


class DetectorTicker(Service):
    """Moves the detectors' clock every second, so deadlines fire without new events."""

    def __init__(self, stage: DetectionStage, interval: float = 1.0) -> None:
        super().__init__()
        self._stage = stage
        self._interval = interval

    @Service.task
    async def _tick(self) -> None:
        while not self.should_stop:
            await self.sleep(self._interval)
            await self._stage.tick()


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
    intake = Intake(DedupWindow(settings.dedup_capacity))
    publishing = ThreadPoolExecutor(max_workers=1, thread_name_prefix="publish")

    async def in_publish_thread(fn: Callable[..., object], *args: object) -> object:
        return await asyncio.get_running_loop().run_in_executor(publishing, fn, *args)

    def publisher(topic: Topic) -> KafkaPublisher:
        return KafkaPublisher(settings, topic_names(settings)[topic], in_publish_thread)

    gaps = publisher(Topic.ASSIGNEE_GAPS)
    outputs = [gap_output(policies.gaps, policies.grace_ms, store, gaps, GapMetrics(REGISTRY))]
    if policies.policies:  # RADAR_POLICIES empty: no SLA engine
        sla_events = publisher(Topic.SLA_EVENTS)
        outputs.append(sla_output(policies, store, sla_events, SlaMetrics(REGISTRY)))
    churn = publisher(Topic.CHURN_SIGNALS)  # after the SLA engine: it reads breaches and chases
    outputs.append(
        churn_output(policies.churn, policies.grace_ms, store, churn, ChurnMetrics(REGISTRY))
    )
    detection = DetectionStage(writer, outputs, settings.sla_rebuild_hours)
    services: list[Service] = [DetectorTicker(detection)]
    on_stored = detection.on_events
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
