"""``radar worker``: the long-running process that production deploys, one per host or pod."""

from __future__ import annotations

import logging
from contextlib import suppress

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
from streams.endpoint import RunFile, WorkerEndpoint
from streams.topics import ensure_topics, topic_for, topic_names

log = logging.getLogger(__name__)


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
    RunFile(_pid(), endpoint.host, endpoint.port, endpoint.token).write(settings.data_dir)
    log.info("metrics at http://%s:%d/metrics", endpoint.host, endpoint.port)

    app = create_app(settings)
    install_ingest_agent(
        app,
        settings,
        EventCodec(schema_resolver(settings)),
        Intake(DedupWindow(settings.dedup_capacity)),
        writer,
        metrics,
    )
    worker = faust.Worker(app, loglevel=settings.log_level, redirect_stdouts=False)
    try:
        worker.execute_from_commandline()
    finally:
        endpoint.stop()
        writer.close()
        store.close()
        with suppress(FileNotFoundError):
            RunFile.path(settings.data_dir).unlink()


def _pid() -> int:
    import os

    return os.getpid()
