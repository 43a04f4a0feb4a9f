"""The worker's detector sinks, one per registered output (``radar/shard.py``): its tables,
its topic with its Avro codec, and its metrics."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from prometheus_client import CollectorRegistry

from radar.outputs import Output
from radar.shard import OUTPUTS
from schemas.outputs import RecordCodec
from sinks.clickhouse import ClickHouseStore
from sinks.metrics import OutputMetrics
from streams.emitter import DetectorSink
from streams.publisher import KafkaPublisher


def detector_sinks(
    store: ClickHouseStore,
    publisher: Callable[[str], KafkaPublisher],
    registry: CollectorRegistry,
    outputs: tuple[Output[Any], ...] = OUTPUTS,
) -> list[DetectorSink]:
    """``publisher`` gives a publisher for an output's topic (its name before any prefix)."""
    return [
        DetectorSink(
            output,
            partial(store.insert_records, output),
            publisher(output.topic) if output.topic else None,
            RecordCodec(output).encode_record if output.topic else None,
            OutputMetrics(output, registry),
        )
        for output in outputs
    ]
