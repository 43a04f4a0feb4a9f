"""``radar worker``: the long-running process that production deploys, one per host or pod."""

from __future__ import annotations

import logging
import os
from contextlib import suppress
from enum import StrEnum

import faust
from prometheus_client import REGISTRY

from radar.config import Settings
from radar.dedup import DedupWindow
from radar.intake import Intake
from schemas.codec import EventCodec
from schemas.registry import ConfluentSchemaRegistry, LocalSchemaRegistry, SchemaResolver
from sinks.clickhouse import ClickHouseStore
from sinks.metrics import PipelineMetrics
from sinks.writer import SinkWriter
from streams.app import create_app, install_ingest_agent
from streams.bulk_ingest import BulkIngest
from streams.endpoint import RunFile, WorkerEndpoint
from streams.ingest import Ingestor
from streams.topics import ensure_topics, topic_for, topic_names

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
    services = []
    if settings.ingest_engine == IngestEngine.AGENT:
        install_ingest_agent(app, settings, codec, intake, writer, metrics)
    else:
        services.append(
            BulkIngest(
                settings,
                lambda publish: Ingestor(
                    codec, intake, writer, metrics, publish, settings.dedup_warm_hours
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
